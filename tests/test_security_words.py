"""br:allow-file -- Names, constants and data blobs read as such; generated tokens never do.

The word model must not excuse a credential: tokens drawn from every documented token alphabet
(base62, base64url, base36, base32, letters) read as a name well under 1 % of the time, and the
names code is full of (class paths, cipher and encoding names, URL paths) do.
"""

from __future__ import annotations

import random
import string

import pytest

from engine.security import scan_text
from engine.security.checksums import jwt_header_ok
from engine.security.config import ScanConfig
from engine.security.words import is_alphabet, is_data_blob, is_hex_constant, reads_as_name

CFG = ScanConfig(sqli=False)
B62 = string.digits + string.ascii_letters
ALPHABETS = {
    "base62": B62,
    "base64url": B62 + "-_",
    "base64": B62 + "+/",
    "base36": string.digits + string.ascii_lowercase,
    "base36-upper": string.digits + string.ascii_uppercase,
    "base32": string.ascii_uppercase + "234567",
    "letters": string.ascii_letters,
}


@pytest.mark.parametrize("alphabet", sorted(ALPHABETS))
@pytest.mark.parametrize("length", [16, 24, 40])
def test_generated_tokens_do_not_read_as_names(alphabet: str, length: int) -> None:
    rng = random.Random(f"{alphabet}-{length}")
    chars = ALPHABETS[alphabet]
    named = sum(
        reads_as_name("".join(rng.choice(chars) for _ in range(length))) for _ in range(2000)
    )
    assert named / 2000 < 0.005


@pytest.mark.parametrize(
    "value",
    [
        "rust_openssl.x25519.X25519PublicKey",
        "rfc5280.SubjectPublicKeyInfo",
        "cspc850multilingual",
        "PROCESSOR_ARCHITEW6432",
        "en-us/windows/win32/shell/knownfolderid",
        "python-trio/trio/blob/20ee2b1b7376db637435d80e266212a35837ddcc/trio/_socket",
        "HTTP11Connection",
    ],
)
def test_names_read_as_names(value: str) -> None:
    assert reads_as_name(value)


def test_hex_alphabet_and_blob_shapes() -> None:
    assert is_hex_constant("0x8CB91E82A3386D280F5D6F7E50E641DF")
    assert is_hex_constant("a4337bc45a8fc544c03f52dc550cd6e1e87021bc")
    assert not is_hex_constant("6d2FabeB6ADd229Bc199FabA28fD3efb57dF0bD3")  # mixed case: a token
    assert not is_hex_constant("1234567890")
    assert is_alphabet("qpzry9x8gf2tvdw0s3jn54khce6mua7l")
    assert not is_alphabet("qpzry9x8gf2tvdw0s3jn54khce6mua7q")
    assert is_data_blob("iVBORw0KGgoAAAANSUhEUgAAAx4AAAAUAQAAAAArMtZo")
    assert not is_data_blob("kX9aQ2mZ7rT4vB1nL8pW3sY6")


@pytest.mark.parametrize(
    "line",
    [
        "P256_CURVE_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b\n",
        "token = b64encode(userpass).decode()\n",
        "pack_signature = 0x5041434b\n",
        "self._keys: dict[AnimationKey, Animation] = {}\n",
        "'cspc850multilingual': 'cp850',\n",
        "B58 = 'rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz'\n",
        'uname = "5.10.81-android12-9-00001-geba40aecb3b7-ab8534902"\n',
        '{"id": "toolu_01D7FLrfh4GYq7yT1ULFeyMV", "type": "tool_use"}\n',
        "x = _OID(1, 2)  # token\npkcs_9_at_userPKCS12 = _OID(2, 16, 840)\n",
    ],
)
def test_code_shapes_stay_quiet(line: str) -> None:
    assert scan_text(line, "lib.py", CFG) == []


@pytest.mark.parametrize(
    "line",
    [
        'sourcegraph: "6d2FabeB6ADd229Bc199FabA28fD3efb57dF0bD3"\n',  # mixed-case hex alphabet
        "secret = 0xc8f12fb8b20008e14b5a5ff4bad15af9b545d98144da8707892dcc2a2014ba58\n",
        "api_key = 'Xq7vR2mK9pL4wT8nB3cF6hJ1'\n",
    ],
)
def test_secrets_still_found(line: str) -> None:
    assert scan_text(line, "settings.py", CFG), line


def test_jwt_header_names_its_algorithm() -> None:
    signed = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiI0MiIsImFkbWluIjp0cnVlfQ."
    assert jwt_header_ok(signed) and jwt_header_ok(unsigned)
    assert not jwt_header_ok("eyJmb28iOiJiYXIifQ.eyJzdWIiOiI0MiJ9.c2ln")  # no alg
    assert not jwt_header_ok("eyJ!!!.e30.x")
    assert scan_text(f"ID_TOKEN={unsigned}\n", ".env", ScanConfig(sqli=False, disable=[]))
