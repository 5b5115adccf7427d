"""Secret rules as data: the shipped TOML plus the user's additions, compiled only when needed.

A git hook scans a handful of files, so compiling ~50 regexes up front would cost more than the
scan. Each rule keeps its source and compiles on first use; its lower-case keywords decide, with a
substring test, whether it needs to run on a given text at all.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

from engine.security.checksums import CHECKS
from engine.security.keywords import KeywordFinder

_RULES_FILE = Path(__file__).with_name("rules.toml")
_VALIDATORS = ("none", "random", "password", "token")
TOKEN_RUN = "token-run"


class RuleError(ValueError):
    """A rule in the data file or the user's config can't be used (bad regex, missing field)."""


class Rule:
    """One detector: a regex, the group holding the secret, and how to vet the captured value."""

    __slots__ = (
        "_compiled",
        "anchor",
        "checksum",
        "description",
        "group",
        "id",
        "keywords",
        "keywords_in",
        "min_len",
        "prefilter",
        "regex",
        "severity",
        "validate",
        "window",
    )

    def __init__(
        self,
        id: str,
        description: str,
        severity: str,
        regex: str,
        keywords: tuple[str, ...] = (),
        group: int | None = None,
        validate: str = "none",
        min_len: int = 8,
        prefilter: str = "",
        anchor: tuple[str, ...] = (),
        window: tuple[int, int] = (0, 0),
        keywords_in: str = "text",
        checksum: str = "",
    ) -> None:
        self.id = id
        self.description = description
        self.severity = severity
        self.regex = regex
        self.keywords = keywords
        self.group = group
        self.validate = validate
        self.min_len = min_len
        self.prefilter = prefilter
        # Where matches can be, so the regex runs in small windows instead of over the whole
        # text: "token-run" (around long runs of token characters, shared with the shape
        # detector), or lower-case literals every match contains, with `window` = (chars
        # before, chars after).
        self.anchor = anchor
        self.window = window
        # "token-run": every match holds one of the keywords inside a run of token characters
        # (`[A-Za-z0-9+/=_\-.~]`) that also holds 12+ `[A-Za-z0-9+/]` in a row, so the keywords
        # are only looked for in those runs (a small part of most files).
        self.keywords_in = keywords_in
        # A checksum the provider builds into its tokens (`checksums.CHECKS`): a value that
        # passes it is reported whatever the placeholder filters say.
        self.checksum = checksum
        self._compiled: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"Rule(id={self.id!r})"

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
            keywords_in=str(data.get("keywords_in", "text")),
            checksum=str(data.get("checksum", "")),
        )
    except KeyError as exc:
        raise RuleError(f"rule {data.get('id', '?')}: missing field {exc}") from exc
    if rule.keywords_in not in ("text", TOKEN_RUN):
        raise RuleError(f"rule {rule.id}: keywords_in must be 'text' or '{TOKEN_RUN}'")
    if rule.checksum and rule.checksum not in CHECKS:
        raise RuleError(f"rule {rule.id}: checksum must be one of {', '.join(CHECKS)}")
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


def _cache_file() -> Path:
    """Where the parsed rules file is kept, keyed by its path, size and modification time."""
    import binascii

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    st = _RULES_FILE.stat()
    tag = binascii.crc32(str(_RULES_FILE).encode("utf-8", "surrogateescape"))
    return Path(base, "br-tui", f"rules-{tag:08x}-{st.st_size}-{st.st_mtime_ns}.marshal")


def _rules_data() -> dict[str, object]:
    """rules.toml as parsed data: from a marshal cache when it is current, else parsed (and the
    cache written). A hook run would otherwise spend more on `tomllib` than on scanning."""
    import marshal

    try:
        data = marshal.loads(_cache_file().read_bytes())
        if isinstance(data, dict):
            return data
    except (OSError, ValueError, EOFError, TypeError):
        pass
    import tomllib

    with _RULES_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    try:
        target = _cache_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(target.name.rsplit("-", 2)[0] + "-*.marshal"):
            stale.unlink(missing_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(data))
        os.replace(tmp, target)
    except (OSError, ValueError):
        pass  # no writable cache directory: parse on every run
    return data


@cache
def _shipped() -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    data = _rules_data()
    rules = tuple(_rule_from(r) for r in data.get("rule", []))  # type: ignore[union-attr]
    generic = tuple(str(k).lower() for k in data.get("generic", {}).get("keywords", []))  # type: ignore[union-attr]
    return rules, generic


class RuleSet:
    """The rules in force for one scan: shipped minus disabled plus the user's own."""

    __slots__ = (
        "_always",
        "_by_keyword",
        "_finder",
        "_in_runs",
        "_keywords",
        "generic_enabled",
        "generic_keywords",
        "rules",
    )

    def __init__(
        self, rules: list[Rule], generic_keywords: tuple[str, ...], generic_enabled: bool = True
    ) -> None:
        self.rules = rules
        self.generic_keywords = generic_keywords
        self.generic_enabled = generic_enabled
        self._finder: tuple[KeywordFinder, list[int], KeywordFinder, list[int]] | None = None
        self._keywords: list[str] | None = None
        self._by_keyword: list[list[int]] = []
        self._always: list[int] = []
        self._in_runs: list[int] = []  # indexes of keywords looked for in token runs only

    def active(self, lowered: str, runs_text: str | None = None) -> list[Rule]:
        """The rules whose keywords occur in `lowered` (rules without keywords always run).

        `runs_text`: the lower-cased token runs of the text (`TokenRuns.runs_text`), where the
        keywords of `keywords_in = "token-run"` rules are looked for instead of the whole text."""
        if self._keywords is None:
            index: dict[tuple[str, bool], list[int]] = {}
            for n, rule in enumerate(self.rules):
                if not rule.keywords or any(len(k) < 2 for k in rule.keywords):
                    self._always.append(n)
                    continue
                for k in rule.keywords:
                    index.setdefault((k, rule.keywords_in == TOKEN_RUN), []).append(n)
            keys = list(index)
            self._keywords = [k for k, _ in keys]
            self._in_runs = [i for i, (_, in_runs) in enumerate(keys) if in_runs]
            self._by_keyword = [index[k] for k in keys]
        chosen = set(self._always)
        if self._finder is None:
            runs = set(self._in_runs)
            text_kw = [i for i in range(len(self._keywords)) if i not in runs]
            self._finder = (
                KeywordFinder([self._keywords[i] for i in text_kw]),
                text_kw,
                # token runs are a small text of few distinct characters: no literal passes
                KeywordFinder([self._keywords[i] for i in self._in_runs], float("inf")),
                self._in_runs,
            )
        text_finder, text_kw, run_finder, run_kw = self._finder
        for k in text_finder.present(lowered):
            chosen.update(self._by_keyword[text_kw[k]])
        if run_kw:
            found = run_finder.present(lowered if runs_text is None else runs_text)
            for k in found:
                chosen.update(self._by_keyword[run_kw[k]])
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
