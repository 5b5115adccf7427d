"""Metrics over what the store recorded, computed in SQLite where the data lives.

Percentiles use window functions (rank each value inside its group, interpolate between the two
closest ranks — the "inclusive"/linear definition of numpy and `statistics.quantiles`), so a
million events never cross into Python. Sources: attempt-ending events carry `wall_s`
(latency by task / session / time window); `agent_calls` carries model, cost, latency and failure
class; `workers` carries busy time; `tasks` carries current states (queue depth now).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.events import EventType
from engine.store.db import now_iso
from engine.store.queryable import Queryable

PERCENTILES = (0.5, 0.95, 0.99)
#: Events that end one attempt and carry its `wall_s`.
ATTEMPT_END = (
    EventType.TASK_SUCCEEDED,
    EventType.TASK_FAILED,
    EventType.TASK_TIMED_OUT,
    EventType.TASK_RETRIED,
)
#: Events that end a task for good (cancellations are neither success nor failure).
TASK_FINAL = (EventType.TASK_SUCCEEDED, EventType.TASK_FAILED, EventType.TASK_TIMED_OUT)
_TIME_GROUPS = {"minute": 16, "hour": 13, "day": 10}


def rows(db: Queryable, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    return list(db.query(sql, params))


def has_table(db: Queryable, name: str) -> bool:
    return bool(rows(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)))


def _in(values: Sequence[str]) -> str:
    return "(" + ",".join(f"'{v}'" for v in values) + ")"  # fixed enum values, never user text


def percentile_sql(source: str, *, order: str = "n DESC") -> str:
    """SQL that summarises `source` — a SELECT of columns `g` (group) and `v` (value) — into
    one row per group: key, n, min, max, mean, p50, p95, p99."""
    cols = []
    for p in PERCENTILES:
        h = f"((n - 1) * {p!r})"
        lo = f"CAST({h} AS INTEGER)"
        cols.append(
            f"sum(CASE WHEN i = {lo} THEN v * (1 - ({h} - {lo}))"
            f" WHEN i = {lo} + 1 THEN v * ({h} - {lo}) ELSE 0 END) AS p{round(p * 100)}"
        )
    return (
        f"WITH src AS ({source}),"
        " ranked AS (SELECT g, v, row_number() OVER (PARTITION BY g ORDER BY v) - 1 AS i,"
        " count(*) OVER (PARTITION BY g) AS n FROM src WHERE v IS NOT NULL)"
        f" SELECT g AS key, n, min(v) AS min, max(v) AS max, avg(v) AS mean, {', '.join(cols)}"
        f" FROM ranked GROUP BY g ORDER BY {order}"
    )


def _where(since: str | None, session_id: str | None, ts: str = "ts") -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since:
        clauses.append(f"{ts} >= ?")
        params.append(since)
    if session_id:
        clauses.append("session_id = ?")
        params.append(session_id)
    return (" AND " + " AND ".join(clauses)) if clauses else "", params


def latency(
    db: Queryable,
    by: str = "all",
    *,
    since: str | None = None,
    session_id: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Latency percentiles in seconds, grouped `by` all | task | session | model | minute |
    hour | day. Tasks and sessions use attempt wall time; `model` uses agent-call latency."""
    if by == "model":
        if not has_table(db, "agent_calls"):
            return []
        where, params = _where(since, session_id)
        source = f"SELECT model AS g, latency_s AS v FROM agent_calls WHERE 1=1{where}"
    else:
        group = {
            "all": "'all'",
            "task": "task_id",
            "session": "session_id",
            **{k: f"substr(ts, 1, {n})" for k, n in _TIME_GROUPS.items()},
        }.get(by)
        if group is None:
            raise ValueError(f"unknown grouping {by!r}")
        where, params = _where(since, session_id)
        if by == "all":
            found = overall_latency(db, where, params)
            return [found] if found else []
        source = (
            f"SELECT {group} AS g, lat_s AS v FROM events"
            f" WHERE type IN {_in(ATTEMPT_END)} AND lat_s IS NOT NULL{where}"
        )
    order = "key" if by in _TIME_GROUPS else "p95 DESC"
    sql = percentile_sql(source, order=order) + (f" LIMIT {int(limit)}" if limit else "")
    return [_round(r) for r in rows(db, sql, params)]


