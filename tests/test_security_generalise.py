"""br:allow-file -- Issue 16, round 3: detectors that read structure, filters that read code.

Each new rule or filter has a positive it must keep and a negative it must drop. Values are
generated here (never real tokens); the fixed clean sample below must give no finding.
"""

from __future__ import annotations

import base64
import random
import string

import pytest

from engine.security import scan_text
from engine.security.config import ScanConfig
from engine.security.generic import find_context_free, in_encoded_block, snowflake_token
from engine.security.masking import redact
from engine.security.words import is_encoded_text

CFG = ScanConfig(sqli=False)
URLSAFE = string.ascii_letters + string.digits + "-_"


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _discord(rng: random.Random) -> str:
    snowflake = str(rng.randint(10**17, 10**19)).encode()
    head = base64.urlsafe_b64encode(snowflake).decode().rstrip("=")
    return f"{head}.{_r(rng, URLSAFE, 6)}.{_r(rng, URLSAFE, 38)}"


def _generic_only() -> ScanConfig:
    """Every provider rule off: the scanner meets these as providers it has never seen."""
    from engine.security.rules import default_rules

    keep = {"private-key", "jwt", "url-credentials", "url-path-credential", "prefixed-token"}
    return ScanConfig(sqli=False, disable=[r.id for r in default_rules().rules if r.id not in keep])


@pytest.mark.parametrize("seed", range(5))
def test_bare_vendor_prefixed_tokens_are_found_without_a_name(seed: int) -> None:
    rng = random.Random(seed)
    values = [
        f"SG.{_r(rng, URLSAFE, 22)}.{_r(rng, URLSAFE, 43)}",
        "hvb." + _r(rng, URLSAFE, 100),
        f"sgp_{_r(rng, '0123456789abcdef', 16)}_{_r(rng, '0123456789abcdef', 40)}",
    ]
    for value in values:
        text = f"oops, pasted {value} into the ticket\n"
        assert scan_text(text, "notes.txt", _generic_only()), value
        assert value not in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "see sha256-3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b here\n",
        "build git-0a1b2c3d4e5f60718293a4b5c6d7e8f901234567 done\n",
        "module foo.bar_baz_quux_with_a_long_name_2 loaded\n",
        "SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
    ],
)
def test_prefixed_shapes_that_are_no_token_stay_quiet(text: str) -> None:
    assert scan_text(text, "notes.txt", CFG) == []


@pytest.mark.parametrize("seed", range(5))
def test_discord_style_signed_id_needs_a_numeric_id(seed: int) -> None:
    rng = random.Random(seed)
    token = _discord(rng)
    assert snowflake_token(token)
    assert list(find_context_free(f"bot: {token}\n")) or list(find_context_free(f"x {token}\n"))
    assert scan_text(f"try {token} now\n", "chat.log", _generic_only()), token
    # same shape, but the first part decodes to letters, not an id
    fake_head = base64.urlsafe_b64encode(b"abcdefghijklmnopqr").decode().rstrip("=")
    assert not snowflake_token(fake_head + token[token.index(".") :])


def test_quoted_typed_password_is_read_whole() -> None:
    text = 'mail:\n  smtp_password: "N{w44mqa\'2si(zY8"\n'
    found = scan_text(text, "config.yaml", _generic_only())
    assert found and found[0].line == 2
    assert "w44mqa" not in redact(text)
    for quiet in (
        'password = "correct horse battery staple"\n',
        'password: "changeme"\n',
        'db_password: "your-password-here"\n',
        'PASSWORD = "hunter2"\n',
    ):
        assert scan_text(quiet, "config.yaml", CFG) == [], quiet


@pytest.mark.parametrize(
    "line",
    [
        "key_class = Ed25519Key\n",
        "def do_keyword(self, pos: int, token: PSKeyword) -> None:\n",
        "GostR3410_94_PublicKey = rfc4357.GostR3410_94_PublicKey\n",
        "password = models.CharField(_('password'), max_length=128)\n",
        "return isinstance(key, i8_types_and_more)\n",
        "def PBKDF2(password, salt, dkLen=16, count=1000, prf=None):\n",
        "__all__ = ['BlitzBasicLexer', 'BlitzMaxLexer', 'MonkeyLexer', 'CbmBasicV2Lexer']\n",
    ],
)
def test_names_and_arguments_in_code_are_not_values(line: str) -> None:
    assert scan_text(line, "module.py", CFG) == []


