"""Learning from outcomes and the cascade's decision: pure functions over recorded attempts."""

from __future__ import annotations

import pytest

from engine.routing.cascade import escalate_levels, next_model
from engine.routing.outcomes import (
    Attempt,
    Policy,
    attempts_from_calls,
    is_probe,
    level_shifts,
    outcome_stats,
)


def history(level: str, tier: str, outcomes: str, *, model: str = "m", first: int = 0):
    """'y' succeeded, 'n' failed at the task, '-' ended for a reason that isn't the model's."""
    ok = {"y": True, "n": False, "-": None}
    return [
        Attempt(f"2026-01-01T00:{first + i:02d}:00", level, 1, tier, model, ok[c], 0.01)
        for i, c in enumerate(outcomes)
    ]


def test_a_level_moves_up_below_low_and_back_at_high():
    policy = Policy(window=10, min_attempts=5, low=0.5, high=0.7)
    assert level_shifts(history("simple", "fast", "yyyynnn"), policy) == {}  # 4 of 7
    shifted = level_shifts(history("simple", "fast", "yynnnnn"), policy)["simple"]
    assert (shifted.from_tier, shifted.to_tier, shifted.succeeded, shifted.attempts) == (
        "fast", "balanced", 2, 7)  # fmt: skip
    # hysteresis: back above 50 % is not enough, 70 % is
    assert "simple" in level_shifts(history("simple", "fast", "yynnnnnyyy"), policy)
    assert level_shifts(history("simple", "fast", "yynnnnnyyyyyyy"), policy) == {}


def test_too_few_attempts_transient_failures_and_other_tiers_do_not_count():
    policy = Policy(window=10, min_attempts=5)
    assert level_shifts(history("simple", "fast", "nnnn"), policy) == {}
    assert level_shifts(history("simple", "fast", "nn----"), policy) == {}
    assert level_shifts(history("simple", "balanced", "nnnnnn"), policy) == {}
    assert level_shifts(history("complex", "strongest", "nnnnnn"), policy) == {}  # no tier above
    assert level_shifts(history("simple", "fast", "nnnnnn"), Policy(enabled=False)) == {}


def test_probe_every_nth_first_attempt_of_a_shifted_level():
    policy = Policy(window=10, min_attempts=5, probe_every=3)
    past = history("moderate", "balanced", "nnnnn")
    shift = level_shifts(past, policy)["moderate"]
    assert not is_probe(past, shift, policy)
    up = history("moderate", "strongest", "yy", first=10)
    assert is_probe(past + up, shift, policy)
    assert not is_probe(past + up + history("moderate", "balanced", "y", first=20), shift, policy)


def test_attempts_group_calls_and_judge_on_the_first_tier():
    def call(task, tier, outcome, klass=None, attempt=1):
        return {"session_id": "s", "task_id": task, "attempt": attempt, "call_no": 1,
                "ts": "2026-01-01T00:00:00", "level": "simple", "tier": tier, "model": tier,
                "outcome": outcome, "failure_class": klass, "cost_usd": 0.5}  # fmt: skip

    rows = [
        call("a", "fast", "succeeded"),
        call("b", "fast", "failed", "overloaded"),  # fell back to a stronger tier: not fast's win
        call("b", "balanced", "succeeded"),
        call("c", "fast", "failed", "rate_limited"),  # the service's fault: not judged
        call("d", "fast", "failed", "task_failure"),
    ]
    got = {a.model + str(i): a.succeeded for i, a in enumerate(attempts_from_calls(rows))}
    assert list(got.values()) == [True, None, None, False]
    [stats] = outcome_stats(attempts_from_calls(rows))
    assert (stats["attempts"], stats["judged"], stats["succeeded"]) == (4, 2, 1)
    assert stats["success_rate"] == 0.5 and stats["cost_usd"] == 2.5


def test_next_model_goes_one_tier_up_only_after_a_task_failure():
    failed = Attempt("t", "simple", 1, "fast", "claude-haiku-5-5", False, 0.01)
    up = next_model(failed, "simple")
    assert up is not None and up.tier == "balanced" and "attempt 1 failed" in up.reason
    assert next_model(failed, "simple", pinned=True) is None
    assert next_model(failed, "simple", levels=escalate_levels(False)) is None
    transient = Attempt("t", "simple", 1, "fast", "claude-haiku-5-5", None, 0.0)
    assert next_model(transient, "simple") is None
    top = Attempt("t", "moderate", 2, "strongest", "claude-opus-5-5", False, 0.01)
    assert next_model(top, "moderate") is None
    assert next_model(None, "simple") is None


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        escalate_levels("yes")
    with pytest.raises(ValueError):
        Policy.from_config({"low": 0.9, "high": 0.5})
    with pytest.raises(ValueError, match="unknown"):
        Policy.from_config({"windw": 3})
    assert escalate_levels(["complex"]) == frozenset({"complex"})
