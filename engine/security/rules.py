"""Secret rules as data: the shipped TOML plus the user's additions, compiled only when needed.

A git hook scans a handful of files, so compiling ~50 regexes up front would cost more than the
scan. Each rule keeps its source and compiles on first use; its lower-case keywords decide, with a
substring test, whether it needs to run on a given text at all.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

_RULES_FILE = Path(__file__).with_name("rules.toml")
_VALIDATORS = ("none", "random", "password", "token")
TOKEN_RUN = "token-run"


class RuleError(ValueError):
    """A rule in the data file or the user's config can't be used (bad regex, missing field)."""


@dataclass(slots=True)
class Rule:
    """One detector: a regex, the group holding the secret, and how to vet the captured value."""

    id: str
    description: str
    severity: str
    regex: str
    keywords: tuple[str, ...] = ()
    group: int | None = None
    validate: str = "none"
    min_len: int = 8
    prefilter: str = ""
    # Where matches can be, so the regex runs in small windows instead of over the whole text:
    # "token-run" (around long runs of token characters, shared with the shape detector), or
    # lower-case literals every match contains, with `window` = (chars before, chars after).
    anchor: tuple[str, ...] = ()
    window: tuple[int, int] = (0, 0)
    _compiled: re.Pattern[str] | None = field(default=None, repr=False)

    @property
    def rx(self) -> re.Pattern[str]:
        if self._compiled is None:
            try:
                self._compiled = re.compile(self.regex)
            except re.error as exc:
                raise RuleError(f"rule {self.id}: bad regex: {exc}") from exc
        return self._compiled

    @property
    def pre_rx(self) -> re.Pattern[str] | None:
        return _compile(self.prefilter) if self.prefilter else None

    def applies_to(self, lowered: str) -> bool:
        """Cheap gate: the rule only runs on text holding one of its keywords."""
        return not self.keywords or any(k in lowered for k in self.keywords)


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _rule_from(data: dict[str, object]) -> Rule:
    try:
        rule = Rule(
            id=str(data["id"]),
            description=str(data.get("description", data["id"])),
            severity=str(data.get("severity", "high")),
            regex=str(data["regex"]),
            keywords=tuple(str(k).lower() for k in data.get("keywords", ())),  # type: ignore[union-attr]
            group=int(data["group"]) if "group" in data else None,  # type: ignore[call-overload]
            validate=str(data.get("validate", "none")),
            min_len=int(data.get("min_len", 8)),  # type: ignore[call-overload]
            prefilter=str(data.get("prefilter", "")),
            anchor=_anchors(data.get("anchor", ())),
            window=_window(data),
        )
    except KeyError as exc:
        raise RuleError(f"rule {data.get('id', '?')}: missing field {exc}") from exc
    if rule.validate not in _VALIDATORS:
        raise RuleError(f"rule {rule.id}: validate must be one of {', '.join(_VALIDATORS)}")
    return rule


def _anchors(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, list | tuple) or not all(isinstance(a, str) and a for a in raw):
        raise RuleError("anchor must be a string or a list of non-empty strings")
    return tuple(a if a == TOKEN_RUN else a.lower() for a in raw)


def _window(data: dict[str, object]) -> tuple[int, int]:
    raw = data.get("window", (0, 0))
    if (
        not isinstance(raw, list | tuple)
        or len(raw) != 2
        or not all(isinstance(n, int) for n in raw)
    ):
        raise RuleError(f"rule {data.get('id', '?')}: window must be [before, after]")
    anchors = data.get("anchor")
    if anchors and anchors != TOKEN_RUN and anchors != [TOKEN_RUN] and raw[1] <= 0:
        raise RuleError(f"rule {data.get('id', '?')}: an anchor needs window = [before, after]")
    return int(raw[0]), int(raw[1])


@cache
def _shipped() -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    with _RULES_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    rules = tuple(_rule_from(r) for r in data.get("rule", []))
    generic = tuple(str(k).lower() for k in data.get("generic", {}).get("keywords", []))
    return rules, generic


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


def _anchor_indexes(keywords: list[str]) -> list[int]:
    """For each keyword, the index of the character its pass searches for."""
    uncovered = set(range(len(keywords)))
    chosen: list[str] = []
    while uncovered:
        best = max(
            {c for n in uncovered for c in keywords[n]},
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
        out.append(kw.index(char))
    return out


class _KeywordFinder:
    """Which of many literal keywords occur in a lower-cased text, in a few fast passes."""

    def __init__(self, keywords: list[str]) -> None:
        self.keywords = keywords
        groups: dict[str, list[int]] = {}
        anchors = _anchor_indexes(keywords)
        for n, kw in enumerate(keywords):
            groups.setdefault(kw[anchors[n]], []).append(n)
        self.passes: list[tuple[re.Pattern[str], list[int]]] = []
        for char, members in groups.items():
            alts = []
            for n in members:
                kw = keywords[n]
                i = anchors[n]
                before = f"(?<={re.escape(kw[: i + 1])})" if i else ""
                alts.append(f"{before}{re.escape(kw[i + 1 :])}")
            # one guard for "any keyword here", then every keyword tested at the same position
            # (several may end or start at one anchor: `glpat-` and `-u` in `glpat-u...`)
            each = "".join(f"(?:(?={a})())?" for a in alts)
            rx = re.compile(f"{re.escape(char)}(?={'|'.join(alts)}){each}")
            self.passes.append((rx, members))

    def present(self, lowered: str) -> set[int]:
        found: set[int] = set()
        for rx, members in self.passes:
            want = len(members)
            seen: set[int] = set()
            for m in rx.finditer(lowered):
                seen.update(i for i, g in enumerate(m.groups()) if g is not None)
                if len(seen) == want:
                    break
            found.update(members[i] for i in seen)
        return found


@dataclass(slots=True)
class RuleSet:
    """The rules in force for one scan: shipped minus disabled plus the user's own."""

    rules: list[Rule]
    generic_keywords: tuple[str, ...]
    generic_enabled: bool = True
    _finder: _KeywordFinder | None = field(default=None, repr=False)
    _by_keyword: list[list[int]] = field(default_factory=list, repr=False)
    _always: list[int] = field(default_factory=list, repr=False)

    def active(self, lowered: str) -> list[Rule]:
        """The rules whose keywords occur in `lowered` (rules without keywords always run)."""
        if self._finder is None:
            index: dict[str, list[int]] = {}
            for n, rule in enumerate(self.rules):
                if not rule.keywords or any(len(k) < 2 for k in rule.keywords):
                    self._always.append(n)
                    continue
                for k in rule.keywords:
                    index.setdefault(k, []).append(n)
            keywords = list(index)
            self._by_keyword = [index[k] for k in keywords]
            self._finder = _KeywordFinder(keywords)
        chosen = set(self._always)
        for k in self._finder.present(lowered):
            chosen.update(self._by_keyword[k])
        return [self.rules[n] for n in sorted(chosen)]


def load_rules(
    extra: list[dict[str, object]] | None = None,
    disable: list[str] | tuple[str, ...] = (),
    generic_keywords: list[str] | None = None,
) -> RuleSet:
    """Shipped rules merged with config: `extra` rules replace shipped ones with the same id."""
    shipped, generic = _shipped()
    off = set(disable)
    own = [_rule_from(r) for r in extra or []]
    own_ids = {r.id for r in own}
    rules = [r for r in shipped if r.id not in off and r.id not in own_ids]
    rules += [r for r in own if r.id not in off]
    keywords = tuple(k.lower() for k in generic_keywords) if generic_keywords else generic
    return RuleSet(rules, keywords, generic_enabled="generic-secret" not in off)


@cache
def default_rules() -> RuleSet:
    return load_rules()