def test_unquoted_values_still_count_outside_code_and_inside_strings() -> None:
    rng = random.Random(11)
    value = _r(rng, string.ascii_letters + string.digits, 32)
    assert scan_text(f"API_KEY={value}\n", ".env", CFG)
    assert scan_text(f"api_key: {value}\n", "config.yaml", CFG)
    url = f'u = "https://api.service.io/v1/x?apikey={value}"\n'
    assert scan_text(url, "client.py", CFG)
    setter = f'req.Header.Set("X-ServiceApiKey", "{value}")\n'
    assert scan_text(setter, "main.go", CFG)


def test_base64_of_prose_is_not_a_key() -> None:
    prose = base64.b64encode(b"These aren't the droids you're looking for").decode()
    assert is_encoded_text(prose)
    assert scan_text(f"m = Model(base64_str='{prose}')\n", "doc.py", CFG) == []
    # an encoded `client:secret` (no space) stays a credential, as does random data
    assert not is_encoded_text(base64.b64encode(b"s6BhdRkqt3:gX1fBat3bV").decode())
    assert not is_encoded_text(base64.b64encode(random.Random(3).randbytes(24)).decode())


def test_multi_line_base64_block_is_encoded_data_unless_pem() -> None:
    rng = random.Random(5)
    b64 = string.ascii_letters + string.digits + "+/"
    lines = [_r(rng, b64, 76) for _ in range(6)] + [_r(rng, b64, 30) + "=="]
    block = "IMAGE = (\n" + "".join(f'    b"{line}"\n' for line in lines) + ")\n"
    assert scan_text(block, "media.py", CFG) == []
    assert in_encoded_block(block, block.index(lines[2]))
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n"
    assert not in_encoded_block(pem, pem.index(lines[2]))
    single = f'KEY = "{lines[0][:40]}"\n'
    assert not in_encoded_block(single, 8)


@pytest.mark.parametrize(
    "line",
    [
        'action["origin"] = {"element-6066-11e4-a52e-4f735466cecf": origin.id}\n',
        'return {"shadow-6066-11e4-a52e-4f735466cecf": value.id}\n',
    ],
)
def test_uuid_with_a_word_is_an_identifier(line: str) -> None:
    assert scan_text(line, "webdriver.py", CFG) == []


# A fixed sample of clean code, written for this test in the shapes the filters above handle:
# no finding is allowed in it.
CLEAN_SAMPLE = """\
import base64
from cryptography.hazmat.primitives.asymmetric import ed25519

DEFAULT_KEY_TYPE = Ed25519Key
token_types = ['bearer', 'mac', 'basic-auth', 'hmac-sha256', 'rsa-sha512', 'none-at-all']
WS_MAGIC = {"element-6066-11e4-a52e-4f735466cecf": 1}
GREETING = base64.b64decode("VGhpcyBpcyB0aGUgd2F5LCBteSBmcmllbmQ=")


def load(key, compression=100, password_field="password1", token: TokenType = None):
    if isinstance(key, bytes_and_strings):
        key_class = ed25519.Ed25519PrivateKey
    password = models.CharField(max_length=128)
    return key_class, password, token


LOGO = (
    b"iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAGXRFWHRTb2Z0d2FyZQBBZG9iZSBJbWFn"
    b"ccllPAAAAVhJREFUeNqUk01LAlEUhp87M34kZBERRRhBm9ZtWrRp0a5/0K5lP6I/0K5Vi3YtW7hp"
    b"E0QUhIs2Qp8EQYQZKkqm4/yBnzkzM+LYzpv5J8cfZgMMDhNgDgAgPGOAH4BjgFqQ5MBAoA4gBCBB"
    b"gEEDC4OCgoKOgEBAgMDAwQEBQUGBgcHCAgJCQoKCwsMDA0NDg4PDxAQERESEhMTFBQVFRYWFxcY"
    b"GBkZGhobGxwcHR0eHh8fICAhISIiIyMkJCUl=="
)
"""


def test_fixed_clean_sample_has_no_finding() -> None:
    assert [(f.line, f.rule_id) for f in scan_text(CLEAN_SAMPLE, "sample.py", CFG)] == []


# -- round 4: URLs under secret names; a manual's example credentials ----------------------


