"""Is this value random enough to be a credential? Generic rules live or die by this answer.

Keyword rules (`token = ...`) match code and prose as often as secrets, so the value itself must
look machine-generated: long enough, high Shannon entropy for its length, several character
classes, no placeholder words, no long runs or alphabet sequences, not a code reference.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise

# Words that mark a value as a stand-in rather than a credential.
_PLACEHOLDER_WORDS = (
    "xxxx",
    "****",
    "....",
    "example",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "changeme",
    "change_me",
    "placeholder",
    "dummy",
    "fake",
    "insert",
    "redacted",
    "replace",
    "not_a_real",
    "notreal",
    "not-real",
    "lorem",
    "undefined",
)
# Words that make a short value a stand-in, but may occur by chance inside a long generated one.
_WEAK_WORDS = (
    "here",
    "secret_key",
    "password",
    "passwd",
    "s3cr3t",
    "foobar",
    "null",
    "none",
    "string",
    "token_",
    "_token",
    "api_key",
    "apikey",
    "access_key",
    "mytoken",
    "mykey",
    "mysecret",
    "testtest",
    "abcdef",
    "123456",
    "qwerty",
    "test-key",
    "testkey",
    "sample",
    "todo",
)
_CAMEL_DIGITS = re.compile(r"(?:[A-Z]?+[a-z]{2,}+|[A-Z]{2,}+(?![a-z])|\d++|_)++")
_WORD4 = re.compile(r"[A-Z][a-z]{2,}")
_TRAILING_DIGITS = re.compile(r"([A-Za-z]+)\d{0,3}")
_KWARG = re.compile(r"[A-Za-z_]\w*=[A-Za-z_][\w.]*")
_LONG_RUN = re.compile(r"(.)\1{15,}")
_RANDOM_RUN = re.compile(r"[A-Za-z0-9+/]{16,}")
_TEMPLATE_START = ("$", "%", "#{", "@", "{{", "<", "&", "*", "~/", "/", "./", "../", "\\")
_CODE_REF = re.compile(r"[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)+|[A-Za-z_]\w*\(\)?")
_WORDS = re.compile(r"(?:[A-Za-z][a-z]+|[A-Z]+|[a-z]+)(?:[_\-. ]+(?:[A-Za-z][a-z]*|[A-Z]+))*")
_CAMEL = re.compile(r"[a-z]+(?:[A-Z][a-z]+)*|(?:[A-Z][a-z]+)+|[A-Z]+|[a-z]+")
_VERSIONISH = re.compile(r"[\d.\-:/+_ ]+|v?\d+(?:\.\d+){1,3}(?:[\-+.][A-Za-z0-9]{1,12}){0,3}")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+\.[\w.\-]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def shannon(value: str) -> float:
    """Bits per character of the value's own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_placeholder(value: str) -> bool:
    """Template variables, stand-in words and masked values are never secrets."""
    low = value.lower()
    if value.startswith(_TEMPLATE_START) or "${" in value or "{{" in value:
        return True
    if any(word in low for word in _PLACEHOLDER_WORDS):
        return True
    if any(word in low for word in _WEAK_WORDS):
        run = _RANDOM_RUN.search(value)
        if run is None or not _mixed(run.group()):
            return True
    return len(set(low)) <= 3


def _mixed(value: str) -> bool:
    """Letters and digits interleaved: generated, not typed."""
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _longest_run(value: str) -> int:
    best = run = 1
    for a, b in pairwise(value):
        run = run + 1 if a == b else 1
        best = max(best, run)
    return best


def _longest_sequence(value: str) -> int:
    """Longest run of consecutive code points (abcdef, 123456): typed by a human, not generated."""
    best = run = 1
    for a, b in pairwise(value):
        run = run + 1 if ord(b) - ord(a) == 1 else 1
        best = max(best, run)
    return best


def looks_random(value: str, min_len: int = 8, *, allow_uuid: bool = True) -> bool:
    """True when `value` reads like a generated credential rather than a word, path or template."""
    n = len(value)
    if n < min_len or n > 4096:
        return False
    if is_placeholder(value):
        return False
    if value.isdigit():
        return n >= 20 and shannon(value) >= 3.0
    if _VERSIONISH.fullmatch(value) or _EMAIL.fullmatch(value):
        return False
    if not allow_uuid and _UUID.fullmatch(value):
        return False
    code_ref = _CODE_REF.fullmatch(value) and sum(c.isdigit() for c in value) <= 3
    if code_ref or _WORDS.fullmatch(value):
        return False
    if _CAMEL_DIGITS.fullmatch(value) and len(_WORD4.findall(value)) >= 2:
        return False  # BetaCodeExecutionTool20250522Param: words and a date, not random
    word_part = _TRAILING_DIGITS.fullmatch(value)
    if word_part and _CAMEL.fullmatch(word_part.group(1)):
        return False  # flexSwitchCheckDefault0, getToken: identifiers, not generated
    if _KWARG.fullmatch(value):
        return False  # raising=False, show=True: a keyword argument read as a value
    if "/" in value and max(len(p) for p in re.split(r"[/\-_.]", value)) < 10:
        return False  # a path or a slug: s-1a2b/refactor-cli
    if n > 64:  # long values: the C-speed checks below decide; skip the per-character loops
        if _LONG_RUN.search(value):
            return False
    elif _longest_run(value) >= max(5, n // 4) or _longest_sequence(value) >= 6:
        return False
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    if classes < 2:
        return False
    floor = 2.4 if n < 12 else 2.8 if n < 20 else 3.2
    return shannon(value) >= floor
