"""Learning from what happened: per level and model success rates and costs, and level shifts.

Text alone is a weak guide to how hard a task is (the annotators of our training labels saw the
fix; the estimator sees only the issue). What the project's own agent runs did is a better one.
From `agent_calls` this module derives, per attempt, the level it was routed at, the tier and
model it started on, whether it succeeded there, and what it cost. Then:

- `outcome_stats`: success rate and cost per (level, model), for the Costs screen and the CLI;
- `level_shifts`: when the attempts a level sent to its own (cheapest adequate) tier succeed
  less than `low` of the time over the last `window` of them, that level routes one tier up;
  it comes back once the rate over the window reaches `high` (hysteresis, so it doesn't flap).
  While shifted, every `probe_every`-th new task at the level still goes to its own tier as a
  probe — without probes a shifted level could never recover, and the cascade (a failed attempt
  retried one tier up) keeps a failed probe cheap.

Everything is derived from the stored calls, so a restarted owner, another session and the CLI
all see the same shifts. Transient failures (rate limits, overload, network, authentication,
cancellations) say nothing about the model's ability and are left out. Time comes in as `now`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.routing.failures import TASK_FAILURE, TIMEOUT
from engine.routing.models import TIER_FOR_LEVEL, TIERS
from engine.store.queryable import Queryable

#: Failure classes that count against a model (the rest are the service's, not the model's).
MODEL_FAILURES = frozenset({TASK_FAILURE, TIMEOUT, None})


@dataclass(frozen=True, slots=True)
class Policy:
    """`[routing]` knobs: see the module docstring."""

    window: int = 20
    min_attempts: int = 5
    low: float = 0.5
    high: float = 0.7
    probe_every: int = 5
    max_age_days: float = 30.0
    enabled: bool = True

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None) -> Policy:
        raw = dict(raw or {})
        known = {f: raw.pop(f) for f in list(raw) if f in cls.__dataclass_fields__}
        if raw:
            raise ValueError(f"[routing] unknown key(s): {', '.join(sorted(raw))}")
        policy = cls(**known)
        if not 0 <= policy.low <= policy.high <= 1:
            raise ValueError("[routing] needs 0 <= low <= high <= 1")
        if policy.window < 1 or policy.min_attempts < 1 or policy.probe_every < 1:
            raise ValueError("[routing] window, min_attempts and probe_every must be >= 1")
        return policy


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of an agent task, as its calls tell it."""

    ts: str
    level: str
    attempt: int
    tier: str  # the tier of its first call
    model: str
    succeeded: bool | None  # None: ended for a reason that says nothing about the model
    cost_usd: float


@dataclass(frozen=True, slots=True)
class LevelShift:
    level: str
    from_tier: str
    to_tier: str
    succeeded: int
    attempts: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "from_tier": self.from_tier,
            "to_tier": self.to_tier,
            "succeeded": self.succeeded,
            "attempts": self.attempts,
            "reason": self.reason,
        }


_ATTEMPTS_SQL = """
    SELECT session_id, task_id, attempt, call_no, ts, level, tier, model, outcome,
           failure_class, cost_usd
    FROM agent_calls
    WHERE call_no >= 1 AND level IS NOT NULL AND ts >= ?
    ORDER BY id
"""


def load_attempts(
    db: Queryable, *, now: datetime, policy: Policy = DEFAULT_POLICY
) -> list[Attempt]:
    """The attempts of the last `max_age_days`, oldest first."""
    found = list(
        db.query("SELECT name FROM sqlite_master WHERE type='table' AND name='agent_calls'", [])
    )
    if not found:
        return []
    since = (now - timedelta(days=policy.max_age_days)).isoformat(timespec="microseconds")
    return attempts_from_calls(db.query(_ATTEMPTS_SQL, [since]))