def test_a_url_under_a_secret_name_is_judged_by_its_parts() -> None:
    rng = random.Random(16)
    token = _r(rng, string.ascii_letters + string.digits, 33)
    quiet = [
        '_OAUTH2_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"\n',
        'token_info_url = "https://sts.example.net/v1/introspect"\n',
        'AUTH_TOKEN_ENDPOINT: "https://login.example.org/oauth2/v2.0/token?api-version=2"\n',
    ]
    for text in quiet:
        assert scan_text(text, "settings.py", CFG) == [], text
    loud = [
        f'BOT_TOKEN_URL = "https://api.telegram.example/bot123456789:{token}/getMe"\n',
        f'api_key_url = "https://api.example.io/v1/data?apikey={token}&fmt=json"\n',
    ]
    for text in loud:
        found = scan_text(text, "settings.py", CFG)
        assert [f.rule_id for f in found] == ["generic-secret"], text
        assert token not in redact(text)


@pytest.mark.parametrize(
    ("url", "flagged"),
    [
        ("postgresql+psycopg2://scott:tiger@localhost/test", False),  # a manual's example
        ("oracle://scott:tiger@hostname:1521/orcl", False),
        ("redis://u:wonderland@cache.example.com:6379", False),
        ("mysql://root:wonderland@10.0.0.3/prod", True),  # a real host: a real password
        ("postgres://app:Tiger7x@localhost/app", True),  # not one plain word
        ("ftp://deploy:nonprod@ftp-enterprise", True),
    ],
)
def test_a_plain_word_password_is_an_example_only_on_an_example_host(
    url: str, flagged: bool
) -> None:
    found = scan_text(f'DB_URL = "{url}"\n', "app.py", CFG)
    assert bool(found) is flagged, found


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("width", [32, 40, 64])
def test_a_hex_key_given_a_name_of_its_own_is_found(seed: int, width: int) -> None:
    rng = random.Random(seed * 100 + width)
    key = _r(rng, "0123456789abcdef", width)
    for line in (f'quasarly: "{key}"\n', f"ZENTRIO_KEYCODE={key}\n", f'  "app_ref": "{key}",\n'):
        found = scan_text(line, "config.yaml", _generic_only())
        assert [f.line for f in found] == [1], line
        assert key not in redact(line)


@pytest.mark.parametrize(
    "line",
    [
        'sha1: "{h}"',  # a digest under a digest's name
        'checksum = "{h}"',
        "commit: {h}",
        '"id": "{h}"',  # an object's own id
        'assert digest("abc") == "{h}"',  # compared, not given to a name
        'hashes = ["{h}", "{h}"]',
        "{h}",  # bare: without a name a digest's width says digest
        'name: "{z}"',  # zero fill
    ],
)
def test_a_hex_digest_or_stand_in_stays_quiet(line: str) -> None:
    rng = random.Random(7)
    text = line.format(h=_r(rng, "0123456789abcdef", 40), z="0" * 40) + "\n"
    assert scan_text(text, "config.yaml", _generic_only()) == []


@pytest.mark.parametrize(
    "name, line",
    [
        ("x.rs", 'const ZENTRIO_API_TOKEN: &str = "{v}";'),  # a declared type before `=`
        ("x.py", 'ZENTRIO_TOKEN: str = "{v}"'),
        ("x.go", 'var zentrioToken string = "{v}"'),
        ("x.ts", 'const zentrioSecret: string = "{v}";'),
        ("web.config", '<add key="ZentrioApiToken" value="{v}" />'),  # .NET appSettings
        ("c.xml", "<zentrioApiKey>{v}</zentrioApiKey>"),  # the element names the value
        # a short non-value read after one keyword hides no keyword after it
        ("x.ts", "new Zentrio({{ username: 'oauth-zq1-1e31a', accessKey: '{v}' }});"),
        ("README.md", "export ZENTRIO_WEBHOOK_URL=https://hooks.zentrio.io/in/{v}"),
    ],
)
def test_values_behind_types_attributes_and_webhooks_are_found(name: str, line: str) -> None:
    value = _r(random.Random(name + line), string.ascii_letters + string.digits, 28)
    text = line.format(v=value) + "\n"
    found = scan_text(text, name, _generic_only())
    assert [f.line for f in found] == [1], text
    assert value not in redact(text)


