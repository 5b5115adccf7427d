"""The keyword = value detector: catches the long tail of providers no rule names.

It searches the lower-cased text for secret-ish keywords (`token`, `secret`, `passw`, `key`, ...)
with one regex, then reads what follows the keyword in the original text: the rest of the name
(`stripe_api_key`), a separator (`=`, `:`, `:=`, `=>`, `>`, ` - `, a space) and a value. The value
is only reported when `looks_random` says it is generated; that check, not the keyword, is what
keeps code like `key = cache_key(name)` quiet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from engine.security.entropy import looks_random, shannon

# After the keyword: the rest of the identifier, a separator zone, an opening quote or bracket.
_TAIL = re.compile(
    r"""[\w.\-]{0,40}?"""
    r"""(?P<sep>\\?["'`]?[ \t]{0,3}(?:[\])>][ \t]{0,3})?"""
    r"""(?:(?<=>)\s{0,12}|(?:[:=]{1,3}>?|=>|->|[ \t]-[ \t]|,|[ \t]is[ \t]|[ \t])[ \t]{0,6})"""
    r"""(?:[\[({][ \t]{0,3})?\\?["'`]?[ \t]{0,3})"""
    r"""(?P<val>[^\s"'`<>{}\[\]();,|][^\s"'`<>{}\[();,|]{7,1499})"""
)
_STRONG_SEP = re.compile(r"[:=>,]|\s-\s|\sis\s")
_TRAIL = ".,;:\\/"


@cache
def _keyword_rx(keywords: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True)))


def find_keyword_values(
    text: str, lowered: str, keywords: tuple[str, ...]
) -> Iterator[tuple[int, int, str]]:
    """Yield (start, end, value) of generated-looking values that follow a secret keyword."""
    if not keywords:
        return
    last_end = -1
    for hit in _keyword_rx(keywords).finditer(lowered):
        if hit.start() < last_end:
            continue
        m = _TAIL.match(text, hit.end())
        if m is None:
            continue
        value = m.group("val").rstrip(_TRAIL)
        last_end = m.end()  # keywords inside a value already read are not read again: linear
        strong = _STRONG_SEP.search(m.group("sep")) is not None
        if looks_random(value, 8 if strong else 16):
            start = m.start("val")
            yield start, start + len(value), value


# A value right after `=`, `:`, `,`, `(` or an opening quote, made of token characters only.
_CANDIDATE = re.compile(
    r"""(?:[=:,(]\s{0,3}\\?["'`]?|["'`])\s{0,2}(?P<val>[A-Za-z0-9+/=_\-.~]{16,200})"""
)
_SEGMENTS = re.compile(r"[\-_.=/:~+]+")
_HASHISH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128}|[0-9A-F]{32,128}")
_NOT_SECRET_NAMES = (
    "sha",
    "hash",
    "md5",
    "digest",
    "checksum",
    "integrity",
    "commit",
    "rev",
    "uuid",
    "guid",
    "version",
    "etag",
    "nonce",
    "fingerprint",
    "test",
    "example",
    "sample",
    "url",
    "path",
    "href",
)


def _strictly_random(value: str) -> bool:
    """Without a keyword the value alone must convince: long, mixed, very high entropy."""
    if not looks_random(value, 16, allow_uuid=False):
        return False
    if _HASHISH.fullmatch(value) or not any(c.isdigit() for c in value):
        return False
    segments = _SEGMENTS.split(value)
    longest = max(segments, key=len)
    if len(longest) < 12 or not any(c.isdigit() for c in longest):
        return False  # `name-with-words==1.2.0`: generated values have one long random run
    letters = sum(c.isalpha() for c in value)
    if letters < len(value) // 3:
        return False
    return shannon(value) >= (3.3 if len(value) < 20 else 3.6)


def find_context_free(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield generated-looking values that are assigned or quoted, whatever the name."""
    for m in _CANDIDATE.finditer(text):
        value = m.group("val").rstrip(_TRAIL + "-")
        if len(value) < 16 or not _strictly_random(value):
            continue
        start = m.start("val")
        end = start + len(value)
        if text[end : end + 4].lstrip("\"'` ").startswith("+") or text[
            max(0, m.start() - 3) : m.start()
        ].rstrip().endswith("+"):
            continue  # "ghp_" + "..." : split on purpose, a test fixture built at run time
        line_start = text.rfind("\n", 0, start) + 1
        before = text[max(line_start, start - 80) : start].lower()
        if any(word in before for word in _NOT_SECRET_NAMES):
            continue
        yield start, end, value
