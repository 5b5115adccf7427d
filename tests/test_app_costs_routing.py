"""Costs screen: levels routed up by their outcomes and escalated attempts, with reasons."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.routing.costs import CallRecord
from tests.conftest import NOW


def record(n: int, ok: bool, *, model="claude-haiku-5-5", tier="fast", attempt=1, reason=None):
    return CallRecord(
        ts=(NOW - timedelta(days=1) + timedelta(minutes=n)).isoformat(timespec="microseconds"),
        session_id="hist", task_id=f"t{n}", attempt=attempt, call_no=1, backend="command",
        model=model, tier=tier, level="simple", score=0.0, input_tokens=10, output_tokens=1,
        cache_read_tokens=0, cache_write_tokens=0, cost_usd=0.001, cost_source="table",
        reported_cost_usd=None, latency_s=1.0, num_turns=1,
        outcome="succeeded" if ok else "failed", failure_class=None if ok else "task_failure",
        error=None, routing_reason=reason,
    ).insert_op()  # fmt: skip


async def test_costs_screen_shows_level_shift_and_escalation_with_reasons(make_app: Any) -> None:
    app = make_app(db="live.db")
    ops = [record(n, ok) for n, ok in enumerate([True] + [False] * 6)]
    ops.append(record(9, True, model="claude-sonnet-5-5", tier="balanced", attempt=2,
                      reason="simple -> fast tier; escalated: attempt 1 failed on "
                             "claude-haiku-5-5 (fast); retry one tier up on balanced"))  # fmt: skip
    app.store.write(ops=ops)
    app.store.flush()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        box = app.screen.query_one("#routing")
        for _ in range(60):
            await pilot.pause(0.05)
            if box.display:
                break
        text = str(box.render())
        assert "level shift simple tasks on the fast tier succeeded 1 of the last 7" in text
        assert "hist/t9 #2 -> claude-sonnet-5-5: escalated: attempt 1 failed" in text
        await pilot.press("e", *"fix typo")
        estimate = str(app.screen.query_one("#estimate").render())
        assert "level simple" in estimate and "[balanced]" in estimate
        assert "level shift: simple tasks on the fast tier" in estimate


async def test_costs_screen_follows_the_session_picked_elsewhere_at_once(make_app: Any) -> None:
    """No event announces a pick and the screen has no timer: it must re-read on the pick
    itself, or its budgets keep showing the session it first read."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        title = app.screen.query_one("#budgets-title")
        for _ in range(60):
            await pilot.pause(0.05)
            if "session" in str(title.render()):
                break
        first = str(title.render())
        other = "9f8e7d6c" if "9f8e7d6c" not in first else "0c0d0e0f"
        app.current_session = other
        for _ in range(60):
            await pilot.pause(0.05)
            if other in str(title.render()):
                break
        assert f"session {other}" in str(title.render()), first
