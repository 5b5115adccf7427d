"""Run the secret rules and the generic detector over one text; vet, dedupe and mask the hits."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator

from engine.security.checksums import CHECKS
from engine.security.entropy import is_placeholder, is_stand_in, looks_random
from engine.security.finding import Finding, fingerprint
from engine.security.generic import (
    TokenRuns,
    find_context_free,
    find_keyword_values,
    keyed_as_id,
    looks_like_name,
    named_as_digest,
)
from engine.security.hiding import mask
from engine.security.rules import TOKEN_RUN, Rule, RuleSet
from engine.security.words import is_plain_word, reads_as_name

_WEAK_PASSWORDS = frozenset(
    {
        "pass",
        "password",
        "passwd",
        "secret",
        "test",
        "user",
        "admin",
        "root",
        "postgres",
        "changeme",
        "guest",
        "mysql",
        "sa",
        "username",
        "pwd",
        "demo",
        "token",
    }
)


# Not in rules.toml: its candidates come from generic.find_context_free, not from a regex match.
_CONTEXT_FREE = Rule(
    id="high-entropy-value",
    description="High-entropy value assigned or quoted (no secret keyword nearby)",
    severity="low",
    regex="",
)


# Program sources, where a secret is a quoted literal and a bare word is a name. Config, data,
# prose, logs and shell scripts are left out: there a bare word is a value (`TOKEN=abc123`).
_CODE_SUFFIXES = (
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".go", ".java", ".kt", ".scala",
    ".rb", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".swift", ".php", ".dart", ".lua",
)  # fmt: skip

_SINGLE_TOKEN = re.compile(r"[\w\-.+/=~:]+")
_FILE_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}\b")


# A host that only documentation and local set-ups use: with one of these on the line, a
# password that is one plain word (`scott:tiger@localhost`) is a manual's example.
_EXAMPLE_HOST = re.compile(
    r"(?:@|\b(?:host|server|data source)=)(?:localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0|"
    r"(?:[\w\-]+\.)*example(?:\.\w+)?|[\w.\-]+\.(?:local|localhost|test|invalid)|"
    r"host|hostname|server|myhost|dbhost|dsn)(?![\w.\-])",
    re.IGNORECASE,
)


def _line_at(text: str, offset: int) -> str:
    end = text.find("\n", offset)
    return text[text.rfind("\n", 0, offset) + 1 : end if end >= 0 else len(text)]


def _valid(rule: Rule, value: str, text: str = "", at: int = 0) -> bool:
    """Per-rule vetting of a captured value: the regex finds shapes, this removes stand-ins.
    `text`, `at`: where the value sits, for checks that need its line."""
    if rule.validate == "none":  # the regex is the format; a single token may still be a stand-in
        return len(value) >= 1 and not (_SINGLE_TOKEN.fullmatch(value) and is_stand_in(value))
    if rule.validate == "random":
        return looks_random(value, rule.min_len)
    if rule.validate == "password":
        return (
            len(value) >= 4
            and value.lower() not in _WEAK_PASSWORDS
            and not is_placeholder(value)
            and len(set(value)) > 3
            and not (is_plain_word(value) and _EXAMPLE_HOST.search(_line_at(text, at)) is not None)
        )
    # "token": a vendor prefix then a generated body; the body carries the randomness.
    if looks_like_name(value) or reads_as_name(value):
        return False  # `en-US/FlashPlatform/reference`, `aio-libs/aiohttp/discussions/6044`
    if "/" in value and _FILE_EXTENSION.match(text, at + len(value)):
        return False  # `crypto_pwhash/scryptsalsa208sha256/crypto_scrypt.h`: a file's path
    if named_as_digest(text, at, 12):
        return False  # `,sha256=irHT-jSbp...,` (a wheel's RECORD): a digest in base64url
    parts = value.replace("-", "_").split("_")
    if parts[0].lower().startswith(("sha", "md5")):
        return False  # subresource integrity (sha384-...), not a vendor token
    longest = max(parts, key=len)
    body = longest if len(longest) >= 20 else "".join(parts[1:])
    return (
        looks_random(body, 20) and any(c.isdigit() for c in body) and any(c.isalpha() for c in body)
    )


def certain(rule: Rule, value: str) -> bool:
    """The value carries its provider's checksum: a real token, whatever else it looks like."""
    return bool(rule.checksum) and CHECKS[rule.checksum](value)


