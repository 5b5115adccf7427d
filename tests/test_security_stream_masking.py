"""br:allow-file -- Secrets that span lines, or are glued to other text, are masked in a stream.

A task that prints a PEM private key used to have every body line stored as is: masking went line by
line, and a body line on its own is plain base64 (issue 15, item 4). Keys and tokens are generated
at run time, so this file holds none.
"""

from __future__ import annotations

import base64
import os
import random
import subprocess
import sys
from pathlib import Path

from engine.events import OutputLine
from engine.security.checksums import base62
from engine.security.masking import LineRedactor, redact, redact_lines
from engine.store import Store

RNG = random.Random(20261203)


def fake_pem(kind: str = "RSA PRIVATE KEY", lines: int = 12) -> tuple[str, list[str]]:
    body = base64.b64encode(RNG.randbytes(48 * lines)).decode()
    rows = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {kind}-----", *rows, f"-----END {kind}-----"]), rows


def github_token() -> str:
    import binascii

    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    body = "".join(RNG.choice(alphabet) for _ in range(30))
    return "gh" + "p_" + body + base62(binascii.crc32(body.encode()), 6)


def test_line_redactor_masks_every_body_line() -> None:
    pem, rows = fake_pem()
    r = LineRedactor()
    out = [r.line("t", line) for line in pem.split("\n")]
    assert out[0].startswith("-----BEGIN") and out[-1].startswith("-----END")
    assert not any(row in "\n".join(out) for row in rows)


def test_interleaved_streams_keep_their_own_state() -> None:
    pem, rows = fake_pem("OPENSSH PRIVATE KEY")
    r = LineRedactor()
    lines = pem.split("\n")
    out = []
    for line in lines:
        out.append(r.line(("s", "a", "stdout"), line))
        # another task prints ordinary base64-ish text meanwhile: left alone
        assert r.line(("s", "b", "stdout"), "build 42 ok") == "build 42 ok"
    assert not any(row in "\n".join(out) for row in rows)


def test_a_key_cut_short_is_still_masked() -> None:
    pem, rows = fake_pem("PRIVATE KEY")
    truncated = "\n".join(pem.split("\n")[:5])
    assert not any(row in redact(truncated) for row in rows[:4])
    assert not any(row in "\n".join(redact_lines(truncated.split("\n"))) for row in rows[:4])


def test_a_quoted_marker_does_not_mask_what_follows() -> None:
    r = LineRedactor()
    r.line("k", "grep for -----BEGIN RSA PRIVATE KEY----- in the logs")
    assert r.line("k", "then run the tests: 12 passed") == "then run the tests: 12 passed"


def test_token_glued_to_letters_is_masked() -> None:
    token = github_token()
    for text in (f"xx{token}", f"TOKEN:{token}", f"auth=Bearer{token}x"):
        assert token[8:-8] not in redact(text), text


def test_store_keeps_no_key_line(tmp_path: Path) -> None:
    pem, rows = fake_pem()
    db = tmp_path / "br.db"
    with Store(db) as store:
        store.write(lines=[OutputLine("s1", "t1", 1, "stdout", ln) for ln in pem.split("\n")])
        store.flush()
        stored = [r["line"] for r in store.query("SELECT line FROM output ORDER BY seq")]
    assert len(stored) == len(pem.split("\n"))
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("br.db"))
    for row in rows:
        assert row not in "\n".join(stored)
        assert row.encode() not in data


def test_task_printing_a_key_and_a_glued_token_leaves_no_copy(tmp_path: Path) -> None:
    pem, rows = fake_pem("EC PRIVATE KEY", 6)
    token = github_token()
    (tmp_path / "key.pem").write_text(pem + "\n")
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'name = "keys"\n\n[[task]]\nid = "leak"\n'
        f'run = "cat key.pem; cat key.pem >&2; echo deployxx{token}"\n'
    )
    env = {**os.environ, "BR_DB": str(tmp_path / "br.db")}
    exe = Path(sys.executable).with_name("br-tui")
    run = subprocess.run(
        [str(exe), "run", str(plan), "--quiet", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    with Store(tmp_path / "br.db") as store:
        lines = [r["line"] for r in store.query("SELECT line FROM output")]
    assert sum("BEGIN EC PRIVATE KEY" in ln for ln in lines) == 2  # stdout and stderr, stored
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("br.db"))
    for secret in [*rows, token[8:-8]]:
        assert secret.encode() not in data
        assert secret not in run.stdout + run.stderr
