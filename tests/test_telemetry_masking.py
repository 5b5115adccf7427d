"""No unmasked secret anywhere: database file bytes (main + WAL), exports, --json output.

The secret is built at runtime in a real format (Anthropic API key shape), so the repository's
own secret scanner has nothing to find in this file.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
from pathlib import Path

from engine.events import Event, EventType
from engine.store import Store
from engine.telemetry.collector import Collector

FAKE_CLAUDE = Path(__file__).parent / "standins" / "fake_claude.py"


def make_secret() -> str:
    rng = random.Random(20261121)
    body = "".join(rng.choices(string.ascii_letters + string.digits + "_-", k=93))
    return "sk-ant-api03-" + body + "AA"


SECRET = make_secret()
CORE = SECRET[12:-8]  # what must never appear: masking keeps at most the first/last 4 chars


def raw_bytes(db: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()
    )


def br(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("br-tui")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def test_collector_masks_before_store_and_subscribers(tmp_path):
    db = tmp_path / "br.db"
    seen: list[Event] = []
    with Store(db) as store:
        col = Collector(store, flush_at_exit=False)
        col.subscribe(seen.extend)
        col.publish(
            Event(
                EventType.AGENT_CALL,
                "s1",
                "t1",
                data={"prompt": f"use {SECRET} now", "nested": {"argv": ["x", SECRET]}},
            )
        )
        col.flush()
        assert seen and CORE not in json.dumps(seen[0].data)
        # before close: the event sits in the WAL, not yet checkpointed into the main file
        assert CORE.encode() not in raw_bytes(db)
    assert CORE.encode() not in raw_bytes(db)


def test_run_with_secrets_leaves_no_unmasked_copy(tmp_path):
    plan = tmp_path / "plan.toml"
    agent_cmd = (
        f"{sys.executable} {FAKE_CLAUDE} -p {{prompt}} --model {{model}} --output-format json"
    )
    plan.write_text(
        f"""name = "leaky"

[agent]
command = {json.dumps(agent_cmd)}

[[task]]
id = "shell"
run = "echo deploying with {SECRET}; echo token={SECRET} >&2"
env = {{ SERVICE_KEY = "{SECRET}" }}

[[task]]
id = "agent"
prompt = "Call the API with key {SECRET} and report the result"
"""
    )
    db = tmp_path / "br.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_AGENT", "ANTHROPIC"))}
    env["BR_DB"] = str(db)
    run = br("run", str(plan), "--quiet", "--json", env=env, cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr
    outputs = [run.stdout, run.stderr]
    # the run really happened: its output was stored (masked)
    with Store(db) as store:
        lines = [r["line"] for r in store.query("SELECT line FROM output")]
        assert any("deploying with sk-a" in line for line in lines), lines
        specs = " ".join(r["spec"] for r in store.query("SELECT spec FROM tasks"))
        assert "Call the API with key" in specs
    for verb in (
        ["summary"],
        ["events", "--limit", "1000"],
        ["alerts"],
        ["performance"],
        ["export", str(tmp_path / "ev.csv")],
        ["export", str(tmp_path / "ev.jsonl")],
    ):
        res = br("telemetry", *verb, "--json", env=env, cwd=tmp_path)
        assert res.returncode == 0, (verb, res.stderr)
        outputs += [res.stdout, res.stderr]
    exported = (tmp_path / "ev.jsonl").read_text()
    assert '"task.started"' in exported
    outputs += [exported, (tmp_path / "ev.csv").read_text()]
    for text in outputs:
        assert CORE not in text
    data = raw_bytes(db)
    assert b"deploying with sk-a" in data and b"Call the API with key" in data  # bytes are read
    assert CORE.encode() not in data