@pytest.mark.parametrize(
    "name, line",
    [
        ("form.html", '<label for="api_key">CosmosDB API key</label>'),  # a label's text
        ("c.json", '"idempotencyKey": "5f3a2a3b-2ad0-4cf9-aa3f-e291c6856d5b",'),
        ("log.txt", "INFO call ok idempotency_key=844c2c4d-a864-4c83-af25-ecf9fe26b263 status=200"),
        ("models.py", 'cache_key = "c2b3e8a4-1f0d-4d6e-9a7b-3f2e1d0c9b8a"'),
        (".env", "ZENTRIO_PROJECT_ID=e9d84bf0-2276-44f6-a381-447b26d01b28"),  # not a vendor token
        ("winreg.rst", ".. function:: DeleteKeyEx(key, sub_key, access=KEY_WOW64_64KEY)"),
        ("x.py", "# e.g. 'multipart/form-data; boundary=0d8382fcf5f8c3be01ca2e11002d2983'"),
        ("ssl.rst", "    'serialNumber': '01BB6F00122B177F36CAB49CEA8B6B26',"),
    ],
)
def test_record_keys_labels_ids_and_constants_stay_quiet(name: str, line: str) -> None:
    assert scan_text(line + "\n", name, CFG) == []


def test_a_named_hex_in_code_or_beside_a_digest_name_stays_quiet() -> None:
    key = _r(random.Random(11), "0123456789abcdef", 32)
    assert scan_text(f"iv = '{key}'\n", "test_cipher.py", CFG) == []  # a test vector in code
    sbom = f'{{"alg": "SHA-256",\n "content": "{key}{key}"}}\n'
    assert scan_text(sbom, "bom.cyclonedx.json", CFG) == []
    assert [f.line for f in scan_text(f'quasarly: "{key}"\n', "config.yaml", CFG)] == [1]


@pytest.mark.parametrize(
    "name, line",
    [
        ("c.json", '{"credential_type": "x509_cert", "name": "node-7"}'),
        ("a.yaml", "secret_name: db-creds-v2beta1"),  # k8s: the Secret object's name
        ("a.py", 'password_hint = "starts with the team name, 14 chars"'),
        ("a.ts", "const tokenEndpoint = 'oauth2/v2.0/tok3n';"),
        ("s.py", 'REQUEST_CONTEXT_KEY: Final = "aiohttp_jinja2_context"'),  # a name with `http`
    ],
)
def test_names_that_describe_a_credential_and_names_with_http_stay_quiet(
    name: str, line: str
) -> None:
    assert scan_text(line + "\n", name, CFG) == []


@pytest.mark.parametrize("name", ["secret_username", "api_key_base", "tokenValue", "password"])
def test_a_secret_name_ending_in_another_word_still_holds_a_secret(name: str) -> None:
    value = _r(random.Random(name), string.ascii_letters + string.digits, 30)
    text = f'{name} = "{value}"\n'
    assert [f.line for f in scan_text(text, "settings.py", _generic_only())] == [1], text


@pytest.mark.parametrize(
    "name, line, alphabet",
    [
        # a label in notes; hex and UUIDs are keys only under a secret's name
        ("NOTES.md", "Quasarly API token for staging: {v}", "0123456789abcdef"),
        ("notes.txt", "zentrio key in prod = {v}", "uuid"),
        # a short prefix and a dot, then the key: not an attribute path
        ("config.toml", 'environment_key = "ser.{v}"', string.ascii_letters + "27"),
    ],
)
def test_keys_under_labels_and_behind_a_dotted_prefix_are_found(
    name: str, line: str, alphabet: str
) -> None:
    rng = random.Random(line)
    if alphabet == "uuid":
        h = _r(rng, "0123456789abcdef", 32)
        value = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    else:
        value = _r(rng, alphabet, 22)
    text = line.format(v=value) + "\n"
    assert [f.line for f in scan_text(text, name, _generic_only())] == [1], text
    assert value not in redact(text)


@pytest.mark.parametrize(
    "name, line",
    [
        ("NOTES.md", "The API token for staging: see the vault entry ops/staging/api"),
        ("app.py", "secret_key = settings.SECRET_KEY_FOR_SIGNING"),  # an attribute, not a key
        ("app.ts", "const token = this.authService.currentAccessToken;"),
    ],
)
def test_labels_without_a_key_and_attribute_paths_stay_quiet(name: str, line: str) -> None:
    assert scan_text(line + "\n", name, CFG) == []