def attempts_from_calls(rows: Iterable[Mapping[str, Any]]) -> list[Attempt]:
    """Group call rows (oldest first) by attempt: the first call fixes level, tier and model;
    success means a call on that same tier succeeded."""
    grouped: dict[tuple[Any, Any, Any], list[Mapping[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((row["session_id"], row["task_id"], row["attempt"]), []).append(row)
    out = []
    for calls in grouped.values():
        first, last = calls[0], calls[-1]
        tier = first["tier"] or ""
        on_tier = [c for c in calls if (c["tier"] or "") == tier]
        if any(c["outcome"] == "succeeded" for c in on_tier):
            ok: bool | None = True
        elif last["outcome"] == "timeout" or (
            last["outcome"] == "failed" and last["failure_class"] in MODEL_FAILURES
        ):
            ok = False
        else:
            ok = None
        cost = sum(float(c["cost_usd"] or 0.0) for c in calls)
        out.append(
            Attempt(first["ts"], first["level"], int(first["attempt"] or 1), tier,
                    first["model"], ok, cost)
        )  # fmt: skip
    out.sort(key=lambda a: a.ts)
    return out


def outcome_stats(attempts: Iterable[Attempt]) -> list[dict[str, Any]]:
    """Per (level, model): attempts, judged ones, successes, success rate, total and mean cost."""
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    for a in attempts:
        row = acc.setdefault(
            (a.level, a.model),
            {"level": a.level, "model": a.model, "tier": a.tier, "attempts": 0, "judged": 0,
             "succeeded": 0, "cost_usd": 0.0},
        )  # fmt: skip
        row["attempts"] += 1
        row["cost_usd"] += a.cost_usd
        if a.succeeded is not None:
            row["judged"] += 1
            row["succeeded"] += int(a.succeeded)
    out = []
    for _, row in sorted(acc.items(), key=lambda kv: (_level_order(kv[0][0]), kv[0][1])):
        row["success_rate"] = round(row["succeeded"] / row["judged"], 3) if row["judged"] else None
        row["cost_usd"] = round(row["cost_usd"], 6)
        row["mean_cost_usd"] = round(row["cost_usd"] / row["attempts"], 6)
        out.append(row)
    return out


def _level_order(level: str) -> int:
    order = list(TIER_FOR_LEVEL)
    return order.index(level) if level in order else len(order)


def level_shifts(
    attempts: Iterable[Attempt], policy: Policy = DEFAULT_POLICY
) -> dict[str, LevelShift]:
    """Levels whose own tier has been failing, replayed over the history with hysteresis."""
    if not policy.enabled:
        return {}
    by_level: dict[str, list[Attempt]] = {}
    for a in attempts:
        by_level.setdefault(a.level, []).append(a)
    shifts = {}
    for level, history in by_level.items():
        base = TIER_FOR_LEVEL.get(level)
        if base is None or TIERS.index(base) == len(TIERS) - 1:
            continue  # nothing above the strongest tier
        window: deque[bool] = deque(maxlen=policy.window)
        shifted = False
        for a in history:
            if a.tier != base or a.succeeded is None:
                continue
            window.append(a.succeeded)
            rate = sum(window) / len(window)
            if not shifted and len(window) >= policy.min_attempts and rate < policy.low:
                shifted = True
            elif shifted and rate >= policy.high:
                shifted = False
        if shifted:
            ok, n = sum(window), len(window)
            up = TIERS[TIERS.index(base) + 1]
            reason = (
                f"{level} tasks on the {base} tier succeeded {ok} of the last {n} "
                f"(below {policy.low:.0%}): {level} routes to {up} until {policy.high:.0%}"
            )
            shifts[level] = LevelShift(level, base, up, ok, n, reason)
    return shifts


def is_probe(
    attempts: Iterable[Attempt], shift: LevelShift, policy: Policy = DEFAULT_POLICY
) -> bool:
    """Whether the next first attempt at a shifted level should go to its own tier anyway:
    after `probe_every - 1` first attempts on other tiers since the last one on its own."""
    since = 0
    for a in attempts:
        if a.level != shift.level or a.attempt != 1:
            continue
        since = 0 if a.tier == shift.from_tier else since + 1
    return since >= policy.probe_every - 1


@dataclass(frozen=True, slots=True)
class RoutingNotes:
    """What the Costs screen shows about routing that moved: levels routed up, and the latest
    attempts that were escalated or shifted, each with its recorded reason."""

    shifts: list[LevelShift]
    moves: list[dict[str, Any]]  # ts, session_id, task_id, attempt, model, reason


_MOVES_SQL = """
    SELECT ts, session_id, task_id, attempt, model, routing_reason AS reason FROM agent_calls
    WHERE call_no = 1 AND ts >= ?
      AND (routing_reason LIKE '%escalated:%' OR routing_reason LIKE '%level shift:%')
    ORDER BY id DESC LIMIT ?
"""


def routing_notes(
    db: Queryable, *, now: datetime, policy: Policy = DEFAULT_POLICY, limit: int = 5
) -> RoutingNotes:
    attempts = load_attempts(db, now=now, policy=policy)
    if not attempts:
        return RoutingNotes([], [])
    since = (now - timedelta(days=policy.max_age_days)).isoformat(timespec="microseconds")
    moves = [dict(r) for r in db.query(_MOVES_SQL, [since, limit])]
    return RoutingNotes(list(level_shifts(attempts, policy).values()), moves)
