"""Which of many literal keywords occur in a text: trie regexes and anchored keyword passes.

Shared by the rules (which rules must run on a text), the keyword = value detector (where its
keywords are) and the masker's prefilter (is any keyword there at all). A module of its own, below
all three, so none of them reaches into another's private helpers.
"""

from __future__ import annotations

import re

try:  # Aho-Corasick in Rust: every keyword in one pass over the text, ~6x the regex passes below
    import ahocorasick_rs as _aho
except ImportError:  # pragma: no cover - a dependency; the regex passes give the same answers
    _aho = None


def trie_branches(words: set[str]) -> list[str]:
    """The branches of a trie regex for many literals, one per first character."""
    tree: dict[str, dict] = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        ends = "" in node
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if ends else body

    return [re.escape(ch) + emit(sub) for ch, sub in sorted(tree.items()) if ch]


def trie(words: set[str]) -> str:
    """One regex for many literals, shaped as a trie so each position tries one branch."""
    branches = trie_branches(words)
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


# How often characters occur in lower-cased source text, per thousand (measured on site-packages);
# characters not listed are rarer than any listed. A keyword is found by searching for one of its
# characters as a literal, which the regex engine does at C speed, then checking the rest with a
# lookbehind and a literal suffix. Every search pass over a text costs about as much as ~4 per
# thousand hits, so keywords share as few anchor characters as possible (a greedy set cover).
_FREQ = dict(
    zip(
        "~9jz3q/210-kxvw=:bygTh fumpdcliInoasrte",
        (
            0.3,
            0.6,
            0.9,
            0.9,
            0.9,
            1.5,
            1.6,
            1.9,
            2.2,
            3.7,
            3.8,
            4.6,
            4.7,
            5.4,
            5.6,
            5.6,
            8.0,
            8.2,
            8.4,
            10.1,
            11.2,
            13.3,
            259.0,
            15.7,
            15.7,
            16.7,
            19.8,
            20.5,
            21.7,
            27.6,
            37.7,
            17.7,
            39.5,
            39.9,
            42.6,
            42.8,
            44.0,
            54.3,
            75.1,
        ),
        strict=True,
    )
)
_FREQ["."] = _FREQ.pop("T")
_FREQ["_"] = _FREQ.pop("I")
_PASS_COST = 2.0
# A pass on a character this frequent costs several passes on a literal word: keywords made of
# frequent characters only (`asia`, `eaaa`) get a pass of their own on the whole keyword.
_FREQUENT = 15.0


def anchor_indexes(keywords: list[str], frequent: float = _FREQUENT) -> list[int]:
    """For each keyword, the index of the character its pass searches for."""
    uncovered = set(range(len(keywords)))
    chosen: list[str] = []
    while uncovered:
        best = max(
            sorted({c for n in uncovered for c in keywords[n]}),
            key=lambda c: (
                sum(c in keywords[n] for n in uncovered) / (_PASS_COST + _FREQ.get(c, 0.1)),
                -_FREQ.get(c, 0.1),
            ),
        )
        chosen.append(best)
        uncovered = {n for n in uncovered if best not in keywords[n]}
    out = []
    for kw in keywords:
        char = min((c for c in chosen if c in kw), key=lambda c: _FREQ.get(c, 0.1))
        if _FREQ.get(char, 0.1) >= frequent:
            out.append(-1)  # a literal pass of its own
            continue
        out.append(kw.index(char))
    return out