def overall_latency(
    db: Queryable,
    where: str = "",
    params: Sequence[Any] = (),
    percentiles: Sequence[float] = PERCENTILES,
) -> dict[str, Any]:
    """Ungrouped percentiles by walking the `events_lat` index to the two ranks around each
    percentile: a few milliseconds over a million events, where sorting takes a second."""
    base = f"FROM events WHERE lat_s IS NOT NULL{where}"
    head = rows(db, f"SELECT count(*) AS n, min(lat_s) AS min, max(lat_s) AS max,"
                f" avg(lat_s) AS mean {base}", params)[0]  # fmt: skip
    n = head["n"]
    if not n:
        return {}
    out: dict[str, Any] = {"key": "all", **head}
    for p in percentiles:
        h = (n - 1) * p
        lo = int(h)
        pair = [r["v"] for r in rows(db, f"SELECT lat_s AS v {base} ORDER BY lat_s LIMIT 2"
                                         " OFFSET ?", [*params, lo])]  # fmt: skip
        hi = pair[1] if len(pair) > 1 else pair[0]
        out[f"p{round(p * 100)}"] = pair[0] + (hi - pair[0]) * (h - lo)
    return _round(out)


def _round(row: dict[str, Any], digits: int = 6) -> dict[str, Any]:
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in row.items()}


def outcomes(
    db: Queryable, *, since: str | None = None, session_id: str | None = None
) -> dict[str, Any]:
    """Final task outcomes, success rate and throughput (finished tasks per minute)."""
    where, params = _where(since, session_id)
    found = rows(
        db,
        "SELECT type, count(*) AS n, min(ts) AS first, max(ts) AS last FROM events"
        f" WHERE type IN {_in((*TASK_FINAL, EventType.TASK_CANCELLED))}{where} GROUP BY type",
        params,
    )
    counts = {str(t): 0 for t in (*TASK_FINAL, EventType.TASK_CANCELLED)}
    first = last = None
    for r in found:
        counts[r["type"]] = r["n"]
        first = min(first or r["first"], r["first"])
        last = max(last or r["last"], r["last"])
    finished = sum(counts[str(t)] for t in TASK_FINAL)
    span = _seconds_between(first, last)
    return {
        "succeeded": counts[EventType.TASK_SUCCEEDED],
        "failed": counts[EventType.TASK_FAILED],
        "timed_out": counts[EventType.TASK_TIMED_OUT],
        "cancelled": counts[EventType.TASK_CANCELLED],
        "success_rate": round(counts[EventType.TASK_SUCCEEDED] / finished, 4) if finished else None,
        "throughput_per_min": round(finished * 60 / span, 3) if span else None,
        "first": first,
        "last": last,
    }


