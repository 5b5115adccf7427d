"""Probes: the current value of each thresholded metric, per scope, over a trailing window.

A probe answers "what is the value now?" for one metric, cheaply (the monitor asks every few
seconds). It returns one `Sample` per scope: the global metrics have scope "", per-task and
per-budget metrics name their task or budget, so each gets its own alert.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.store.db import now_iso
from engine.store.queryable import Queryable
from engine.telemetry.metrics import (
    TASK_FINAL,
    _in,
    has_table,
    overall_latency,
    queue_now,
    rows,
)

#: WORKER_OFFLINE reasons that are part of normal operation, not a lost worker.
BENIGN_OFFLINE = ("scaled down", "session ended")


@dataclass(frozen=True, slots=True)
class Sample:
    scope: str
    value: float | None
    n: int = 0  # how many observations the value rests on (for min_samples)
    session_id: str | None = None
    task_id: str | None = None


Probe = Callable[[Queryable, str], list[Sample]]


def success_rate(db: Queryable, since: str) -> list[Sample]:
    r = rows(
        db,
        "SELECT count(*) AS n, coalesce(sum(type = 'task.succeeded'), 0) AS ok FROM events"
        f" WHERE type IN {_in(TASK_FINAL)} AND ts >= ?",
        [since],
    )[0]
    return [Sample("", r["ok"] / r["n"] if r["n"] else None, r["n"])]


def p95_latency_s(db: Queryable, since: str) -> list[Sample]:
    found = overall_latency(db, " AND ts >= ?", [since], percentiles=(0.95,))
    return [Sample("", found.get("p95"), found.get("n", 0))]


def cost_per_hour_usd(db: Queryable, since: str) -> list[Sample]:
    if not has_table(db, "agent_calls"):
        return [Sample("", None)]
    r = rows(
        db,
        "SELECT count(*) AS n, coalesce(sum(cost_usd), 0) AS usd,"
        " (julianday(?) - julianday(?)) * 24.0 AS hours FROM agent_calls WHERE ts >= ?",
        [now_iso(), since, since],
    )[0]
    hours = max(r["hours"] or 0.0, 1 / 60)
    return [Sample("", r["usd"] / hours, r["n"])]


def budget_used(db: Queryable, since: str) -> list[Sample]:
    """Spend over limit for each budget configured on a running or paused session."""
    if not has_table(db, "agent_calls"):
        return []
    out: list[Sample] = []
    seen: set[str] = set()
    for s in rows(db, "SELECT id, config FROM sessions WHERE status IN ('running', 'paused')"):
        try:
            budget = json.loads(s["config"] or "{}").get("budget")
        except (ValueError, TypeError, AttributeError):
            continue
        if not budget:
            continue  # most sessions have none: skip the routing imports and queries
        from engine.routing.budgets import Budgets, budget_status

        try:
            budgets = Budgets.from_config(budget)
        except (ValueError, TypeError):
            continue
        for state in budget_status(db, budgets, session_id=s["id"]):
            scope = f"{state.name}:{s['id']}" if state.name == "session" else state.name
            if scope in seen or state.limit_usd <= 0:
                continue
            seen.add(scope)
            sid = s["id"] if state.name == "session" else None
            out.append(Sample(scope, state.spent_usd / state.limit_usd, 1, session_id=sid))
    return out


def queue_depth(db: Queryable, since: str) -> list[Sample]:
    return [Sample("", float(queue_now(db)), 1)]


def workers_lost(db: Queryable, since: str) -> list[Sample]:
    r = rows(
        db,
        "SELECT count(*) AS n FROM events WHERE type = 'worker.offline' AND ts >= ?"
        f" AND coalesce(json_extract(data, '$.reason'), '') NOT IN {_in(BENIGN_OFFLINE)}",
        [since],
    )[0]
    return [Sample("", float(r["n"]), 1)]


def consecutive_failures(db: Queryable, since: str) -> list[Sample]:
    """Failed attempts of each task (by plan task id, across sessions) since it last
    succeeded. Reported: tasks with failures, and tasks at zero that still have an open alert
    (so it clears with its task and session named); a plan of thousands of healthy tasks
    yields nothing to weigh."""
    if not rows(
        db,
        "SELECT 1 FROM events WHERE type IN ('task.failed', 'task.timed_out', 'task.retried')"
        " AND ts >= ? UNION ALL SELECT 1 FROM alerts WHERE cleared_at IS NULL"
        " AND scope LIKE 'task:%' LIMIT 1",
        [since],
    ):
        return []  # no failure in the window and no task alert to clear: nothing to group
    found = rows(
        db,
        "WITH last_ok AS (SELECT task_id, max(id) AS ok_id FROM events"
        " WHERE type = 'task.succeeded' AND ts >= ? GROUP BY task_id)"
        " SELECT e.task_id, max(e.session_id) AS session_id,"
        " sum(e.type IN ('task.failed', 'task.timed_out', 'task.retried')"
        " AND e.id > coalesce(l.ok_id, 0)) AS n"
        " FROM events e LEFT JOIN last_ok l ON l.task_id = e.task_id"
        " WHERE e.type IN ('task.succeeded', 'task.failed', 'task.timed_out', 'task.retried')"
        " AND e.ts >= ? AND e.task_id IS NOT NULL GROUP BY e.task_id"
        " HAVING n > 0 OR EXISTS (SELECT 1 FROM alerts a WHERE a.cleared_at IS NULL"
        " AND a.scope = 'task:' || e.task_id)",
        [since, since],
    )
    return [
        Sample(f"task:{r['task_id']}", float(r["n"]), 1, r["session_id"], r["task_id"])
        for r in found
    ]


def lock_violations(db: Queryable, since: str) -> list[Sample]:
    r = rows(
        db, "SELECT count(*) AS n FROM events WHERE type = 'lock.violation' AND ts >= ?", [since]
    )[0]
    return [Sample("", float(r["n"]), 1)]


def agent_failure_rate(db: Queryable, since: str) -> list[Sample]:
    if not has_table(db, "agent_calls"):
        return [Sample("", None)]
    r = rows(
        db,
        "SELECT count(*) AS n, coalesce(sum(outcome != 'succeeded'), 0) AS bad"
        " FROM agent_calls WHERE ts >= ?",
        [since],
    )[0]
    return [Sample("", r["bad"] / r["n"] if r["n"] else None, r["n"])]


PROBES: dict[str, Probe] = {
    "success_rate": success_rate,
    "p95_latency_s": p95_latency_s,
    "cost_per_hour_usd": cost_per_hour_usd,
    "budget_used": budget_used,
    "queue_depth": queue_depth,
    "workers_lost": workers_lost,
    "consecutive_failures": consecutive_failures,
    "lock_violations": lock_violations,
    "agent_failure_rate": agent_failure_rate,
}


def describe(sample: Sample) -> dict[str, Any]:
    return {"scope": sample.scope, "value": sample.value, "n": sample.n}