class KeywordFinder:
    """Which of many literal keywords occur in a lower-cased text, in a few fast passes.

    With `ahocorasick_rs` installed (a dependency) one automaton pass answers each question;
    the literal-anchored regex passes are the fallback, built on first need (no automaton, or a
    text it can't take: a lone surrogate, from bytes decoded with `surrogateescape`, has no
    UTF-8 form), and give the same answers (tests compare the two)."""

    def __init__(self, keywords: list[str], frequent: float = _FREQUENT) -> None:
        self.keywords = keywords
        self._frequent = frequent
        # (anchor index per keyword, passes): built once, assigned in one step, so a thread
        # never sees half of it (`redact` runs on several threads)
        self._regex: tuple[list[int], list[tuple[re.Pattern[str], list[int]]]] | None = None
        self._all = self._leftmost = None
        if _aho is not None and keywords and all(keywords):
            self._all = _aho.AhoCorasick(keywords, matchkind=_aho.MATCHKIND_STANDARD)
            self._leftmost = _aho.AhoCorasick(keywords, matchkind=_aho.MATCHKIND_LEFTMOST_LONGEST)

    def _passes(self) -> tuple[list[int], list[tuple[re.Pattern[str], list[int]]]]:
        if self._regex is None:
            self._regex = self._build_passes()
        return self._regex

    def _build_passes(self) -> tuple[list[int], list[tuple[re.Pattern[str], list[int]]]]:
        keywords, frequent = self.keywords, self._frequent
        groups: dict[str, list[int]] = {}
        anchors = anchor_indexes(keywords, frequent)
        passes: list[tuple[re.Pattern[str], list[int]]] = []
        literal: list[int] = []
        for n, kw in enumerate(keywords):
            if anchors[n] < 0:
                anchors[n] = 0
                literal.append(n)
            else:
                groups.setdefault(kw[anchors[n]], []).append(n)
        for char, members in groups.items():
            # "any keyword here" in the regex; which ones (several may share one anchor, as
            # `glpat-` and `-u` in `glpat-u...`) is checked on the few positions it finds. The
            # regex may match a little more than the keywords (what comes before the anchor and
            # what follows it are tested apart, per length of the part before): each branch is
            # a trie, so a frequent anchor (`_`, `a`) costs one test per character, not one per
            # keyword.
            by_len: dict[tuple[int, bool], tuple[set[str], set[str]]] = {}
            for n in members:
                kw = keywords[n]
                i = anchors[n]
                befores, afters = by_len.setdefault((i, i + 1 == len(kw)), (set(), set()))
                befores.add(kw[:i])
                afters.add(kw[i + 1 :])
            alts = []
            for (i, ends), (befores, afters) in sorted(by_len.items()):
                behind = f"(?<=(?:{trie(befores)}){re.escape(char)})" if i else ""
                ahead = "" if ends else f"(?={trie(afters)})"
                alts.append(behind + ahead)
            body = "" if "" in alts else f"(?:{'|'.join(alts)})"
            rx = re.compile(f"{re.escape(char)}{body}")
            passes.append((rx, members))
        for n in literal:
            passes.append((re.compile(re.escape(keywords[n])), [n]))
        return anchors, passes

    def present(self, lowered: str) -> set[int]:
        if self._all is not None:
            try:
                matches = self._all.find_matches_as_indexes(lowered, overlapping=True)
            except UnicodeEncodeError:
                pass
            else:
                return {n for n, _, _ in matches}
        found: set[int] = set()
        keywords = self.keywords
        anchors, passes = self._passes()
        for rx, members in passes:
            left = list(members)
            for m in rx.finditer(lowered):
                at = m.start()
                hit = [n for n in left if lowered.startswith(keywords[n], at - anchors[n])]
                if hit:
                    found.update(hit)
                    left = [n for n in left if n not in found]
                    if not left:
                        break
        return found

    def spans(self, lowered: str) -> list[tuple[int, int]]:
        """Where the keywords are, as a trie regex's `finditer` finds them: leftmost first, the
        longest keyword at each start, none overlapping (the keyword = value detector's hits)."""
        if self._leftmost is not None:
            try:
                matches = self._leftmost.find_matches_as_indexes(lowered)
            except UnicodeEncodeError:
                pass
            else:
                return [(lo, hi) for _, lo, hi in matches]
        keywords = self.keywords
        anchors, passes = self._passes()
        ends: dict[int, int] = {}
        for rx, members in passes:
            for m in rx.finditer(lowered):
                at = m.start()
                for n in members:
                    start = at - anchors[n]
                    if start >= 0 and lowered.startswith(keywords[n], start):
                        end = start + len(keywords[n])
                        if end > ends.get(start, -1):
                            ends[start] = end
        out: list[tuple[int, int]] = []
        last = 0
        for start in sorted(ends):
            if start >= last:
                last = ends[start]
                out.append((start, last))
        return out