def _seconds_between(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    from datetime import datetime

    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() or None


def event_counts(
    db: Queryable, *, since: str | None = None, session_id: str | None = None
) -> dict[str, Any]:
    """How many events of each type and each level."""
    where, params = _where(since, session_id)
    found = rows(
        db,
        f"SELECT type, level, count(*) AS n FROM events WHERE 1=1{where} GROUP BY type, level",
        params,
    )
    by_type: dict[str, int] = {}
    by_level: dict[str, int] = {}
    for r in found:
        by_type[r["type"]] = by_type.get(r["type"], 0) + r["n"]
        by_level[r["level"]] = by_level.get(r["level"], 0) + r["n"]
    return {"total": sum(by_type.values()), "by_type": by_type, "by_level": by_level}


def cost(
    db: Queryable,
    by: str = "model",
    *,
    since: str | None = None,
    session_id: str | None = None,
) -> list[dict[str, Any]]:
    """Agent spend grouped by model | session | day (UTC); calls of unknown cost are counted."""
    if not has_table(db, "agent_calls"):
        return []
    group = {"model": "model", "session": "session_id", "day": "substr(ts, 1, 10)"}.get(by)
    if group is None:
        raise ValueError(f"unknown grouping {by!r}")
    where, params = _where(since, session_id)
    return [
        _round(r)
        for r in rows(
            db,
            f"SELECT {group} AS key, count(*) AS calls, round(coalesce(sum(cost_usd), 0), 6)"
            " AS cost_usd, sum(cost_usd IS NULL) AS unknown_cost, sum(input_tokens) AS"
            " input_tokens, sum(output_tokens) AS output_tokens"
            f" FROM agent_calls WHERE 1=1{where} GROUP BY key ORDER BY cost_usd DESC, key",
            params,
        )
    ]


#: How a task attempt's failure is classed when no agent failure class was recorded.
_TASK_CLASS = (
    "CASE WHEN type = 'task.timed_out' OR json_extract(data, '$.reason') LIKE 'timed out%'"
    " THEN 'timeout'"
    " WHEN json_extract(data, '$.failure_class') IS NOT NULL"
    " THEN json_extract(data, '$.failure_class')"
    " WHEN json_extract(data, '$.reason') LIKE 'dependency%' THEN 'dependency'"
    " WHEN json_extract(data, '$.reason') LIKE 'executor error%' THEN 'executor_error'"
    " WHEN json_extract(data, '$.exit_code') IS NOT NULL THEN 'exit_code'"
    " ELSE 'other' END"
)


def errors(
    db: Queryable, *, since: str | None = None, session_id: str | None = None
) -> list[dict[str, Any]]:
    """Failures by class: task attempts (timeout, exit code, dependency, executor error) and
    agent calls (rate limited, overloaded, authentication, ... from routing's classifier)."""
    where, params = _where(since, session_id)
    out = rows(
        db,
        f"SELECT 'task' AS source, {_TASK_CLASS} AS class, count(*) AS n FROM events"
        " WHERE type IN ('task.failed', 'task.timed_out', 'task.retried')"
        f"{where} GROUP BY class",
        params,
    )
    if has_table(db, "agent_calls"):
        out += rows(
            db,
            "SELECT 'agent' AS source, coalesce(failure_class, 'unknown') AS class, count(*) AS n"
            f" FROM agent_calls WHERE outcome != 'succeeded'{where} GROUP BY class",
            params,
        )
    return sorted(out, key=lambda r: (-r["n"], r["source"], r["class"]))


def worker_utilization(
    db: Queryable, *, since: str | None = None, session_id: str | None = None
) -> list[dict[str, Any]]:
    """Per session: busy worker-seconds over available worker-seconds (workers x wall time)."""
    where, params = _where(since, session_id, ts="s.created_at")
    where = where.replace("session_id", "s.id")
    found = rows(
        db,
        "SELECT s.id AS session_id, s.status, count(w.id) AS workers,"
        " coalesce(sum(w.busy_s), 0) AS busy_s,"
        " (julianday(coalesce(s.ended_at, ?))"
        " - julianday(s.started_at)) * 86400.0 AS wall_s"
        " FROM sessions s LEFT JOIN workers w ON w.session_id = s.id"
        f" WHERE s.started_at IS NOT NULL{where} GROUP BY s.id ORDER BY s.created_at DESC",
        [now_iso(), *params],
    )
    for r in found:
        avail = (r["wall_s"] or 0) * (r["workers"] or 0)
        r["utilization"] = round(min(1.0, r["busy_s"] / avail), 4) if avail > 0 else None
        r["wall_s"] = round(r["wall_s"] or 0, 3)
        r["busy_s"] = round(r["busy_s"], 3)
    return found


#: +1 when a task enters the queue, -1 when it leaves it (starts, or ends without running).
_QUEUE_DELTA = (
    "CASE WHEN type IN ('task.queued', 'task.retried', 'task.requeued') THEN 1"
    " WHEN type = 'task.started' THEN -1"
    " WHEN type IN ('task.cancelled', 'task.failed')"
    " AND json_extract(data, '$.attempt') IS NULL THEN -1 ELSE 0 END"
)


def queue_depth(
    db: Queryable,
    *,
    session_id: str | None = None,
    bucket: str = "minute",
    since: str | None = None,
) -> list[dict[str, Any]]:
    """Tasks waiting to run over time, per `bucket` (minute | hour | day): the deepest and the
    last depth in each bucket, replayed from queue/start/end events."""
    width = _TIME_GROUPS.get(bucket)
    if width is None:
        raise ValueError(f"unknown bucket {bucket!r}")
    where, params = _where(None, session_id)
    sql = (
        "WITH d AS (SELECT ts, id, sum(" + _QUEUE_DELTA + ") OVER (ORDER BY id) AS depth"
        f" FROM events WHERE type LIKE 'task.%'{where}),"
        f" b AS (SELECT substr(ts, 1, {width}) AS bucket, id, depth,"
        f" max(id) OVER (PARTITION BY substr(ts, 1, {width})) AS last_id FROM d"
        + (" WHERE ts >= ?" if since else "")
        + ") SELECT bucket, max(depth) AS max_depth,"
        " max(CASE WHEN id = last_id THEN depth END) AS last_depth"
        " FROM b GROUP BY bucket ORDER BY bucket"
    )
    if since:
        params.append(since)
    return rows(db, sql, params)


def queue_now(db: Queryable) -> int:
    """Tasks waiting to run right now in sessions that are running or paused."""
    return rows(
        db,
        "SELECT count(*) AS n FROM tasks t JOIN sessions s ON s.id = t.session_id"
        " WHERE s.status IN ('running', 'paused')"
        " AND t.state IN ('queued', 'retrying', 'waiting_lock')",
    )[0]["n"]


def resources(
    db: Queryable,
    *,
    since: str | None = None,
    session_id: str | None = None,
    limit: int = 10,
) -> dict[str, Any]:
    """Resource use of finished attempts (wall, CPU, peak RSS from the OS): totals and the
    heaviest tasks, for the performance view."""
    where, params = _where(since, session_id, ts="started_at")
    total = rows(
        db,
        "SELECT count(*) AS attempts, round(coalesce(sum(wall_s), 0), 3) AS wall_s,"
        " round(coalesce(sum(cpu_s), 0), 3) AS cpu_s, max(peak_rss_kb) AS peak_rss_kb"
        f" FROM attempts WHERE ended_at IS NOT NULL{where}",
        params,
    )[0]
    top = rows(
        db,
        "SELECT session_id, task_id, count(*) AS attempts, round(sum(wall_s), 3) AS wall_s,"
        " round(sum(cpu_s), 3) AS cpu_s, max(peak_rss_kb) AS peak_rss_kb"
        f" FROM attempts WHERE ended_at IS NOT NULL{where}"
        " GROUP BY session_id, task_id ORDER BY wall_s DESC LIMIT ?",
        [*params, limit],
    )
    return {**total, "top": top}


def summary(
    db: Queryable, *, since: str | None = None, session_id: str | None = None
) -> dict[str, Any]:
    """The one-glance view: outcomes, latency, cost, errors, event counts."""
    lat = latency(db, "all", since=since, session_id=session_id)
    costs = cost(db, "model", since=since, session_id=session_id)
    return {
        "since": since,
        "session_id": session_id,
        "tasks": outcomes(db, since=since, session_id=session_id),
        "latency_s": lat[0] if lat else None,
        "cost_usd": round(sum(c["cost_usd"] for c in costs), 6) if costs else None,
        "cost_by_model": costs,
        "errors": errors(db, since=since, session_id=session_id),
        "events": event_counts(db, since=since, session_id=session_id),
    }
