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
_PERCENT_VARIABLE = re.compile(r"%(?:[A-Za-z_][\w.\-]*%|\(|[sdrxi](?![A-Za-z0-9]))")
_TEMPLATE_START = ("$", "#{", "@", "{{", "<", "&", "*", "~/", "/", "./", "../", "\\")
_CODE_REF = re.compile(r"[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)+|[A-Za-z_]\w*\(\)?")
_WORDS = re.compile(r"(?:[A-Za-z][a-z]+|[A-Z]+|[a-z]+)(?:[_\-. ]+(?:[A-Za-z][a-z]*|[A-Z]+))*")
_CAMEL = re.compile(r"[a-z]+(?:[A-Z][a-z]+)*|(?:[A-Z][a-z]+)+|[A-Z]+|[a-z]+")
_MEMBER_SEP = re.compile(r"\.|::|->")
_VERSIONISH = re.compile(r"[\d.\-:/+_ ]+|v?\d+(?:\.\d+){1,3}(?:[\-+.][A-Za-z0-9]{1,12}){0,3}")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+\.[\w.\-]+")
# Shapes that formats define as public: a host and port (`localhost:8000`), an ISO 8601 date or
# time (`2002-04-18T16:56:53Z`), colon-separated hex bytes (an X.509 key id, serial or
# fingerprint as `openssl x509 -text` prints it).
_PUBLIC_SHAPE = re.compile(
    r"(?:localhost|[\w\-]+(?:\.[\w\-]+)+|\[[0-9a-fA-F:]+\]):\d{1,5}"
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+\-]\d{2}:?\d{2})?)?"
    r"|[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){7,}"
    # a file's path with a lower-case extension (`src/crypto_pwhash/.../crypto_scrypt.h`): base64
    # has no `.`, a JWT's base64url no `/`
    r"|[\w.\-]*(?:/[\w.\-]+)*/[\w\-]*[A-Za-z][\w\-]*\.[a-z][a-z0-9]{0,4}"
)
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
    if _PERCENT_VARIABLE.match(value):
        return True  # `%APPDATA%`, `%(password)s`, `%s`; a password may still start with `%`
    if any(word in low for word in _PLACEHOLDER_WORDS):
        return True
    if any(word in low for word in _WEAK_WORDS):
        run = _RANDOM_RUN.search(value)
        if run is None or not _mixed(run.group()):
            return True
    return len(set(low)) <= 3 or is_stand_in(value)


# A vendor prefix: a short word (or two) and a separator before the generated part (`sk_live_`,
# `glpat-`, `SG.`, `dp.pt.`). Stand-in checks look at what follows it.
_PREFIX = re.compile(r"(?:[A-Za-z][a-z]{0,9}[_\-.]|[A-Z]{2,6}[_\-.]){1,3}")
# Words that make a value a stand-in wherever they sit in its body.
_STAND_IN_WORDS = (
    "example", "sample", "dummy", "fake", "test", "placeholder", "your", "redacted", "changeme",
    "replace", "insert", "todo", "fixme", "mock", "invalid", "secret", "token", "password",
)  # fmt: skip
_SPECIFIER = re.compile(r"%[sdrx]|%\(\w+\)s|\{\w*\}")
_SEGMENT_SEP = re.compile(r"[\-_.:]+")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{4}")
_ALPHABETS = ((HEX_DIGITS := frozenset("0123456789abcdef"), 16), (frozenset("0123456789"), 10))


def vendor_body(value: str) -> str:
    """`value` without a leading vendor prefix (`sk_live_`, `glpat-`), if it has one."""
    m = _PREFIX.match(value)
    return value[m.end() :] if m and m.end() < len(value) else value


