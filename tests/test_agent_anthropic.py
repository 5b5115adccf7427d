"""The SDK backend through the real `anthropic` client against a local Messages API stand-in."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("anthropic")

from engine.executors.agent import make_agent_executor
from engine.executors.base import ControlSlot
from engine.routing import Usage, load_models
from engine.store import Store
from tests.standins.agent_ctx import calls, make_ctx
from tests.standins.fake_anthropic import FakeAnthropic

KEY = "sk-ant-test-0000000000000000000000000000"  # pragma: allowlist secret


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "br.db") as s:
        yield s


@pytest.fixture
def api():
    with FakeAnthropic() as server:
        yield server


def run(store, api, prompt="Add a flag", **kw):
    env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": api.url}
    ctx, lines = make_ctx(prompt, env=env, **kw)
    config = {"agent": {"backend": "anthropic", "backoff_base_s": 0.01, "max_tokens": 256}}
    executor = make_agent_executor(store, config)
    return executor, ctx, lines


async def test_success_cost_matches_price_table(store, api):
    executor, ctx, lines = run(store, api, complexity="moderate")
    outcome = await executor.run(ctx, ControlSlot())
    assert outcome.status == "succeeded", outcome.reason
    [row] = calls(store)
    assert row["model"] == "claude-sonnet-5-5" and row["backend"] == "anthropic"
    expected = (2000 * 2.00 + 500 * 10.00 + 1000 * 2.50 + 8000 * 0.10) / 1e6
    assert round(row["cost_usd"], 2) == round(expected, 2)
    assert row["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert load_models().lookup("claude-sonnet-5-5").cost(Usage(2000, 500, 8000, 1000)) == (
        pytest.approx(expected, abs=1e-9)
    )
    assert ("stdout", "ok") in lines
    assert api.script.seen[0].api_key == KEY
    assert api.script.seen[0].body["max_tokens"] == 256
    assert KEY not in str(outcome) and KEY not in str(row)


async def test_429_waits_for_retry_after_then_succeeds(store, api):
    api.script.retry_after = "0.4"
    api.script.then("claude-sonnet-5-5", "429")
    executor, ctx, _ = run(store, api, complexity="moderate")
    outcome = await executor.run(ctx, ControlSlot())
    assert outcome.status == "succeeded"
    first, second = api.script.seen
    assert first.model == second.model == "claude-sonnet-5-5"
    assert second.at - first.at >= 0.4  # the delay the server asked for
    assert [r["failure_class"] for r in calls(store)] == ["rate_limited", None]


async def test_401_is_not_retried(store, api):
    api.script.then("claude-sonnet-5-5", "401", "401")
    executor, ctx, _ = run(store, api, complexity="moderate")
    outcome = await executor.run(ctx, ControlSlot())
    assert outcome.status == "failed" and outcome.retryable is False
    assert outcome.usage["failure_class"] == "authentication"
    assert len(api.script.seen) == 1


async def test_529_overloaded_falls_back(store, api):
    api.script.then("claude-opus-5-5", "529")
    executor, ctx, _ = run(store, api, complexity="complex")
    outcome = await executor.run(ctx, ControlSlot())
    assert outcome.status == "succeeded"
    assert [s.model for s in api.script.seen] == ["claude-opus-5-5", "claude-fable-5-1"]
    assert outcome.usage["model"] == "claude-fable-5-1"


async def test_500_is_retried_with_backoff_then_gives_up(store, api):
    api.script.then("claude-haiku-5-5", "500", "500", "500", "500", "500")
    executor, ctx, _ = run(store, api, complexity="simple")
    outcome = await executor.run(ctx, ControlSlot())
    assert outcome.status == "failed" and outcome.retryable
    assert outcome.usage["failure_class"] == "server_error"
    assert len(api.script.seen) == 4  # the call and max_retries=3 retries


async def test_context_too_long_is_not_retried_on_same_model(store, api):
    for model in load_models().models:
        api.script.then(model, "400-long")
    executor, ctx, _ = run(store, api, complexity="simple")
    outcome = await executor.run(ctx, ControlSlot())
    assert outcome.status == "failed" and outcome.retryable is False
    assert outcome.usage["failure_class"] == "context_too_long"
    models = [s.model for s in api.script.seen]
    assert len(models) == len(set(models))  # each model at most once


async def test_cancel_aborts_the_request(store, api):
    api.script.delay_s = 2.0
    executor, ctx, _ = run(store, api, complexity="simple")
    slot = ControlSlot()
    task = asyncio.ensure_future(executor.run(ctx, slot))
    await asyncio.sleep(0.3)
    slot.cancel()
    outcome = await asyncio.wait_for(task, 1.5)
    assert outcome.status == "cancelled"


async def test_missing_key_is_an_authentication_failure(store, api, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    executor, ctx, _ = run(store, api)
    ctx.env = {k: v for k, v in ctx.env.items() if k != "ANTHROPIC_API_KEY"}
    monkeypatch.setattr("engine.executors.agent_anthropic.find_api_key", lambda env: None)
    outcome = await executor.run(ctx, ControlSlot())
    assert outcome.status == "failed" and outcome.retryable is False
    assert "no Anthropic API key" in outcome.reason
    assert api.script.seen == []


async def test_model_assisted_estimate_and_its_fallback(store, api, monkeypatch):
    from engine.routing.assist import assisted_estimate

    class Reply:
        def __init__(self, text):
            self.content = [type("B", (), {"type": "text", "text": text})()]
            self.usage = type("U", (), {"input_tokens": 300, "output_tokens": 2})()

    class Client:
        def __init__(self, answer):
            self.answer = answer
            self.messages = self

        async def create(self, **kw):
            if isinstance(self.answer, Exception):
                raise self.answer
            return Reply(self.answer)

    text = "Fix the typo in README.md"
    got = await assisted_estimate(text, None, client=Client("Complex."), model="m")
    assert got.estimate.level == "complex" and "model m says complex" in got.estimate.reasons[0]
    for answer in ("no idea", RuntimeError("boom")):
        got = await assisted_estimate(text, None, client=Client(answer), model="m")
        assert got.estimate.level == "simple" and got.error  # the heuristic answered

    # through the executor, against the local API: the estimate call is recorded and priced
    executor, ctx, _ = run(store, api)
    executor.settings.estimator = "model"
    outcome = await executor.run(ctx, ControlSlot())
    assert outcome.status == "succeeded"
    first, second = calls(store)
    assert first["routing_reason"] == "complexity estimate" and first["model"] == "claude-haiku-5-5"
    assert first["cost_usd"] > 0 and second["call_no"] == 1