def _documented(rule: Rule, text: str, offset: int) -> bool:
    """Shape-only rules stay quiet on lines that say they show an example."""
    if rule.severity == "high":
        return False
    return "example" in _line_at(text, offset).lower()


class _Positions:
    """Line and column of offsets in one text: the newlines are found once, then each offset is
    a bisection (a file with thousands of findings stays linear)."""

    def __init__(self, text: str) -> None:
        self._newlines = [m.start() for m in _NEWLINE.finditer(text)]

    def __call__(self, offset: int) -> tuple[int, int]:
        before = bisect.bisect_left(self._newlines, offset)
        line_start = self._newlines[before - 1] + 1 if before else 0
        return before + 1, offset - line_start + 1


_NEWLINE = re.compile("\n")


def lowered(text: str) -> str:
    """`text.lower()` with the same length, so offsets found in one hold in the other."""
    return _lowered(text)


def _lowered(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters (İ) grow when lowered: keep offsets aligned
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return lowered


def _anchored(rule: Rule, text: str, lowered: str) -> Iterator[re.Match[str]]:
    """Matches of `rule` near its anchor literals; the same as a whole-text finditer when every
    match holds an anchor within `window` (chars before, chars after) of it."""
    hits: list[int] = []
    for anchor in rule.anchor:
        at = lowered.find(anchor)
        while at >= 0:
            hits.append(at)
            at = lowered.find(anchor, at + 1)
    if len(rule.anchor) > 1:
        hits.sort()
    rx = rule.rx
    before, after = rule.window
    size = len(text)
    done = 0
    prev = -1
    for at in hits:
        # Each start is tried once, with the first anchor at or after it: a match holds that
        # anchor within the window. (Trying it again for every later anchor in reach made a line
        # of repeated anchors quadratic in `before`.)
        first, prev = max(done, at - before, prev + 1), at
        if at < done:
            continue
        hi = min(size, at + after)
        # the leftmost match that starts at most `before` chars ahead of this anchor, if any
        for start in range(first, at + 1):
            m = rx.match(text, start, hi)
            if m is not None:
                if m.end() >= hi and hi < size:  # may be cut short by the window
                    m = rx.match(text, start) or m
                yield m
                done = max(m.end(), start + 1)
                break


def _windowed(rule: Rule, text: str, runs: TokenRuns) -> Iterator[re.Match[str]]:
    """Matches of a `token-run` rule: its regex only runs over spans holding a long token run."""
    rx = rule.rx
    size = len(text)
    for lo, hi in runs.token_windows():
        yield from rx.finditer(text, lo, min(size, hi + 1))


def _rule_hits(
    text: str,
    lowered: str,
    ruleset: RuleSet,
    runs: TokenRuns,
    *,
    documented: bool = True,
    code: bool = False,
) -> list[tuple[int, int, str, Rule | None]]:
    """Vetted matches of the named rules and the keyword detector (`documented`: drop what a
    shape-only rule finds on a line that says it shows an example; `code`: the text is a
    program's source, where an unquoted value is a name, not a literal)."""
    hits: list[tuple[int, int, str, Rule | None]] = []
    for rule in ruleset.active(lowered, runs.runs_text(lowered)):
        pre = rule.pre_rx
        if pre is not None and pre.search(text) is None:
            continue
        rx = rule.rx
        if rule.anchor == (TOKEN_RUN,):
            matches: Iterable[re.Match[str]] = _windowed(rule, text, runs)
        elif rule.anchor:
            matches = _anchored(rule, text, lowered)
        else:
            matches = rx.finditer(text)
        group = rule.group if rule.group is not None else (1 if rx.groups else 0)
        for m in matches:
            g = group
            if g and m.group(g) is None:  # alternation: take the first group that matched
                g = next((i for i in range(1, rx.groups + 1) if m.group(i) is not None), 0)
            value = m.group(g) if g or group == 0 else m.group(0)
            if not value:
                continue
            if certain(rule, value) or (
                _valid(rule, value, text, m.start(g))
                and not (documented and _documented(rule, text, m.start()))
                and not (rule.id == "prefixed-token" and keyed_as_id(text, m.start(g)))
            ):
                hits.append((m.start(g), m.end(g), value, rule))
    if ruleset.generic_enabled:
        keywords = ruleset.generic_keywords
        for start, end, value in find_keyword_values(text, lowered, keywords, code=code):
            hits.append((start, end, value, None))
    return hits


def scan_secrets(
    text: str, path: str, ruleset: RuleSet, lowered: str | None = None
) -> list[Finding]:
    """Every secret in `text`, one finding per (line, value); masked and fingerprinted.

    `lowered`: `lowered(text)` when the caller has it already."""
    lowered = lowered if lowered is not None else _lowered(text)
    runs = TokenRuns(text)
    code = path.endswith(_CODE_SUFFIXES)
    hits = _rule_hits(text, lowered, ruleset, runs, code=code)
    if ruleset.generic_enabled:
        for start, end, value in find_context_free(text, runs, code=code):
            if not _documented(_CONTEXT_FREE, text, start):
                hits.append((start, end, value, _CONTEXT_FREE))
    return _to_findings(text, path, hits)


def secret_spans(text: str, ruleset: RuleSet) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) covering every secret the scanner would report in `text`,
    and more: the masker must be at least as broad as detection, so no example-line filter."""
    runs = TokenRuns(text)
    hits = _rule_hits(text, _lowered(text), ruleset, runs, documented=False)
    if ruleset.generic_enabled:
        hits += [(s, e, v, _CONTEXT_FREE) for s, e, v in find_context_free(text, runs)]
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    spans: list[tuple[int, int]] = []
    for start, end, _, _ in hits:
        if spans and start < spans[-1][1]:
            if end > spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            continue
        spans.append((start, end))
    return spans


def _rank(rule: Rule | None) -> int:
    """Where hits overlap, a named rule beats the keyword detector beats the context-free one."""
    return 2 if rule is _CONTEXT_FREE else 1 if rule is None else 0


def _to_findings(
    text: str, path: str, hits: list[tuple[int, int, str, Rule | None]]
) -> list[Finding]:
    """Named rules win over the generic detector where they overlap; one finding per span."""
    if not hits:
        return []
    hits.sort(key=lambda h: (_rank(h[3]), h[0], -(h[1] - h[0])))
    out: list[Finding] = []
    starts: list[int] = []  # the spans taken: disjoint, so sorted by start they are by end too
    ends: list[int] = []
    position = _Positions(text)
    for start, end, value, rule in hits:
        at = bisect.bisect_left(starts, end)  # spans starting before this one ends...
        if at and ends[at - 1] > start:  # ...the last of which reaches into it
            continue
        starts.insert(at, start)
        ends.insert(at, end)
        line, column = position(start)
        rule_id = rule.id if rule else "generic-secret"
        desc = rule.description if rule else "Generated-looking value assigned to a secret name"
        severity = rule.severity if rule else "medium"
        out.append(
            Finding(
                path=path,
                line=line,
                column=column,
                rule_id=rule_id,
                kind="secret",
                severity=severity,
                message=desc,
                match=mask(value),
                fingerprint=fingerprint(rule_id, path, value),
            )
        )
    return out