def _periodic(body: str) -> bool:
    """A short unit repeated: `abab...`, `1234567890abcdef1234...` (up to 16 characters)."""
    n = len(body)
    return any(body[p:] == body[:-p] for p in range(1, min(16, n // 2) + 1))


def _alphabet_size(body: str) -> int:
    chars = set(body.lower()) if body.islower() or body.isupper() else set(body)
    for alphabet, size in _ALPHABETS:
        if chars <= alphabet:
            return size
    lower = any(c.islower() for c in body)
    upper = any(c.isupper() for c in body)
    return 26 * (lower + upper) + 10 + (len(chars - set(string_chars)) > 0) * 2


string_chars = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _pronounceable(body: str) -> bool:
    """Letters of one case that read as words (`alphabravodelta`): typed, not generated. Random
    letters hold four consonants in a row within a few characters; words rarely do."""
    low = body.lower()
    if len(low) < 12 or not low.isalpha() or not (body.islower() or body.isupper()):
        return False
    vowels = sum(c in "aeiouy" for c in low)
    return vowels >= len(low) * 0.3 and _CONSONANT_RUN.search(low) is None


def is_stand_in(value: str) -> bool:
    """Shaped like a credential but made up: fill characters, repeated or sequential runs, a
    stand-in word, a format specifier, words, or too little entropy for its length and alphabet.

    These hold for any provider's format: they look at the generated part only (after a vendor
    prefix), whose documented form is random characters of one alphabet."""
    if _SPECIFIER.search(value):
        # `key_%s`, `{}`: a template; unless a random run is left around the `%d` (a password
        # may hold `%` and a letter after it: `Xho9%drnqmupoYYb3Fi`)
        rest = _SPECIFIER.sub("", value)
        if _SPECIFIER.search(rest) or not looks_random(rest, 16):
            return True
    body = vendor_body(value)
    low = body.lower()
    if any(word in low for word in _STAND_IN_WORDS):
        return True
    n = len(body)
    if n < 6:
        return n < len(value) or n < 4  # `ghp_abc`: a prefix and a stub
    core = max(_SEGMENT_SEP.split(body), key=len)  # the generated part of `id-id-random`
    if len(core) < 6:
        core = _SEGMENT_SEP.sub("", body)
    if not core:
        return True
    top = max(core.count(c) for c in set(core))
    if top * 2 > len(core) or len(set(core)) <= 3 or _periodic(core):
        return True
    if _longest_sequence(core) >= 6 or _pronounceable(core):
        return True
    size = min(len(core), _alphabet_size(core))
    return size > 1 and shannon(core) < 0.6 * math.log2(size)


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
    if _VERSIONISH.fullmatch(value) or _EMAIL.fullmatch(value) or _PUBLIC_SHAPE.fullmatch(value):
        return False
    if not allow_uuid and _UUID.fullmatch(value):
        return False
    code_ref = (
        _CODE_REF.fullmatch(value)
        and sum(c.isdigit() for c in value) <= 3
        # `dp.pt.<43 random>`, `ser.<22 random>`: a prefix and a key, not an attribute's name
        and not any(len(part) > 24 or (len(part) >= 16 and looks_random(part, 16))
                    for part in _MEMBER_SEP.split(value))
    )  # fmt: skip
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
    small = small_alphabet_floor(value)
    if small is not None:
        floor = min(floor, small)  # a hex key can't reach a mixed-case one's entropy
    return shannon(value) >= floor


# The 0.1 % quantile of the character entropy of random strings of a small alphabet, for lengths
# 8..64 (`python tools/entropy_floors.py` prints this table): 999 in 1,000 real keys of that
# alphabet reach it. The one floor above is a mixed-case value's; at 20 characters a random hex key
# fell under it one time in five.
_SMALL_ALPHABET_FLOOR = {  # lengths 8-17, 18-27, ... per row
    "hex": (
        1.75, 1.84, 1.85, 2.04, 2.08, 2.20, 2.26, 2.37, 2.47, 2.54,
        2.56, 2.67, 2.71, 2.74, 2.78, 2.84, 2.89, 2.93, 2.97, 2.98,
        3.02, 3.04, 3.08, 3.09, 3.12, 3.15, 3.17, 3.18, 3.20, 3.24,
        3.24, 3.26, 3.28, 3.29, 3.33, 3.34, 3.35, 3.37, 3.38, 3.38,
        3.38, 3.42, 3.42, 3.43, 3.46, 3.46, 3.47, 3.49, 3.49, 3.49,
        3.49, 3.52, 3.51, 3.53, 3.53, 3.54, 3.55,
    ),
    "base36": (
        2.00, 2.20, 2.32, 2.41, 2.58, 2.72, 2.75, 2.87, 2.91, 3.05,
        3.11, 3.16, 3.21, 3.31, 3.36, 3.38, 3.41, 3.46, 3.53, 3.59,
        3.63, 3.66, 3.69, 3.73, 3.78, 3.80, 3.84, 3.84, 3.87, 3.90,
        3.94, 3.95, 3.95, 4.01, 4.04, 4.05, 4.06, 4.09, 4.09, 4.13,
        4.15, 4.17, 4.18, 4.21, 4.22, 4.24, 4.26, 4.25, 4.27, 4.29,
        4.30, 4.31, 4.33, 4.34, 4.35, 4.35, 4.37,
    ),
}  # fmt: skip
_HEX_ONLY = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_BASE36_ONLY = re.compile(r"[0-9a-z]+|[0-9A-Z]+")


def small_alphabet_floor(value: str) -> float | None:
    """The entropy floor for a hex or one-case base36 value of this length, else None."""
    if len(value) < 8:
        return None
    if _HEX_ONLY.fullmatch(value):
        table = _SMALL_ALPHABET_FLOOR["hex"]
    elif _BASE36_ONLY.fullmatch(value):
        table = _SMALL_ALPHABET_FLOOR["base36"]
    else:
        return None
    return table[min(len(value), 64) - 8]