def test_a_line_of_a_name_and_a_key_is_found_outside_code_only() -> None:
    value = _r(random.Random(3), string.ascii_letters + string.digits, 32)
    assert [f.line for f in scan_text(f"quasarly {value}\n", "notes.txt", _generic_only())] == [1]
    assert value not in redact(f"quasarly {value}\n")
    assert scan_text(f"    quasarly {value}\n", "notes.py", CFG) == []  # code: a statement
    assert scan_text(f"checksum {value}\n", "notes.txt", CFG) == []  # a digest's name
    assert scan_text(f"see quasarly {value}\n", "notes.txt", CFG) == []  # prose, not a pair


def test_a_wheels_record_lists_digests_not_keys() -> None:
    rng = random.Random(5)
    alnum = string.ascii_letters + string.digits
    digest = f"{_r(rng, alnum, 30)}_{_r(rng, alnum, 12)}"  # urlsafe base64 of a sha256
    assert scan_text(f"pkg-1.0.dist-info/WHEEL,sha256={digest},92\n", "RECORD", CFG) == []
    assert [f.line for f in scan_text(f"x,grant={digest},92\n", "RECORD", CFG)] == [1]


@pytest.mark.parametrize(
    "name, line",
    [
        # a keyword inside an attribute's value, then the next attribute: not `name type = value`
        ("api.html", '<a class="mark" href="#x448-key-pairs" id="x448x25519-key-pairs">#</a>'),
        ("help.devhelp2", '<keyword type="macro" name="IS_KEYED" link="xslt-keys.html#IS_KEYED"/>'),
        ("http2.md", "  ':authority': 'localhost:8443',"),  # a host and port
        ("saml.xml", '<Statement AuthenticationInstant="2019-07-03T11:42:09Z" Method="x">'),
        ("ca.pem", "    keyid:3A:91:5C:0E:77:B2:48:D1:9F:06:AA:13:C4:5E:80:2B:71:D9:E6:0C"),
        (
            "sig.xml",
            "<dsig:SignatureValue>kR8vQ2mZx4Lp7Wn0Tb3Yc6Hs9Jd1Fg5Ua2Ve8Xi4Ok7Ql0Rz</dsig:SignatureValue>",
        ),
        ("https.md", "const pubkey256 = 'Q4mZk8Lp2Wn7Tb0Yc3Hs6Jd9Fg1Ua5Ve2Xi8Ok4Ql7R=';"),
        (
            "README.md",
            "gpg --keyserver hkps://k.example --recv-keys 7C41A9E05B3D28F6C1E94A0D27B58F3E6A19C402",
        ),
        ("copyright", "Files: src/lib/crypto_kdf/blake2b512ref/kdf_blake2b_ref.c"),
        ("RECORD", "pkg/core/ed448.py,sha256=qWeR-t5Yu1Io9Pa3Sd7Fg2Hj6Kl0Zx4Cv8Bn3Mq7We1Rt,5920"),
        (
            "perms.html",
            '<span class="s">"sha384-Vb7Nm2Qw9Er4Ty6Ui1Op3As8Df5Gh0Jk2Lz7Xc4Vb9Nm1Qw6Er3"</span>',
        ),
        ("libfoo.map", "    _ZN7example12StreamBuffer9readChunkEPcm;"),
        ("leak.supp", "   fun:_ZN2v88internal9Execution4CallEPNS0_7IsolateE"),
    ],
)
def test_public_shapes_formats_define_stay_quiet(name: str, line: str) -> None:
    assert scan_text(line + "\n", name, CFG) == []


def test_a_private_key_after_a_public_one_on_its_line_is_found() -> None:
    line = "DEBUG client using public_key=vkmq private_key=0b61d7e2-95c4-4f1a-8e3b-7a2c9d40f5e6\n"
    assert [f.line for f in scan_text(line, "app.log", _generic_only())] == [1]


def test_mangled_names_are_told_from_random_tokens_starting_with_z() -> None:
    from engine.security.words import is_mangled_name

    assert is_mangled_name("_ZNSt6vectorIiSaIiEE9push_backERKi")
    assert is_mangled_name("_ZN4core3ptr13drop_in_place17h0123456789abcdefE")  # Rust, legacy
    rng = random.Random(1)
    randoms = ["_Z" + _r(rng, URLSAFE, rng.randint(20, 60)) for _ in range(2000)]
    # 1 in 4,096 base64url tokens starts with `_Z`; of those, under a quarter pass as mangled
    assert sum(map(is_mangled_name, randoms)) < 0.25 * len(randoms)


