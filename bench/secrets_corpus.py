"""br:allow-file -- Labelled secret cases of our own: positives from providers' documented token
formats, negatives from the ways code and docs show a credential without holding one.

Every token is generated here from the provider's published format (prefix, length, alphabet,
checksum), never taken from another scanner's rules or test data. Each positive belongs to one
provider, so a leave-provider-out estimate can score a provider with its named rule switched off:
what the scanner finds then is what it would find for a provider it has never seen.

    python bench/secrets_corpus.py > cases.jsonl     # the same cases every run (fixed seed)
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import string
import sys
import uuid

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
HEX = "0123456789abcdef"
B64 = string.ascii_letters + string.digits + "+/"
URLSAFE = string.ascii_letters + string.digits + "-_"
B32 = string.ascii_uppercase + "234567"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _crc_token(rng: random.Random, prefix: str) -> str:
    from engine.security.checksums import base62

    body = _r(rng, B62, 30)
    return prefix + body + base62(binascii.crc32(body.encode()), 6)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(rng: random.Random) -> str:
    head = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    sub = rng.randint(10**8, 10**10)
    body = _b64url(json.dumps({"sub": str(sub), "iat": 1700000000 + sub % 10**6}).encode())
    return f"{head}.{body}.{_r(rng, URLSAFE, 43)}"


def _jwt_unsigned(rng: random.Random) -> str:
    """RFC 7519 6.1: an unsecured JWT, `alg: none`, empty signature."""
    head = _b64url(b'{"alg":"none"}')
    body = _b64url(json.dumps({"sub": _r(rng, HEX, 12), "admin": True}).encode())
    return f"{head}.{body}."


def _discord(rng: random.Random) -> str:
    snowflake = str(rng.randint(10**17, 10**18))
    return f"{_b64url(snowflake.encode())}.{_r(rng, URLSAFE, 6)}.{_r(rng, URLSAFE, 38)}"


# provider -> (named rule that covers it or "", env-style name, generator). Formats as each
# provider documents them (token prefixes, lengths and alphabets in their API docs/blogs).
PROVIDERS: dict[str, tuple[str, str, object]] = {
    "github": ("github-token", "GITHUB_TOKEN", lambda g: _crc_token(g, "ghp_")),
    "github-oauth": ("github-token", "GH_OAUTH_TOKEN", lambda g: _crc_token(g, "gho_")),
    "github-fine": (
        "github-token",
        "GITHUB_PAT",
        lambda g: f"github_pat_{_r(g, B62, 22)}_{_r(g, B62, 59)}",
    ),
    "npm": ("npm-token", "NPM_TOKEN", lambda g: _crc_token(g, "npm_")),
    "gitlab": ("gitlab-token", "GITLAB_TOKEN", lambda g: "glpat-" + _r(g, URLSAFE, 20)),
    "aws": ("aws-access-key-id", "AWS_ACCESS_KEY_ID", lambda g: "AKIA" + _r(g, B32, 16)),
    "slack": (
        "slack-token",
        "SLACK_BOT_TOKEN",
        lambda g: f"xoxb-{_r(g, string.digits, 12)}-{_r(g, string.digits, 13)}-{_r(g, B62, 24)}",
    ),
    "stripe": ("stripe-key", "STRIPE_SECRET_KEY", lambda g: "sk_live_" + _r(g, B62, 99)),
    "anthropic": (
        "anthropic-api-key",
        "ANTHROPIC_API_KEY",
        lambda g: "sk-ant-api03-" + _r(g, URLSAFE, 93) + "AA",
    ),
    "google": ("google-api-key", "GOOGLE_API_KEY", lambda g: "AIza" + _r(g, URLSAFE, 35)),
    "twilio": ("twilio-api-key", "TWILIO_API_KEY", lambda g: "SK" + _r(g, HEX, 32)),
    "sendgrid": (
        "sendgrid-api-key",
        "SENDGRID_API_KEY",
        lambda g: f"SG.{_r(g, URLSAFE, 22)}.{_r(g, URLSAFE, 43)}",
    ),
    "huggingface": (
        "huggingface-token",
        "HF_TOKEN",
        lambda g: "hf_" + _r(g, string.ascii_letters, 34),
    ),
    "shopify": ("shopify-token", "SHOPIFY_ACCESS_TOKEN", lambda g: "shpat_" + _r(g, HEX, 32)),
    "digitalocean": ("digitalocean-token", "DO_TOKEN", lambda g: "dop_v1_" + _r(g, HEX, 64)),
    "databricks": ("databricks-token", "DATABRICKS_TOKEN", lambda g: "dapi" + _r(g, HEX, 32)),
    "linear": ("linear-api-key", "LINEAR_API_KEY", lambda g: "lin_api_" + _r(g, B62, 40)),
    "doppler": ("doppler-token", "DOPPLER_TOKEN", lambda g: "dp.pt." + _r(g, B62, 43)),
    "telegram": (
        "telegram-bot-token",
        "TELEGRAM_BOT_TOKEN",
        lambda g: f"{g.randint(10**8, 10**10)}:AA{_r(g, URLSAFE, 33)}",
    ),
    "discord": ("discord-token", "DISCORD_BOT_TOKEN", _discord),
    "jwt": ("jwt", "SESSION_JWT", _jwt),
    "jwt-unsigned": ("jwt", "ID_TOKEN", _jwt_unsigned),
    "facebook": ("facebook-access-token", "FB_ACCESS_TOKEN", lambda g: "EAAG" + _r(g, B62, 160)),
    "age": ("age-secret-key", "AGE_KEY", lambda g: "AGE-SECRET-KEY-1" + _r(g, BECH32, 58).upper()),
    "postman": (
        "postman-api-key",
        "POSTMAN_API_KEY",
        lambda g: f"PMAK-{_r(g, HEX, 24)}-{_r(g, HEX, 34)}",
    ),
    "newrelic": (
        "newrelic-key",
        "NEW_RELIC_API_KEY",
        lambda g: "NRAK-" + _r(g, B32[:26] + "0123456789", 27),
    ),
    # providers with no named rule: only the generic detectors can find these
    "sentry": ("", "SENTRY_AUTH_TOKEN", lambda g: "sntryu_" + _r(g, HEX, 64)),
    "planetscale": ("", "PLANETSCALE_TOKEN", lambda g: "pscale_tkn_" + _r(g, URLSAFE, 43)),
    "supabase": ("", "SUPABASE_ACCESS_TOKEN", lambda g: "sbp_" + _r(g, HEX, 40)),
    "render": ("", "RENDER_API_KEY", lambda g: "rnd_" + _r(g, B62, 32)),
    "netlify": ("", "NETLIFY_AUTH_TOKEN", lambda g: "nfp_" + _r(g, B62, 36)),
    "buildkite": ("", "BUILDKITE_API_TOKEN", lambda g: "bkua_" + _r(g, HEX, 40)),
    "pulumi": ("", "PULUMI_ACCESS_TOKEN", lambda g: "pul-" + _r(g, HEX, 40)),
    "airtable": ("", "AIRTABLE_TOKEN", lambda g: f"pat{_r(g, B62, 14)}.{_r(g, HEX, 64)}"),
    "figma": ("", "FIGMA_TOKEN", lambda g: "figd_" + _r(g, URLSAFE, 40)),
    "tailscale": (
        "",
        "TS_AUTHKEY",
        lambda g: f"tskey-auth-{_r(g, B62, 12)}CNTRL-{_r(g, B62, 33)}",
    ),
    "resend": ("", "RESEND_API_KEY", lambda g: f"re_{_r(g, B62, 8)}_{_r(g, B62, 24)}"),
    "vercel": ("", "VERCEL_TOKEN", lambda g: _r(g, B62, 24)),
    "okta": ("", "OKTA_API_TOKEN", lambda g: "00" + _r(g, URLSAFE, 40)),
    "mapbox": ("", "MAPBOX_TOKEN", lambda g: f"sk.eyJ1Ijoi{_r(g, B62, 30)}.{_r(g, URLSAFE, 22)}"),
    "cloudflare": ("", "CLOUDFLARE_API_TOKEN", lambda g: _r(g, URLSAFE, 40)),
    "datadog": ("", "DD_API_KEY", lambda g: _r(g, HEX, 32)),
    "algolia": ("", "ALGOLIA_ADMIN_KEY", lambda g: _r(g, HEX, 32)),
    "fastly": ("", "FASTLY_API_TOKEN", lambda g: _r(g, URLSAFE, 32)),
    "circleci": ("", "CIRCLE_TOKEN", lambda g: "CCIPAT_" + _r(g, B62, 22) + "_" + _r(g, HEX, 40)),
    "dropbox": ("", "DROPBOX_TOKEN", lambda g: "sl." + _r(g, URLSAFE, 135)),
    "mailersend": ("", "MAILERSEND_API_KEY", lambda g: "mlsn." + _r(g, HEX, 64)),
    "openrouter": ("", "OPENROUTER_API_KEY", lambda g: "sk-or-v1-" + _r(g, HEX, 64)),
    "groq": ("", "GROQ_API_KEY", lambda g: "gsk_" + _r(g, B62, 52)),
    "replicate": ("", "REPLICATE_API_TOKEN", lambda g: "r8_" + _r(g, B62, 37)),
}


def _contexts(name: str, value: str, rng: random.Random) -> list[tuple[str, str]]:
    """(filename, text) showing `value` the ways code, config and logs hold a credential."""
    key = name.lower()
    camel = "".join(p.capitalize() if i else p for i, p in enumerate(key.split("_")))
    return [
        (".env", f"{name}={value}\n"),
        ("config.yaml", f'service:\n  {key}: "{value}"\n  timeout: 30\n'),
        ("settings.json", json.dumps({camel: value, "region": "eu-west-1"}, indent=2) + "\n"),
        ("client.py", f'import client\n\nc = client.Client({key}="{value}")\n'),
        ("deploy.sh", f"export {name}='{value}'\n./deploy --env prod\n"),
        ("app.ts", f'const {camel} = "{value}";\nexport default {camel};\n'),
        ("run.log", f"[DEBUG] loaded {key} {value} from vault\n[INFO] ready\n"),
        ("main.go", f'const {camel} = "{value}"\n'),
    ][rng.randrange(8) :][:2]


def positives(rng: random.Random) -> list[dict]:
    out = []
    for provider, (rule, name, gen) in PROVIDERS.items():
        for _ in range(4):
            value = gen(rng)  # type: ignore[operator]
            for filename, text in _contexts(name, value, rng):
                out.append(
                    {"provider": provider, "rule": rule, "label": True, "filename": filename,
                     "text": text, "secrets": [value], "neg_kind": None}
                )  # fmt: skip
    return out


_WORDS = [
    "alpha",
    "bravo",
    "delta",
    "river",
    "stone",
    "cloud",
    "paper",
    "light",
    "green",
    "quick",
    "token",
    "secret",
    "value",
]


def _negative_values(rng: random.Random, provider: str, real: str) -> list[tuple[str, str]]:
    """(kind, value) stand-ins shaped like `real`: what docs, tests and templates show."""
    prefix = ""
    for sep in ("_", "-", "."):
        head, found, _ = real.partition(sep)
        if found and len(head) <= 12 and head.isalpha():
            prefix = head + sep
            break
    n = max(8, len(real) - len(prefix))
    env = provider.upper().replace("-", "_")
    return [
        ("placeholder", prefix + "x" * n),
        ("placeholder", prefix + "X" * n),
        ("placeholder", prefix + "*" * n),
        ("placeholder", prefix + "0" * n),
        ("placeholder", f"your_{provider}_api_key_here"),
        ("placeholder", f"<{provider}-token>"),
        ("placeholder", "${" + env + "_TOKEN}"),
        ("placeholder", "{{ " + provider + "_token }}"),
        ("placeholder", "%s"),
        ("placeholder", prefix + ("1234567890abcdef" * 8)[:n]),
        ("placeholder", prefix + ("abcdefghijklmnopqrstuvwxyz" * 4)[:n]),
        ("placeholder", f"{prefix}example{provider}token1234"),
        ("placeholder", f"{prefix}test_{provider}_dummy_value"),
        ("placeholder", "".join(rng.choice(_WORDS) for _ in range(4))),
        ("short", prefix + _r(rng, B62, 5)),
        ("identifier", f"get_{provider}_token"),
        ("identifier", f"{provider.capitalize()}TokenProvider"),
        ("uuid", str(uuid.UUID(int=rng.getrandbits(128)))),
        ("path", f"/etc/{provider}/credentials.json"),
        ("path", f"~/.config/{provider}/token"),
        ("reference", f"os.environ['{env}_TOKEN']"),
        ("reference", f"settings.{env}_API_KEY"),
        ("low-entropy", prefix + "ab" * (n // 2)),
    ]


def _negative_text(kind: str, name: str, value: str, rng: random.Random) -> tuple[str, str]:
    key = name.lower()
    if kind == "reference":
        return "app.py", f"{key} = {value}\n"
    if kind == "identifier":
        return "app.py", f"{key} = {value}()\n"
    if kind == "uuid":  # an id, not a credential (a UUID under a secret's name may be one)
        return rng.choice([("ids.txt", f"{value}\n"), ("app.py", f'request_id = "{value}"\n')])
    return rng.choice(
        [
            (".env.example", f"{name}={value}\n"),
            ("config.yaml", f'{key}: "{value}"\n'),
            ("README.md", f"Set `{name}` to `{value}` before running.\n"),
            ("settings.py", f'{name} = "{value}"\n'),
        ]
    )


def negatives(rng: random.Random) -> list[dict]:
    out = []
    for provider, (rule, name, gen) in PROVIDERS.items():
        real = gen(rng)  # type: ignore[operator]
        for kind, value in _negative_values(rng, provider, real):
            filename, text = _negative_text(kind, name, value, rng)
            out.append(
                {"provider": provider, "rule": rule, "label": False, "filename": filename,
                 "text": text, "secrets": [], "neg_kind": kind}
            )  # fmt: skip
    return out


# Tokens pasted with no name before them (a ticket, a chat log, a README): only their own
# structure tells. Formats as documented: SendGrid API keys (`SG.`, 22 and 43 base64url
# characters), HashiCorp Vault 1.10+ service and batch tokens (`hvs.`/`hvb.` + base64url),
# Sourcegraph access tokens (`sgp_` + instance id + `_` + 40 hex), Discord bot tokens (base64
# of the snowflake id, a 6-character timestamp, an HMAC).
BARE: dict[str, object] = {
    "sendgrid-bare": lambda g: f"SG.{_r(g, URLSAFE, 22)}.{_r(g, URLSAFE, 43)}",
    "vault-service": lambda g: "hvs." + _r(g, URLSAFE, 90),
    "vault-batch": lambda g: "hvb." + _r(g, URLSAFE, 120),
    "sourcegraph": lambda g: f"sgp_{_r(g, HEX, 16)}_{_r(g, HEX, 40)}",
    "discord-bare": _discord,
}


def _bare_text(value: str, rng: random.Random) -> tuple[str, str]:
    return rng.choice(
        [
            ("notes.txt", f"oops, pasted {value} into the ticket\n"),
            ("README.md", f"For staging use {value} until Friday.\n"),
            ("chat.log", f"[12:01] <dev> try {value}\n[12:02] <ops> ok\n"),
        ]
    )


# Passwords are typed, not generated: any printable character, quotes of the other kind too.
_PUNCT = "!#$%&()*+,-./:;<=>?@[]^_{|}~'"


def _typed_password(rng: random.Random) -> str:
    chars = string.ascii_letters + string.digits + _PUNCT
    while True:
        value = _r(rng, chars, rng.randint(10, 20))
        if sum(c in _PUNCT for c in value) >= 2 and any(c.isdigit() for c in value):
            return value


def bare_cases(rng: random.Random) -> list[dict]:
    """Positives and stand-in negatives of the kinds above (a separate generator, so the
    older cases stay as they were)."""
    out = []
    for provider, gen in BARE.items():
        for _ in range(8):
            value = gen(rng)  # type: ignore[operator]
            filename, text = _bare_text(value, rng)
            out.append(
                {"provider": provider, "rule": "", "label": True, "filename": filename,
                 "text": text, "secrets": [value], "neg_kind": None}
            )  # fmt: skip
        real = gen(rng)  # type: ignore[operator]
        for kind, value in _negative_values(rng, provider, real):
            if kind in ("reference", "identifier", "uuid", "path"):
                continue  # in prose these are no shape of a token at all
            filename, text = _bare_text(value, rng)
            out.append(
                {"provider": provider, "rule": "", "label": False, "filename": filename,
                 "text": text, "secrets": [], "neg_kind": kind}
            )  # fmt: skip
    for _ in range(16):
        value = _typed_password(rng)
        quote = '"' if "'" in value or rng.random() < 0.5 else "'"
        if quote in value:
            value = value.replace(quote, "")
        name = rng.choice(["db_password", "smtp_password", "PASSWORD", "admin_pwd"])
        out.append(
            {"provider": "typed-password", "rule": "", "label": True, "filename": "config.yaml",
             "text": f"mail:\n  {name}: {quote}{value}{quote}\n", "secrets": [value],
             "neg_kind": None}
        )  # fmt: skip
    return out


def cases(seed: int = 20261203) -> list[dict]:
    rng = random.Random(seed)
    return positives(rng) + negatives(rng) + bare_cases(random.Random(seed + 1))


if __name__ == "__main__":
    for case in cases():
        sys.stdout.write(json.dumps(case) + "\n")
