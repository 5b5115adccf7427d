"""The one masker: scanner output, telemetry, logs and the UI all show secrets through it.

`mask` hides a value we already know is secret; `redact` finds secret-looking substrings in free
text (task output, command lines, prompts) and masks them in place. `redact` sits on the hot path
of every stored string, so it rejects most text with one cheap prefilter before any rule runs.
"""

from __future__ import annotations

import re

from engine.security.hiding import mask
from engine.security.keywords import trie_branches
from engine.security.rules import REDACT_SKIP, default_rules
from engine.security.secrets import secret_spans

__all__ = ["mask", "redact"]

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
        if rule.id not in REDACT_SKIP:
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

    The same rules as `br-tui --scan` (provider rules and the keyword = value detector), behind
    one prefilter: a trie regex of the rules' keywords over the lower-cased text. Text without a
    keyword (most output lines, ids, timestamps) comes back as the same object.
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


def _redact(text: str) -> str:
    if (_prefilter or _build_prefilter()).search(text.lower()) is None:
        return text
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