LOWER_DIGITS = string.ascii_lowercase + string.digits


@pytest.mark.parametrize(
    "name, text, alphabet",
    [
        ("notify.sh", "curl -X POST https://chat.quasarly.io/hooks/{v} -d @msg.json", LOWER_DIGITS),
        (
            "README.md",
            "Trigger: https://maker.quasarly.com/trigger/deploy/with/key/{v}",
            LOWER_DIGITS,
        ),
        ("props.xml", '<entry key="quasarly.api.token">{v}</entry>', LOWER_DIGITS),
        # no digit: not random enough to count without its name, which is a line above
        (
            "variables.tf",
            'variable "quasarly_token" {{\n  default = "{v}"\n}}',
            string.ascii_letters,
        ),
    ],
)
def test_keys_in_webhook_paths_keyed_elements_and_variable_defaults_are_found(
    name: str, text: str, alphabet: str
) -> None:
    value = _r(random.Random(name), alphabet, 26)
    text = text.format(v=value) + "\n"
    found = scan_text(text, name, _generic_only())
    assert found and all(value in text.splitlines()[f.line - 1] for f in found), text
    assert value not in redact(text)


@pytest.mark.parametrize(
    "name, text",
    [
        ("hooks.md", "Set the URL to https://git.quasarly.io/hooks/post-receive-handler"),
        ("api.md", "GET https://api.quasarly.io/v1/keys/{key_id}"),
        ("variables.tf", 'variable "token_type" {\n  default = "kRvQmZxLpWnTb"\n}'),
        ("variables.tf", 'variable "quasarly_token" {\n  default = "${var.vault_token}"\n}'),
    ],
)
def test_named_url_segments_and_defaults_that_are_no_key_stay_quiet(name: str, text: str) -> None:
    assert scan_text(text + "\n", name, CFG) == []


@pytest.mark.parametrize("width", [12, 16, 20, 24])
def test_hex_keys_of_any_width_reach_their_own_alphabets_floor(width: int) -> None:
    """At 20 characters a random hex key fell under the mixed-case floor one time in five."""
    rng = random.Random(width)
    keys = [_r(rng, "0123456789abcdef", width) for _ in range(200)]
    text = "".join(f"QUASARLY_API_KEY_{i}={k}\n" for i, k in enumerate(keys))
    lines = {f.line for f in scan_text(text, ".env", _generic_only())}
    assert len(lines) >= 0.97 * len(keys)


@pytest.mark.parametrize(
    "value", ["deadbeefdeadbeef", "0a0a0a0a0a0a0a0a0a0a", "abab1212abab1212abab"]
)
def test_patterned_hex_stays_under_the_floor(value: str) -> None:
    assert scan_text(f"QUASARLY_API_KEY={value}\n", ".env", CFG) == []


def test_an_env_line_assigning_a_uuid_is_not_a_name_and_a_key() -> None:
    assert (
        scan_text(
            "ENV TRACKER_WORKSPACE_ID=3680EDC6-0EE1-46AC-B6F5-08F57AC312CF\n", "Dockerfile", CFG
        )
        == []
    )


@pytest.mark.parametrize(
    "password", ["Xho9%drnqmupoYYb3Fi*oNuBP", "%KI7A0HyFg*1DWin#^7r-AtN", "q8Z%sLm2Wx7Tb4Yc9Hs"]
)
def test_a_password_holding_a_percent_sign_is_still_a_password(password: str) -> None:
    text = f"DATABASE_URL=postgres://api:{password}@db-2.quasarly.net:5432/app\n"
    assert [f.line for f in scan_text(text, ".env", _generic_only())] == [1]
    assert password not in redact(text)


@pytest.mark.parametrize("stand_in", ["%(password)s", "%DB_PASSWORD%", "%s", "key_%s"])
def test_percent_templates_stay_quiet(stand_in: str) -> None:
    text = f'DATABASE_URL="postgres://api:{stand_in}@db-2.quasarly.net:5432/app"\n'
    assert scan_text(text, ".env", CFG) == []


HEX64 = _r(random.Random("hex64"), "0123456789abcdef", 64)


