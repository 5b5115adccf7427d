"""Estimator, selector, price table, failure classes and backoff: pure functions, no I/O."""

from __future__ import annotations

import pytest

from engine.routing import (
    LEVELS,
    Usage,
    estimate,
    fallback_after,
    load_models,
    select_model,
    thresholds_for_shares,
)
from engine.routing import failures as f
from engine.routing.budgets import Budgets


def test_estimate_orders_obvious_cases():
    typo = estimate("Fix the typo in README.md")
    hard = estimate(
        "Redesign the cache layer: I'm not sure whether nested objects survive serialization "
        "across processes, and concurrency between workers also breaks consistency. "
        "How should migrations and backward compatibility work?"
    )
    assert typo.level == "simple" and any("typo" in r for r in typo.reasons)
    assert hard.level in ("complex", "critical") and hard.score > typo.score
    assert all(estimate(t).level in LEVELS for t in ("", "?", "x" * 100_000))


def test_declared_files_and_risk_raise_the_score():
    text = "Update the handler to validate input"
    assert estimate(text, ["a/**", "b/**", "c/**", "d/**", "e/**"]).score > estimate(text).score
    risky = estimate(text + "; it causes data loss in production")
    assert risky.score > estimate(text).score


def test_share_knob_is_monotonic():
    lo1, hi1 = thresholds_for_shares(0.3, 0.05)
    lo2, hi2 = thresholds_for_shares(0.5, 0.20)
    assert lo1 < lo2 and hi1 > hi2


def test_costs_follow_the_table_including_long_prompts():
    table = load_models()
    sonnet = table.lookup("claude-sonnet-5-5")
    assert sonnet.cost(Usage(1_000_000, 1_000_000, 1_000_000, 1_000_000)) == 2 + 10 + 0.1 + 2.5
    haiku = table.lookup("claude-haiku-5-5")
    assert haiku.cost(Usage(input_tokens=100_000)) == pytest.approx(0.01)
    assert haiku.cost(Usage(input_tokens=100_001)) == pytest.approx(100_001 * 0.5 / 1e6, abs=1e-6)
    one_hour = Usage(cache_write_tokens=1_000_000, cache_write_1h_tokens=400_000)
    assert sonnet.cost(one_hour) == pytest.approx(0.6 * 2.5 + 0.4 * 4.0)
    assert table.lookup("no-such-model").known_prices is False


def test_user_overrides_merge_and_add_models():
    table = load_models(
        {"models": {"claude-sonnet-5-5": {"output": 12.0}, "local-llm": {"tier": "fast"}}}
    )
    assert table.lookup("claude-sonnet-5-5").prices.output == 12.0
    assert table.lookup("claude-sonnet-5-5").prices.input == 2.0
    assert table.lookup("local-llm").tier == "fast"
    with pytest.raises(ValueError, match="tier"):
        load_models({"models": {"x": {"tier": "huge"}}})


def test_selection_by_level_limit_and_override():
    table = load_models()
    assert select_model("simple", table).model == "claude-haiku-5-5"
    assert select_model("moderate", table).model == "claude-sonnet-5-5"
    assert select_model("complex", table).model == "claude-opus-5-5"
    assert select_model("critical", table).model == "claude-fable-5-1"
    capped = select_model("complex", table, cost_limit=0.5)
    assert capped.tier in ("balanced", "fast") and "over $0.50" in capped.reason
    assert capped.estimated_cost_usd <= 0.5
    assert select_model("complex", table, downgrade=1).tier == "balanced"
    pinned = select_model("simple", table, override="claude-opus-5", cost_limit=0.0001)
    assert pinned.model == "claude-opus-5" and pinned.reason == "task override"
    nothing = select_model("moderate", table, remaining_usd=0.0)
    assert nothing.model == "claude-haiku-5-5" and "no model fits" in nothing.reason


def test_fallback_never_goes_down_a_tier():
    table = load_models()
    assert fallback_after("claude-sonnet-5-5", table, []).name == "claude-sonnet-5"
    assert fallback_after("claude-sonnet-5", table, ["claude-sonnet-5-5"]).tier == "strongest"
    assert fallback_after("claude-haiku-4-5", table, [], need_context=True).context > 200_000
    assert fallback_after("claude-haiku-5-5", table, [], need_context=True) is None  # none larger
    everything = list(table.models)
    assert fallback_after("claude-fable-5-1", table, everything) is None


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (429, "", f.RATE_LIMITED),
        (529, "", f.OVERLOADED),
        (401, "", f.AUTHENTICATION),
        (500, "", f.SERVER_ERROR),
        (400, "prompt is too long: 210000 tokens > 200000 maximum", f.CONTEXT_TOO_LONG),
        (None, "API Error: 429 rate_limit_error", f.RATE_LIMITED),
        (None, 'API Error: 529 {"type":"overloaded_error"}', f.OVERLOADED),
        (None, "Invalid API key · Please run /login", f.AUTHENTICATION),
        (None, "connect ECONNREFUSED 127.0.0.1:443", f.NETWORK),
        (None, "Request timed out", f.TIMEOUT),
        (None, "tests still fail after the edit", f.TASK_FAILURE),
    ],
)
def test_failure_classes(status, message, expected):
    assert f.classify(status, message) == expected


def test_backoff_obeys_retry_after_and_grows_with_jitter():
    assert f.backoff_delay(1, retry_after=2.0, rand=lambda: 0.0) == 2.0
    assert 2.0 <= f.backoff_delay(5, retry_after=2.0) <= 2.2
    steps = [f.backoff_delay(n, base=1.0, cap=8.0, rand=lambda: 1.0) for n in range(1, 7)]
    assert steps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert f.backoff_delay(3, base=1.0, rand=lambda: 0.0) == 2.0  # half fixed, half random
    assert f.parse_retry_after("1.5") == 1.5 and f.parse_retry_after("soon") is None


def test_budget_limits():
    b = Budgets.from_config({"session_usd": 5, "monthly_usd": 100})
    assert b.limits() == {"session": 5.0, "monthly": 100.0} and b.soft_ratio == 0.8
