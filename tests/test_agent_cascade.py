"""The cascade and learned level shifts, end to end with the stand-in agent CLI.

A whole session runs through `br-tui run` (the real runner, a real SQLite file): a task that
fails on the fast tier is retried one tier up and succeeds, and both attempts' calls and costs
are recorded. Then a simulated history of failures at one level moves that level's routing up,
and a history of successful probes moves it back.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine.executors.agent import make_agent_executor
from engine.executors.base import ControlSlot
from engine.routing.costs import CallRecord
from engine.store import Store, now_iso
from tests.engine_helpers import br_json, query, write_plan
from tests.standins.agent_ctx import FAKE_TEMPLATE, calls, events, make_ctx

FAIL_USAGE = json.dumps({"input_tokens": 40_000, "output_tokens": 4_000})
OK_USAGE = json.dumps({"input_tokens": 100_000, "output_tokens": 10_000})


def plan(tmp_path: Path, *, escalate: str = "true", retries: int = 1) -> Path:
    return write_plan(
        tmp_path / "plan.toml",
        f"""
[agent]
command = '{FAKE_TEMPLATE}'
escalate = {escalate}
[[task]]
id = "fix"
prompt = "Fix the typo in README.md"
retries = {retries}
retry_delay = 0.01
env = {{ FAKE_AGENT_MODE = "error", FAKE_AGENT_ONLY = "claude-haiku-5-5", \
FAKE_AGENT_ERROR_USAGE = '{FAIL_USAGE}', FAKE_AGENT_USAGE = '{OK_USAGE}' }}
""",
    )


def test_a_task_failing_on_the_fast_tier_succeeds_one_tier_up(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    res = br_json("run", str(plan(tmp_path)), db=db)
    assert res["status"] == "completed", res
    rows = query(db, "SELECT attempt, model, tier, outcome, cost_usd, routing_reason"
                     " FROM agent_calls ORDER BY id")  # fmt: skip
    assert [(r["attempt"], r["model"], r["outcome"]) for r in rows] == [
        (1, "claude-haiku-5-5", "failed"),
        (2, "claude-sonnet-5-5", "succeeded"),
    ]
    # both attempts are paid for, each at its own model's prices (models.toml)
    assert rows[0]["cost_usd"] == pytest.approx((40_000 * 0.10 + 4_000 * 0.50) / 1e6)
    assert rows[1]["cost_usd"] == pytest.approx((100_000 * 2.0 + 10_000 * 10.0) / 1e6)
    assert "escalated: attempt 1 failed on claude-haiku-5-5" in rows[1]["routing_reason"]
    [decision] = [
        json.loads(e["data"])
        for e in query(db, "SELECT data FROM events WHERE type='routing.decision'")
        if "escalation" in json.loads(e["data"])
    ]
    assert decision["escalation"]["tier"] == "balanced" and decision["attempt"] == 2


def test_escalation_off_retries_on_the_same_tier(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    res = br_json("run", str(plan(tmp_path, escalate="false")), db=db)
    assert res["status"] == "failed"
    models = [r["model"] for r in query(db, "SELECT model FROM agent_calls ORDER BY id")]
    assert models == ["claude-haiku-5-5", "claude-haiku-5-5"]


# -- learned level shifts ------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "br.db") as s:
        yield s


_seq = iter(range(1, 1_000_000))


def simulate(store: Store, level: str, model: str, tier: str, outcomes: str, start: datetime):
    """One recorded first attempt per character: 'y' succeeded, 'n' failed at the task."""
    for i, ch in enumerate(outcomes):
        n = next(_seq)
        ok = ch == "y"
        record = CallRecord(
            ts=(start + timedelta(minutes=n)).isoformat(timespec="microseconds"),
            session_id="history", task_id=f"t{n}", attempt=1, call_no=1, backend="command",
            model=model, tier=tier, level=level, score=0.0, input_tokens=1000,
            output_tokens=100, cache_read_tokens=0, cache_write_tokens=0, cost_usd=0.001,
            cost_source="table", reported_cost_usd=None, latency_s=1.0, num_turns=1,
            outcome="succeeded" if ok else "failed",
            failure_class=None if ok else "task_failure", error=None, routing_reason=f"#{i}",
        )  # fmt: skip
        store.write(ops=[record.insert_op()])
    store.flush()


async def route_simple(store: Store, task_id: str) -> str:
    ex = make_agent_executor(store, {"agent": {"command": FAKE_TEMPLATE}})
    ctx, _ = make_ctx("Fix the typo in README.md", task_id=task_id, session_id="now",
                      env={"FAKE_AGENT_USAGE": OK_USAGE})  # fmt: skip
    outcome = await ex.run(ctx, ControlSlot())
    assert outcome.status == "succeeded", outcome.reason
    return [c for c in calls(store) if c["session_id"] == "now"][-1]["model"]


async def test_failure_history_moves_a_level_up_and_recovery_moves_it_back(store):
    start = datetime.fromisoformat(now_iso()) - timedelta(days=2)  # inside the 30-day window
    simulate(store, "simple", "claude-haiku-5-5", "fast", "yynnnnnn", start)  # 2 of 8
    assert await route_simple(store, "a") == "claude-sonnet-5-5"
    [shift] = [json.loads(e["data"]) for e in events(store, "routing.decision")
               if "level_shift" in json.loads(e["data"])]  # fmt: skip
    assert shift["level_shift"]["from_tier"] == "fast"
    assert "simple tasks on the fast tier succeeded 2 of the last 8" in shift["reason"]
    # other levels are not affected
    assert [r["model"] for r in calls(store) if r["session_id"] == "now"] == ["claude-sonnet-5-5"]
    # probes on the fast tier keep succeeding: the window climbs past 70 % and the level is back
    simulate(store, "simple", "claude-haiku-5-5", "fast", "y" * 12, start + timedelta(hours=1))
    assert await route_simple(store, "b") == "claude-haiku-5-5"


async def test_a_shifted_level_still_probes_its_own_tier(store):
    start = datetime.fromisoformat(now_iso()) - timedelta(days=1)
    simulate(store, "simple", "claude-haiku-5-5", "fast", "nnnnnn", start)
    # four first attempts went one tier up since the last fast one: the fifth is a probe
    simulate(store, "simple", "claude-sonnet-5-5", "balanced", "yyyy", start + timedelta(hours=1))
    assert await route_simple(store, "probe") == "claude-haiku-5-5"
    [row] = [r for r in calls(store) if r["session_id"] == "now"]
    assert "probe:" in row["routing_reason"]
