"""Does a value read as a name, a constant or a data blob rather than a generated credential?

Code is full of long strings that pass an entropy test: class and module paths
(`rust_openssl.x25519.X25519PublicKey`), encoding and cipher names (`cspc850multilingual`,
`PBKDF2WithHMAC-SHA1AndDES-EDE3-CBC`), URL paths, hex constants, alphabets, embedded images. Each
test here looks at what such a value is made of, not at which value it is:

- `reads_as_name`: split at separators, every long segment reads as words under a letter-bigram
  model of words in code (`_bigrams.py`, built by `bench/word_model.py`); random characters of any
  documented token alphabet almost never do (< 0.15 % of 16+ characters, measured on generated
  base62/base64url/base36/base32 tokens in tests/test_security_words.py);
- `is_hex_constant`: hex digits of one case only (a digest, an address, a curve parameter): a
  constant unless a secret's name holds it;
- `is_alphabet`: every character distinct over 24+ characters (`qpzry9x8gf2tvdw0...`): a charset;
  a random token that long repeats a character with probability > 99 %;
- `is_data_blob`: base64 that starts with a file format's magic number (PNG, fonts, PDF, zip, ...);
- `is_mangled_name`: a C++ symbol in the Itanium ABI's mangling (`_ZN10__gnu_norm15_List...`),
  whose names carry their own lengths: a linker's symbol, not a key.
"""

from __future__ import annotations

import re

from engine.security._bigrams import STEP, SYMBOLS, TABLE

_INDEX = {c: i for i, c in enumerate(SYMBOLS)}
# Parts of a name: a word (capitalised or not), an all-caps run, a number, anything else.
_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[^A-Za-z0-9]+")
_SEGMENTS = re.compile(r"::|[._/:~\-]+")
_HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F]+")
# Mean -log2 p per letter transition above which letters stop reading as words: random letters
# score ~5.5-6 bits, words in code ~3; chosen on generated tokens (false "name" < 0.15 % at 16+
# characters) and half A of the clean corpus, never on the dev set.
_MAX_BITS = 4.4
_SHORT = 5  # a segment this short (`rfc`, `en-us`, `x448`) neither makes nor breaks a name
_TAG = re.compile(r"[A-Za-z]{1,4}[0-9]{1,5}[A-Za-z]?")  # nor does `rfc5280`, `ed25519`, `win32`
# base64 of file magic numbers: PNG, GIF, JPEG, TrueType, OpenType, WOFF/WOFF2, PDF, zip, gzip,
# `<?xml`, `<svg`.
_MAGIC = ("iVBORw0KGgo", "R0lGOD", "/9j/", "AAEAAA", "T1RUTw", "d09GR", "d09GMg", "JVBERi0",
          "UEsDB", "H4sI", "PD94bWwg", "PHN2Zy")  # fmt: skip


def _bits(word: str) -> tuple[float, int]:
    """-log2 p of a lower-case word under the bigram model (with start and end), transitions."""
    prev = 0
    total = 0
    for ch in word:
        nxt = _INDEX.get(ch)
        if nxt is None:
            return float("inf"), 1
        total += ord(TABLE[prev * 27 + nxt - 1]) - 48
        prev = nxt
    total += ord(TABLE[prev * 27 + 26]) - 48
    return total / STEP, len(word) + 1


def _segment_is_name(segment: str) -> bool:
    """Words, acronyms and short numbers (`X25519PublicKey`, `multilingual`), not random."""
    parts = _PARTS.findall(segment)
    if len(parts) * 3 > len(segment):
        return False  # random text changes character class every ~2 characters
    bits = 0.0
    steps = letters = digits = 0
    for part in parts:
        if part[0].isdigit():
            digits += len(part)
            if len(part) > 5:
                return False
        elif part[0].isalpha() and len(part) > 1 and not (part.isupper() and len(part) <= 6):
            b, n = _bits(part.lower())
            bits += b
            steps += n
            letters += len(part)
    if letters < 5 or digits * 5 > len(segment) * 2:
        return False
    return bits / steps <= _MAX_BITS


def is_plain_word(value: str) -> bool:
    """One lower-case word that reads as language (`tiger`, `wonderland`): the password of a
    documentation example (`scott:tiger`), not a chosen or generated one. Letters only, so
    `s3cr3t`, `Tiger7` or `xkcdqzpt` stay passwords."""
    return 5 <= len(value) <= 12 and value.isalpha() and value.islower() and _segment_is_name(value)


def reads_as_name(value: str) -> bool:
    """A code reference, an identifier, a path or a format name made of words."""
    if is_hex_constant(value):
        return False
    named = 0
    for segment in _SEGMENTS.split(value):
        if len(segment) <= _SHORT or _TAG.fullmatch(segment):
            continue
        if _segment_is_name(segment):
            named += 1
        elif "/" in value and _HEX.fullmatch(segment):
            continue  # a commit or digest inside a URL path (`.../blob/<sha>/...`)
        else:
            return False
    return named > 0


def is_hex_constant(value: str) -> bool:
    """Hex digits of one case only, `0x` allowed: a digest, address or numeric constant. (Mixed
    case is no encoding of a number: `6d2FabeB...` is a token in a hex-looking alphabet.)"""
    if _HEX.fullmatch(value) is None or value.isdigit():
        return False
    return value[:2] in ("0x", "0X") or value.islower() or value.isupper() or value.isdigit()


def is_alphabet(value: str) -> bool:
    """24+ characters, none repeated: an alphabet or charset written out."""
    return len(value) >= 24 and len(set(value)) == len(value)


_PROSE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ,.'!?-")


def is_encoded_text(value: str) -> bool:
    """base64 (or base64url) of words with spaces (`VGhpcyBpcyB0aGUgd2F5` = `This is the way`):
    encoded prose, not a key. A random key decodes to random bytes; an encoded `user:password`
    has no space, so it stays a credential."""
    import base64
    import binascii

    body = value.rstrip("=")
    if len(body) < 16 or len(body) % 4 == 1:
        return False
    try:
        raw = base64.b64decode(body.replace("-", "+").replace("_", "/") + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return False
    return b" " in raw and sum(c in _PROSE for c in raw) * 10 >= len(raw) * 9


def is_data_blob(value: str) -> bool:
    """base64 of a file (an image, a font, an archive) embedded in code."""
    return value.startswith(_MAGIC)


_LENGTH = re.compile(r"[1-9][0-9]{0,2}")


def is_mangled_name(value: str) -> bool:
    """`_Z` then two or more source names written as <length><identifier> (Itanium C++ ABI,
    "Mangling"), covering at least 40 % of the value.

    On the 5,563 symbols of libstdc++'s symbol list this holds for 85 %; on random base64url
    strings that happen to start with `_Z` for 18 %. Only 1 in 4,096 base64url tokens (and no
    hex, base62 or base32 one) starts with `_Z`, so the recall it can cost is under 0.005 %."""
    if not value.startswith("_Z") or len(value) < 8:
        return False
    covered = names = 0
    i, size = 2, len(value)
    while i < size:
        m = _LENGTH.match(value, i)
        if m is None:
            i += 1
            continue
        n, name_at = int(m.group()), m.end()
        name = value[name_at : name_at + n]
        if (
            n >= 2
            and len(name) == n
            and (name[0].isalpha() or name[0] == "_")
            and (name.replace("_", "a").isalnum())
        ):
            covered += n
            names += 1
            i = name_at + n
        else:
            i = name_at
    return names >= 2 and covered >= 0.4 * size
