"""Checksums that providers build into their tokens: a valid one makes a hit certain.

GitHub's tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`: "Behind GitHub's new authentication token
formats", 2021) and npm's (`npm_`, the same format since 2021) are a 4-character prefix, 30 random
base62 characters and 6 more holding the CRC32 of those 30, in base62 (0-9, A-Z, a-z), left-padded
with `0`. A made-up token passes by chance once in 62**6 (~57 billion), so a pass is proof; a
failure is only weaker evidence (test data is full of hand-typed tokens without one).
"""

from __future__ import annotations

from binascii import crc32

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGIT = {c: i for i, c in enumerate(BASE62)}


def base62(number: int, width: int) -> str:
    """`number` in base62, left-padded with `0` to `width` characters."""
    out = []
    while number:
        number, digit = divmod(number, 62)
        out.append(BASE62[digit])
    return "".join(reversed(out)).rjust(width, "0")


def crc32_base62_ok(token: str, prefix_len: int = 4, random_len: int = 30) -> bool:
    """True when `token` = prefix + `random_len` base62 + base62(CRC32(random part), 6)."""
    if len(token) != prefix_len + random_len + 6:
        return False
    body = token[prefix_len : prefix_len + random_len]
    tail = token[prefix_len + random_len :]
    if not all(c in _DIGIT for c in body + tail):
        return False
    return base62(crc32(body.encode("ascii")), 6) == tail


def jwt_header_ok(token: str) -> bool:
    """True when the first part of a JWT is base64url JSON naming its algorithm (RFC 7515 4.1.1:
    `alg` is required): a real token's structure, which a stand-in pasted from docs rarely has."""
    import base64
    import json

    head = token.split(".", 1)[0]
    try:
        data = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("alg"), str)


#: checksum name in rules.toml -> the check; a rule's `checksum` must name one of these.
CHECKS = {"crc32-base62": crc32_base62_ok, "jwt-header": jwt_header_ok}
