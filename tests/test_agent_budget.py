"""Budgets through the executor: a soft limit routes down a tier, a hard limit refuses."""

from __future__ import annotations

import json

import pytest

from engine.executors.agent import make_agent_executor
from engine.executors.base import ControlSlot
from engine.store import Store
from tests.standins.agent_ctx import FAKE_TEMPLATE, calls, events, make_ctx

# On claude-sonnet-5-5 ($2 in / $10 out per MTok) this usage costs exactly $0.30.
USAGE = json.dumps({"input_tokens": 100_000, "output_tokens": 10_000})


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "br.db") as s:
        yield s


def executor(store, **budget):
    return make_agent_executor(store, {"agent": {"command": FAKE_TEMPLATE}, "budget": budget})


async def run(ex, task_id, session_id="s1"):
    ctx, _ = make_ctx(
        "Add a flag", task_id=task_id, session_id=session_id, complexity="moderate",
        env={"FAKE_AGENT_USAGE": USAGE},
    )  # fmt: skip
    return await ex.run(ctx, ControlSlot())


async def test_hard_limit_stops_agent_dispatch_mid_session(store):
    ex = executor(store, session_usd=0.55)
    assert (await run(ex, "a")).status == "succeeded"
    assert (await run(ex, "b")).status == "succeeded"  # $0.60 spent now
    refused = await run(ex, "c")
    assert refused.status == "cancelled" and refused.retryable is False
    assert refused.reason == "budget: session budget exhausted ($0.60 of $0.55)"
    assert (await run(ex, "d")).status == "cancelled"
    assert [r["task_id"] for r in calls(store)] == ["a", "b"]  # nothing ran for c, d
    [exceeded] = events(store, "budget.exceeded")  # announced once, not per task
    assert json.loads(exceeded["data"])["budget"] == "session"
    # another session has its own session budget
    assert (await run(ex, "a", session_id="s2")).status == "succeeded"


async def test_daily_budget_spans_sessions(store):
    ex = executor(store, daily_usd=0.25)
    assert (await run(ex, "a", session_id="s1")).status == "succeeded"
    refused = await run(ex, "a", session_id="s2")
    assert refused.status == "cancelled" and refused.reason.startswith("budget: daily budget")


async def test_soft_limit_routes_down_a_tier_and_warns_once(store):
    ex = executor(store, session_usd=1.0, soft_ratio=0.5)
    for task in "abcd":
        assert (await run(ex, task)).status == "succeeded"
    models = [r["model"] for r in calls(store)]
    assert models == ["claude-sonnet-5-5"] * 2 + ["claude-haiku-5-5"] * 2
    assert "budget soft limit" in calls(store)[2]["routing_reason"]
    [warning] = events(store, "budget.warning")
    assert json.loads(warning["data"])["state"] == "soft"


def test_bad_budget_table_is_refused(store):
    with pytest.raises(ValueError, match="unknown key"):
        executor(store, session_dollars=5)
    with pytest.raises(ValueError, match="soft_ratio"):
        executor(store, session_usd=5, soft_ratio=1.5)
