"""The one masker: scanner output, telemetry, logs and the UI all show secrets through it.

`mask` hides a value we already know is secret; `redact` finds secret-looking substrings in free
text (task output, command lines, prompts) and masks them in place. `redact` sits on the hot path
of every stored string, so it rejects most text with one cheap prefilter before any rule runs.
`LineRedactor` does the same for streams that arrive one line at a time (a task's output), where a
secret can span lines: the body lines of a PEM private key look like any base64 on their own.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable

from engine.security.hiding import mask
from engine.security.keywords import trie_branches
from engine.security.rules import default_rules
from engine.security.secrets import secret_spans

__all__ = ["LineRedactor", "mask", "redact", "redact_lines"]

_MIN_SECRET = 8  # no rule reports a shorter value
_prefilter: re.Pattern[str] | None = None
# Two-letter keywords occur in every other word (`task`, `-utf8`): the prefilter asks for the
# shape their rule needs instead (lower-cased text). Each shape starts with a literal character,
# as every other branch of the prefilter does (see `_build_prefilter`).
_SHORT_KEYWORDS = {"sk": r"sk[0-9a-f]{32}", "-u": r"-(?<=\s-)u\s"}


def _build_prefilter() -> re.Pattern[str]:
    """Every keyword of the scanner's rules and keyword detector, as one lower-case regex.

    Its branches sit at the top level of the pattern, each starting with a literal: that is
    what lets `re` skip, in C, every position whose character starts no keyword (digits,
    spaces, most punctuation) - twice as fast as the same trie inside one group.
    """
    global _prefilter
    rules = default_rules()
    words = set(rules.generic_keywords)
    extra: set[str] = set()
    for rule in rules.rules:
        for k in rule.keywords:
            if k in _SHORT_KEYWORDS:
                extra.add(_SHORT_KEYWORDS[k])
            elif len(k) > 1:
                words.add(k)
    # keep only the shortest keyword of any that contains another: the prefilter asks "any?"
    minimal = {w for w in words if not any(o != w and o in w for o in words)}
    _prefilter = re.compile("|".join([*trie_branches(minimal), *sorted(extra)]))
    return _prefilter


#: Short strings the engine stores over and over (ids, states, worker names, a task's spec
#: masked at creation and again by the store) are answered from memory; bounded, and emptied
#: whole when full, which costs less than keeping recency.
_MEMO_MAX_LEN = 256
_MEMO_SIZE = 8192
_memo: dict[str, str] = {}


def redact(text: str) -> str:
    """Mask every secret the scanner would flag in `text`; anything else is returned as is.

    Everything `br-tui --scan` would flag (provider rules, the keyword = value, prefixed-token
    and high-entropy detectors) and more (no example-line filter), behind one prefilter: a
    trie regex of the rules' keywords over the lower-cased text, or a run of 12+ alphanumerics.
    Text with neither (most output lines, ids, timestamps) comes back as the same object.
    """
    if len(text) < _MIN_SECRET:
        return text
    if len(text) > _MEMO_MAX_LEN:
        return _redact(text)
    done = _memo.get(text)
    if done is None:
        done = _redact(text)
        if len(_memo) >= _MEMO_SIZE:
            _memo.clear()
        _memo[text] = done
    return done


# The shape detectors (`prefixed-token`, high-entropy values) need no keyword, only a run of 12+
# alphanumerics: text mapped to one byte per class (`a` for [A-Za-z0-9+/]) is searched for one as
# a literal, at C speed.
_RUN_VIEW = bytes(97 if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "+/") else 32
                  for i in range(256))  # fmt: skip
_RUN = b"a" * 12


_DIGIT = re.compile(r"[0-9]")


def _may_hold_secret(text: str) -> bool:
    """False only when no rule, keyword or shape detector could match: most output lines.

    The shape detectors without a keyword (high-entropy values, `prefixed-token`) only accept a
    value holding a digit, so a run of 12+ alphanumerics counts only on a line with a digit:
    long names in source code (`SubjectPublicKeyInfo`) skip the detectors."""
    if (_prefilter or _build_prefilter()).search(text.lower()) is not None:
        return True
    return _DIGIT.search(text) is not None and _RUN in text.encode("ascii", "replace").translate(
        _RUN_VIEW
    )


def _redact(text: str) -> str:
    if not _may_hold_secret(text):
        return text
    if "\n" in text and _PEM_BEGIN.search(text) is not None:
        return "\n".join(redact_lines(text.split("\n")))  # a key cut short has no END line
    spans = secret_spans(text, default_rules())
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(text[pos:start])
        out.append(mask(text[start:end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


# A private key block, line by line: everything between BEGIN and END is key material. A body
# line is base64, an RFC 1421 header (`Proc-Type: ...`, `DEK-Info: ...`, PGP's `Comment: ...`)
# or blank; any other line means the block was not a key after all (a doc quoting the marker).
_PEM_BEGIN = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"[ \t]*(?:[A-Za-z0-9+/=]{1,200}|[A-Za-z][\w-]{1,30}:[^\n]*)?[ \t\r]*")
_BODY_MASK = "****"
#: Streams inside an open block at once; past this (streams that never closed one) start over.
_MAX_OPEN = 10_000


class LineRedactor:
    """`redact` for many interleaved line streams (keyed by the caller: session, task, stream),
    plus what only a stream shows: the lines of a private key between its BEGIN and END lines
    are masked whole. Keeps state only for streams inside an open block."""

    __slots__ = ("_open",)

    def __init__(self) -> None:
        self._open: set[Hashable] = set()

    def line(self, key: Hashable, text: str) -> str:
        """The masked form of the next line of stream `key`."""
        if key in self._open:
            end = _PEM_END.search(text)
            if end is not None:
                self._open.discard(key)
                head = text[: end.start()]
                return (_BODY_MASK if head.strip() else head) + redact(text[end.start() :])
            if _PEM_BODY.fullmatch(text):
                return _BODY_MASK if text.strip() else text
            self._open.discard(key)  # not key material: the block was a quotation
        out = redact(text)
        begin = _PEM_BEGIN.search(text)
        if begin is not None and _PEM_END.search(text, begin.end()) is None:
            if len(self._open) >= _MAX_OPEN:
                self._open.clear()
            self._open.add(key)
            rest = text[begin.end() :]
            if rest.strip():  # key material on the BEGIN line itself
                out = text[: begin.end()] + _BODY_MASK
        return out

    def close(self, key: Hashable) -> None:
        """Forget a stream that ended (its block, if any, ends with it)."""
        self._open.discard(key)


def redact_lines(lines: Iterable[str]) -> list[str]:
    """`redact` over consecutive lines of one text, private-key blocks masked across lines."""
    redactor = LineRedactor()
    return [redactor.line(None, line) for line in lines]
