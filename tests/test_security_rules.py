"""br:allow-file -- Every secret rule fires on a real-format value and stays quiet on a stand-in.

Fake secrets are assembled at run time (`"AK" + "IA..."`) so the project's own scan of this file
stays clean.
"""

from __future__ import annotations

import pytest

from engine.security import scan_text
from engine.security.config import ScanConfig
from engine.security.rules import default_rules

J = "".join
R32 = "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5Fg0Sa"  # 32 mixed characters, no repeats in a row
HEX32 = "9f3c1ab47e2d8c05b6a1f4e3d7c29b8a"

# rule id -> (positive text, negative text)
CASES: dict[str, tuple[str, str]] = {
    "private-key": (
        J(
            [
                "-----BEGIN RSA ",
                "PRIVATE KEY-----\n",
                "MIIEpQIBAAKCAQEAn6O8li+SX4m98LLYtPKSzEmQ++ZBD7",
                "Loh9P13f4yQ92EF3\n",
                "-----END RSA PRIVATE KEY-----\n",
            ]
        ),
        J(["-----BEGIN OPENSSH ", "PRIVATE KEY----------END OPENSSH PRIVATE KEY-----\n"]),
    ),
    "anthropic-api-key": (J(["sk-", "ant-api03-", R32, R32]), "sk-ant-api03-short"),
    "openai-api-key": (J(["sk-", "proj-", R32, R32]), "sk-proj-tooshort"),
    "aws-access-key-id": (J(["AK", "IAZ7Q4KD2M5XW3RT6Y"]), J(["AK", "IAXXXXXXXXXXXXXXXX"])),
    "aws-secret-access-key": (
        J(["aws_secret", "_access_key = ", "wJalrXUtnF7MI/K7MDENG/bPxRfiCYzq8Kd3Lm2N"]),
        J(["aws_secret", "_access_key = ", "${AWS_SECRET_ACCESS_KEY}"]),
    ),
    "github-token": (J(["gh", "p_", R32, "Ab3d"]), J(["gh", "p_", "x" * 36])),
    "gitlab-token": (J(["gl", "pat-", "Zx8Qm2Lp7Rt4Vw9Kc3Nb"]), J(["gl", "pat-", "short"])),
    "slack-token": (J(["xo", "xb-", "1234567890-", R32]), "xoxb-"),
    "slack-webhook": (
        J(["https://hooks.", "slack.com/services/T0A1B2C3D/B0A1B2C3D/", R32]),
        "https://hooks.slack.com/services/",
    ),
    "stripe-key": (J(["sk", "_live_", R32]), "sk_live_"),
    "google-api-key": (
        J(["AI", "za", "SyNHxIf32IQ1a1yjl3ZJIqKZqzLAK1XhDk-"]),
        J(["AI", "za", "a" * 35]),
    ),
    "google-oauth-secret": (J(["GOC", "SPX-", "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5F"]), "GOCSPX-"),
    "google-service-account": (
        J(
            [
                '{"type": "service_account", "private_key": "-----BEGIN ',
                "PRIVATE KEY-----\\n",
                "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDAC4AWkdwKYSd8",
                '"}',
            ]
        ),
        '{"type": "service_account", "private_key": "DUMMY"}',
    ),
    "azure-storage-key": (
        J(["AccountKey", "=lJzRc1YdHaAA2KCNJJ1tkYwF/+mKK6Ygw0NGe170Xu592euJv2wYUtBlV8z+q=="]),
        "AccountKey=${KEY}",
    ),
    "azure-client-secret": (J(["abc", "8Q~", "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5Fg0Sa"]), "8Q~"),
    "azure-sas-token": (
        J(
            [
                "https://a.blob.core.windows.net/c?sv=2020&",
                "sig=",
                "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5Fg0SaQm2Lp7Rt4V%3D",
            ]
        ),
        "https://a.blob.core.windows.net/c?sig=",
    ),
    "twilio-api-key": (J(["S", "K", HEX32]), J(["S", "K", "0" * 32])),
    "sendgrid-api-key": (
        J(
            [
                "S",
                "G.",
                "ngeVfQFYQlKU0ufo8x5d1A",
                ".",
                "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr",
            ]
        ),
        "SG.short.short",
    ),
    "mailgun-api-key": (J(["ke", "y-", HEX32]), J(["ke", "y-", "0" * 32])),
    "mailchimp-api-key": (J([HEX32, "-us", "12"]), "-us12"),
    "npm-token": (J(["np", "m_", "qkJaB6MffYVzZXWqmcoF49yrUxP3wf0LsakP"]), "npm_short"),
    "npmrc-auth": (
        J(["//registry.npmjs.org/:_auth", "Token=", "743b294a-cd03-11ec-9d64-0242ac120002"]),
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
    ),
    "pypi-token": (J(["py", "pi-", "AgEIcHlwaS5vcmc", R32, R32]), "pypi-short"),
    "dockerhub-token": (J(["dc", "kr_pat_", "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5F"]), "dckr_pat_tooshort"),
    "huggingface-token": (J(["h", "f_", R32, "Ab"]), J(["h", "f_", "a" * 34])),
    "shopify-token": (
        J(["shp", "at_", "r8TRc9ZXAvcVvcrmtr7qoVw69WeeY1ex"]),
        "shpssSSSSS_SSSS_sssss",
    ),
    "discord-token": (
        J(
            [
                "DISCORD_BOT=",
                "MTA",
                "xNDk2MjQ1NjM0NzQ4MjY1Ng",
                ".",
                "GzXk4Q",
                ".",
                "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5Fg0Sa",
            ]
        ),
        "discord bot token: see the vault",
    ),
    "telegram-bot-token": (J(["123456789", ":AA", "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5Fg0Sa"]), "123:AA"),
    "square-token": (J(["sq0", "atp-", "Zx8Qm2Lp7Rt4Vw9Kc3Nb6H"]), "sq0atp-"),
    "heroku-api-key": (J(["HR", "KU-", R32, "Zx8Qm2Lp7R"]), "HRKU-"),
    "digitalocean-token": (J(["do", "p_v1_", HEX32, HEX32]), "dop_v1_"),
    "databricks-token": (J(["da", "pi", HEX32]), J(["da", "pi", "0" * 32])),
    "vault-token": (
        J(["hv", "s.", "CAESIP2jTxc9S2K7Z6CtcFWQv7-044m_oSsxnPE1H3nF89l3"]),
        "hvs.xxxxxxxxxxxxxxxxxxxxxxxxxx",
    ),
    "atlassian-api-token": (J(["ATATT", "3", R32 * 5]), "ATATT3"),
    "jwt": (
        J(
            [
                "ey",
                "JhbGciOiJIUzI1NiJ9",
                ".",
                "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
                ".",
                "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            ]
        ),
        "eyJ.eyJ.x",
    ),
    "facebook-access-token": (
        J(["EA", "AG", "m0PX4ZCpsBAIk2Rv7LqZBd9Tn3Wc8HyJf5QaUe1sVo6Ki0Nl2Dh4Gx7Mb9Pt3Yr8Sz"]),
        "EAAGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ),
    "url-path-credential": (
        J(["https://chat.quasarly.io/hoo", "ks/", "q7x2m9kd4tz8wp3nv6ry1bc5hf"]),
        "https://chat.quasarly.io/hooks/{hook_id}",
    ),
    "url-credentials": (
        J(["postgres://app:", "myC0mpl3xPwd", "@db.internal:5432/x"]),
        "postgres://user:${PASSWORD}@db:5432/x",
    ),
    "connection-string-password": (
        J(["jdbc:sqlserver://db:1433;user=app;", "password=", "Qm2Lp7Rt4V"]),
        "jdbc:sqlserver://db:1433;user=app;password=<password>",
    ),
    "basic-auth-cli": (
        J(["curl --user kevin:", "'pRf7vG2h1L8nQkW9'"]),
        "curl -u username:password",
    ),
    "authorization-header": (
        J(["Authorization: Bea", "rer ", R32]),
        "Authorization: Bearer $TOKEN",
    ),
    "jenkins-credential": (
        J(["<secret>{AQAAABAAA ", "Y5UbXOT1Xh1ZOCxztUvGqltt}</secret>"]),
        "<secret>{}</secret>",
    ),
    "sourcegraph-token": (
        J(["sg", "p_", "d7dfFD43cF2503B1da673EB560aAa3e80f16FA42"]),
        "sgp_5555555dAAAAA7777777CcccCFaaaaaaaaaaaaaa",
    ),
    "notion-token": (J(["nt", "n_", "45647615172", "WqCIEhbLM9Go9yEg8SfkBDFROmea8mxW7X8"]), "ntn_"),
    "linear-api-key": (J(["lin", "_api_", R32, "Zx8Qm2Lp"]), "lin_api_"),
    "newrelic-key": (J(["NR", "AK-", "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5"]), "NRAK-"),
    "grafana-token": (J(["gl", "c_", R32, "Ab=="]), "glc_"),
    "postman-api-key": (J(["PM", "AK-", HEX32[:24], "-", HEX32, "ab"]), "PMAK-"),
    "doppler-token": (J(["dp", ".pt.", R32, "Zx8Qm2Lp7Rt"]), "dp.pt."),
    "age-secret-key": (
        J(["AGE-SECRET", "-KEY-1", "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2][:3])[:74],
        "AGE-SECRET-KEY-1",
    ),
    "prefixed-token": (
        J(["zq", "x_", "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5Fg0Sa"]),
        "test_calculate_total_price_with_tax_rate",
    ),
}


def _rules(text: str, name: str = "notes.txt") -> set[str]:
    return {f.rule_id for f in scan_text(text, name, ScanConfig(sqli=False))}


def test_every_shipped_rule_has_cases() -> None:
    assert {r.id for r in default_rules().rules} <= set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_positive(rule_id: str) -> None:
    assert rule_id in _rules(CASES[rule_id][0])


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_negative(rule_id: str) -> None:
    assert _rules(CASES[rule_id][1]) == set()


@pytest.mark.parametrize(
    "text",
    [
        J(["stripe_api", "_key = '", "k3Jx9Qm2Lp7Rt4Vw9Kc3'"]),
        J(["<jiraToken>\n    ", "ATAxT3xFfGF0K3irG5tKKi6uwwaXQFe", "\n</jiraToken>"]),
        J(["WANDB_API", "_KEY= 'eedf1c984f6b995ec40ecc6658356044847ffb31'"]),
        J(['"geoipifi_sec', 'ret": "jd65TO4gFe3ZHb0_6e7lllifgYXLsJLV"']),
    ],
)
def test_generic_keyword_values(text: str) -> None:
    assert _rules(text, "config.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "key = cache_key(name)",
        "token = os.environ['TOKEN']",
        "password: $DB_PASS",
        "secret = <hunter2>",
        "CO_API_KEY=" + "x" * 40,
        "id = RANDOM_STRING",
        "api_key = 'insert_key_here'",
        "3636dd46-ea21-11e9-81b4-2a2ae2dbcce4",
        '"packageManager": "pnpm@10.4.1+sha512.' + HEX32 * 2 + '"',
        "version = 'pytest-textual-snapshot==1.1.0'",
    ],
)
def test_generic_stays_quiet(text: str) -> None:
    assert _rules(text, "config.yaml") == set()


def test_allow_comments() -> None:
    key = J(["AK", "IAZ7Q4KD2M5XW3RT6Y"])
    assert _rules(f"k = '{key}'  # br:allow") == set()
    assert _rules(f"k = '{key}'  # pragma: allowlist secret") == set()
    assert _rules(f"k = '{key}'  # gitleaks:allow") == set()
    assert _rules(f"# pragma: allowlist nextline secret\nk = '{key}'") == set()
    assert _rules(f"k = '{key}'") == {"aws-access-key-id"}


def test_config_disables_and_extends() -> None:
    key = J(["AK", "IAZ7Q4KD2M5XW3RT6Y"])
    off = ScanConfig(sqli=False, disable=["aws-access-key-id"])
    assert not any(f.rule_id == "aws-access-key-id" for f in scan_text(key, "a.txt", off))
    own = ScanConfig(
        sqli=False,
        rules=[{"id": "acme", "regex": r"\b(acme_[0-9a-f]{8})\b", "keywords": ["acme_"]}],
    )
    assert {f.rule_id for f in scan_text("t = acme_" + "1a2b3c4d", "a.txt", own)} == {"acme"}


def test_names_in_library_code_are_not_generic_secrets():
    from engine.security.generic import looks_like_name

    for name in (
        "ASAuthorizationAppleIDButton",
        "manylinux2014_compatible",
        "MDLAnimatedVector3",
        "XN--MGBCPQ6GPA1A",
    ):
        assert looks_like_name(name), name
    for secret in (
        "aio_VxEqGaqgMgZej3DceezbBy03eWyW",
        "yvxpthLIcYpZweFpPOVeCOtt",
        "Ab3xQ9zL0pWm7rT2",
    ):
        assert not looks_like_name(secret), secret
