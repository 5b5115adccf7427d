"""The cascade: a retry after a failed attempt may go one tier up (FrugalGPT-style routing).

Start cheap, and pay for a stronger model only when the cheap one has shown it cannot do the
task. The session runner already decides *whether* a failed task is retried (`retries` in the
plan); this module decides *which tier* the retry gets, from what the previous attempt's calls
recorded (so a restarted owner decides the same way):

- the previous attempt failed at the task itself (`task_failure`) or ran out of time: the retry
  goes one tier above the tier that attempt started on, when escalation is on for the level;
- it failed for a reason that is not the model's (rate limit, overload, network,
  authentication, a budget refusal, a cancel): no escalation, the normal routing applies;
- a model the plan pins (`model = ...`) is never escalated away from.

`[agent] escalate` is `true` (the default: `simple` and `moderate`), `false`, or a list of levels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.routing.models import TIERS
from engine.routing.outcomes import (
    DEFAULT_POLICY,
    Attempt,
    Policy,
    attempts_from_calls,
    is_probe,
    level_shifts,
    load_attempts,
)
from engine.store.queryable import Queryable

DEFAULT_LEVELS = frozenset({"simple", "moderate"})


def escalate_levels(raw: Any) -> frozenset[str]:
    """`[agent] escalate` -> the levels a failed attempt may escalate from."""
    if raw is None or raw is True:
        return DEFAULT_LEVELS
    if raw is False:
        return frozenset()
    if isinstance(raw, list) and all(
        x in ("simple", "moderate", "complex", "critical") for x in raw
    ):
        return frozenset(raw)
    raise ValueError("[agent] escalate must be true, false or a list of levels")


@dataclass(frozen=True, slots=True)
class Escalation:
    tier: str
    from_model: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"tier": self.tier, "from_model": self.from_model, "reason": self.reason}


def previous_attempt(db: Queryable, session_id: str, task_id: str, attempt: int) -> Attempt | None:
    """What attempt number `attempt - 1` of the task did, from its recorded calls."""
    if attempt <= 1:
        return None
    rows = db.query(
        "SELECT session_id, task_id, attempt, call_no, ts, level, tier, model, outcome,"
        " failure_class, cost_usd FROM agent_calls"
        " WHERE session_id=? AND task_id=? AND attempt=? AND call_no >= 1 ORDER BY id",
        [session_id, task_id, attempt - 1],
    )
    found = attempts_from_calls(rows)
    return found[-1] if found else None


def next_model(
    previous: Attempt | None,
    level: str,
    *,
    levels: Iterable[str] = DEFAULT_LEVELS,
    pinned: bool = False,
) -> Escalation | None:
    """The tier a retry should start on, or None to route as usual."""
    if previous is None or pinned or level not in set(levels):
        return None
    if previous.succeeded is not False or previous.tier not in TIERS:
        return None
    index = TIERS.index(previous.tier)
    if index == len(TIERS) - 1:
        return None  # already on the strongest tier: retry there
    up = TIERS[index + 1]
    reason = (
        f"escalated: attempt {previous.attempt} failed on {previous.model} "
        f"({previous.tier}); retry one tier up on {up}"
    )
    return Escalation(up, previous.model, reason)


@dataclass(frozen=True, slots=True)
class TierChoice:
    """Where this attempt starts, when not on its level's own tier, and why."""

    tier: str | None  # None: the level's own tier
    why: str | None
    kind: str | None  # "escalation" | "level shift" | "probe"
    data: dict[str, Any]


def choose_tier(
    db: Queryable,
    *,
    session_id: str,
    task_id: str,
    attempt: int,
    level: str,
    now: datetime,
    pinned: bool = False,
    levels: Iterable[str] = DEFAULT_LEVELS,
    policy: Policy = DEFAULT_POLICY,
) -> TierChoice:
    """The one routing adjustment an agent attempt asks for before selecting a model: the
    cascade's escalation after a failed attempt, else a learned level shift (or a probe of it)."""
    if pinned:
        return TierChoice(None, None, None, {})
    escalation = next_model(
        previous_attempt(db, session_id, task_id, attempt), level, levels=levels
    )
    if escalation is not None:
        return TierChoice(escalation.tier, escalation.reason, "escalation", escalation.as_dict())
    history = load_attempts(db, now=now, policy=policy)
    shift = level_shifts(history, policy).get(level)
    if shift is None:
        return TierChoice(None, None, None, {})
    if attempt == 1 and is_probe(history, shift, policy):
        why = f"probe: {shift.reason}; this task tries the {shift.from_tier} tier"
        return TierChoice(None, why, "probe", shift.as_dict())
    return TierChoice(shift.to_tier, f"level shift: {shift.reason}", "level shift", shift.as_dict())
