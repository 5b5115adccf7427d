"""The command backend against a fake Claude Code CLI that prints print-mode JSON."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from engine.executors.agent import make_agent_executor
from engine.executors.agent_command import TemplateError, build_argv, parse_template
from engine.executors.base import ControlSlot
from engine.routing import Usage, load_models
from engine.store import Store
from tests.standins.agent_ctx import FAKE_TEMPLATE, calls, events, make_ctx


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "br.db") as s:
        yield s


def executor(store, **agent):
    config = {"agent": {"command": FAKE_TEMPLATE, "backoff_base_s": 0.01, **agent}}
    return make_agent_executor(store, config)


def test_template_placeholders_stay_one_argument():
    words = parse_template("claude -p {prompt} --model {model} --tag=t-{task_id}")
    nasty = 'fix it\'; rm -rf / $(reboot) "quoted"\nsecond line'
    argv = build_argv(words, {"prompt": nasty, "model": "m", "task_id": "a b"})
    assert argv == ["claude", "-p", nasty, "--model", "m", "--tag=t-a b"]
    with pytest.raises(TemplateError):
        parse_template("claude -p {prompt} {shell}")
    with pytest.raises(TemplateError):
        parse_template("claude --model {model}")


async def test_success_records_cost_from_price_table(store):
    usage = {"input_tokens": 1200, "cache_creation_input_tokens": 3000,
             "cache_read_input_tokens": 40000, "output_tokens": 900}  # fmt: skip
    ctx, lines = make_ctx(
        "Fix the typo in README.md",
        env={"FAKE_AGENT_USAGE": json.dumps(usage), "FAKE_AGENT_COST": "9.99"},
    )
    outcome = await executor(store).run(ctx, ControlSlot())
    assert outcome.status == "succeeded", outcome.reason
    model = outcome.usage["model"]
    assert model == "claude-haiku-5-5"  # simple task -> fast tier
    # by hand from models.toml: 1200*0.10 + 900*0.50 + 3000*0.125 + 40000*0.01 per MTok
    expected = (1200 * 0.10 + 900 * 0.50 + 3000 * 0.125 + 40000 * 0.01) / 1e6
    info = load_models().lookup(model)
    assert info.cost(Usage(1200, 900, 40000, 3000)) == pytest.approx(expected, abs=1e-9)
    [row] = calls(store)
    assert round(row["cost_usd"], 2) == round(expected, 2)
    assert row["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert row["cost_source"] == "table" and row["reported_cost_usd"] == 9.99
    assert (row["input_tokens"], row["output_tokens"]) == (1200, 900)
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (40000, 3000)
    assert row["num_turns"] == 3 and row["latency_s"] == pytest.approx(1.234)
    assert outcome.usage["cost_usd"] == pytest.approx(expected, abs=1e-6)
    # the result text is streamed, the raw JSON is not
    assert ("stdout", "Edited 2 files.") in lines
    assert not any(line.startswith("{") for _, line in lines)
    [decision] = events(store, "routing.decision")
    assert json.loads(decision["data"])["model"] == model
    assert len(events(store, "agent.call")) == 1


async def test_agent_error_is_task_failure(store):
    ctx, _ = make_ctx("Add a flag", env={"FAKE_AGENT_MODE": "error"})
    outcome = await executor(store).run(ctx, ControlSlot())
    assert outcome.status == "failed" and outcome.retryable
    assert outcome.usage["failure_class"] == "task_failure"
    assert "could not apply the edit" in outcome.reason
    assert len(calls(store)) == 1


async def test_malformed_and_missing_json_record_unknown_cost(store):
    for mode in ("malformed", "nojson"):
        ctx, lines = make_ctx("Add a flag", task_id=mode, env={"FAKE_AGENT_MODE": mode})
        outcome = await executor(store).run(ctx, ControlSlot())
        assert outcome.status == "succeeded"
        assert outcome.usage["cost_usd"] is None and outcome.usage["cost_known"] is False
        assert lines  # the raw output is still shown
    rows = calls(store)
    assert [r["cost_usd"] for r in rows] == [None, None]
    assert all(r["cost_source"] == "unknown" and "unknown" in r["error"] for r in rows)


async def test_very_long_result_line_is_still_parsed(store):
    ctx, lines = make_ctx("Add a flag", env={"FAKE_AGENT_MODE": "long_result"})
    outcome = await executor(store).run(ctx, ControlSlot())
    assert outcome.status == "succeeded" and outcome.usage["cost_known"]
    assert sum(len(line) for _, line in lines if line.startswith("x")) == 200_000


async def test_hang_times_out_and_cancel_stops_it(store):
    ctx, _ = make_ctx("Add a flag", env={"FAKE_AGENT_MODE": "hang"}, timeout=0.5)
    outcome = await executor(store).run(ctx, ControlSlot())
    assert outcome.status == "timeout" and outcome.usage["failure_class"] == "timeout"

    ctx, _ = make_ctx("Add a flag", task_id="t2", env={"FAKE_AGENT_MODE": "hang"}, timeout=None)
    slot = ControlSlot()
    run = asyncio.ensure_future(executor(store).run(ctx, slot))
    await asyncio.sleep(0.3)
    slot.cancel()
    outcome = await asyncio.wait_for(run, 10)
    assert outcome.status == "cancelled"


async def test_rate_limit_is_retried_after_the_delay_it_asked_for(store, tmp_path):
    env = {"FAKE_AGENT_MODE": "rate_limit", "FAKE_AGENT_TIMES": "1",
           "FAKE_AGENT_STATE": str(tmp_path / "count")}  # fmt: skip
    ctx, _ = make_ctx("Add a flag", env=env)
    started = time.monotonic()
    outcome = await executor(store).run(ctx, ControlSlot())
    assert outcome.status == "succeeded"
    assert time.monotonic() - started >= 0.2  # the agent printed retry-after: 0.2
    rows = calls(store)
    assert [r["failure_class"] for r in rows] == ["rate_limited", None]
    assert rows[0]["model"] == rows[1]["model"]


async def test_overloaded_model_falls_back_within_tier_or_up(store):
    env = {"FAKE_AGENT_MODE": "overloaded", "FAKE_AGENT_ONLY": "claude-sonnet-5-5"}
    ctx, _ = make_ctx("Add a flag", env=env, complexity="moderate")
    outcome = await executor(store).run(ctx, ControlSlot())
    assert outcome.status == "succeeded"
    rows = calls(store)
    assert rows[0]["model"] == "claude-sonnet-5-5" and rows[0]["failure_class"] == "overloaded"
    assert rows[1]["model"] == "claude-sonnet-5" and rows[1]["outcome"] == "succeeded"
    assert "fallback from claude-sonnet-5-5" in rows[1]["routing_reason"]


async def test_authentication_is_not_retried(store):
    ctx, _ = make_ctx("Add a flag", env={"FAKE_AGENT_MODE": "auth"})
    outcome = await executor(store).run(ctx, ControlSlot())
    assert outcome.status == "failed" and outcome.retryable is False
    assert outcome.usage["failure_class"] == "authentication"
    assert len(calls(store)) == 1