@pytest.mark.parametrize(
    "line",
    [
        f"SESSION_HASH_KEY={HEX64}",  # a digest's word inside the name, a secret's word last
        f"HMAC_SHA256_SECRET={HEX64}",
        f"HASHIDS_SALT={HEX64[:32]}",
        f"MAVEN_GPG_PASSPHRASE={HEX64[:40]}",
        "ALERT_WEBHOOK_ENDPOINT=https://events.quasarly.io/integration/3f9a2b7c8d1e4f5a6b7c8d9e/x",
        "secret_ref: 9fKq2LmZ8xTr4VbN7wQe1YhC",  # a describing name, a random value all the same
        "see `https://chat.quasarly.io/hooks/xoa8z3nb7jfg5p9ws4kdr6tq1c` for alerts",
        "at https://chat.quasarly.io/hooks/xoa8z3nb7jfg5p9ws4kdr6tq1c.",
        'api_secret = "hT9/q2LmZ8xTr4VbN7w.Qe1Y"',  # `/` and `.` in a secret: no file's path
    ],
)
def test_secrets_near_digest_words_describing_names_and_path_shapes_are_still_found(
    line: str,
) -> None:
    text = line + "\n"
    assert [f.line for f in scan_text(text, ".env", _generic_only())] == [1], text
    assert redact(text) != text


def test_a_name_and_key_line_ending_in_crlf_is_found() -> None:
    value = _r(random.Random(9), string.ascii_letters + string.digits, 28)
    text = f"quasarly {value}\r\nother 1\r\n"
    assert [f.line for f in scan_text(text, "notes.txt", _generic_only())] == [1]
    assert value not in redact(text)


def test_masking_a_long_line_of_hex_values_under_keys_stays_linear() -> None:
    """Each hex value once searched its whole line for a digest's name: 200 kB took 52 s."""
    line = "".join(f'{{"key":"{HEX64[i % 32 :][:32]}","n":{i}}},' for i in range(4000))
    calls = 0
    import engine.security.generic as generic

    real = generic._KEY_COMMAND

    class Counting:
        def search(self, text: str, lo: int, hi: int):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += hi - lo
            return real.search(text, lo, hi)

    generic._KEY_COMMAND = Counting()  # type: ignore[assignment]
    try:
        redact(line + "\n")
    finally:
        generic._KEY_COMMAND = real
    assert calls <= 60 * 4000  # characters looked at: bounded per value, not per line


def test_thousands_of_findings_in_one_file_keep_their_lines_and_columns() -> None:
    rng = random.Random(21)
    alnum = string.ascii_letters + string.digits
    text = "".join(f"quasarly {_r(rng, alnum, 30)}\n" for _ in range(3000))
    found = scan_text(text, "keys.txt", _generic_only())
    lines = text.splitlines()
    assert len(found) >= 2940  # a random draw falls under the no-name bar one time in 200
    assert [f.line for f in found] == sorted({f.line for f in found})
    for f in found:
        assert f.column == 10 and lines[f.line - 1][9:13] == f.match[:4]


@pytest.mark.parametrize(
    "name, line",
    [
        ("setup.sh", 'curl "https://api.quasarly.io/v1/lookup?secret=f8z&q=berlin"'),  # one param
        ("esql.py", 'row(uri="http://u@www.quasarly.io/foo.gif?key1=val1&key2=val2#fragment")'),
        ("notes.txt", "onepassword id = '80aa6aaa-8d58-463a-b0c5-232b60e13198'"),  # not a type
    ],
)
def test_query_parameters_and_ids_after_a_word_stay_quiet(name: str, line: str) -> None:
    assert scan_text(line + "\n", name, CFG) == []


@pytest.mark.parametrize(
    "name, line",
    [
        ("setup.sh", 'curl "https://api.quasarly.io/v1/lookup?apikey={v}&q=berlin"'),
        ("main.go", 'var zentrioToken string = "{v}"'),
        ("app.js", "const hookUrl = 'https://hook.eu1.quasarly.com/{v}';"),  # a hook host
    ],
)
def test_query_keys_go_strings_and_hook_hosts_are_found(name: str, line: str) -> None:
    value = _r(random.Random(line), string.ascii_lowercase + string.digits, 32)
    text = line.format(v=value) + "\n"
    assert [f.line for f in scan_text(text, name, _generic_only())] == [1], text
    assert value not in redact(text)
