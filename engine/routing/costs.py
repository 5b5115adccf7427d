"""What agent calls cost: one row per call, and sums by model / session / task / day / week.

Readers take anything with `.query(sql, params) -> iterable of dicts` (the `Store`, or a
sqlite-utils `Database`), so the CLI, the app and the budgets share one set of queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine import clock

if TYPE_CHECKING:  # the store itself is not loaded for this: `routing` is on a hook's path
    from engine.store.queryable import Queryable

PERIODS = ("day", "week", "month")
GROUPINGS = {
    "model": "model",
    "session": "coalesce(session_id, '-')",
    "task": "coalesce(session_id, '-') || '/' || coalesce(task_id, '-')",
    "day": "substr(ts, 1, 10)",
    "week": "strftime('%Y-W%W', substr(ts, 1, 19))",
}


@dataclass(slots=True)
class CallRecord:
    """One agent call as stored in `agent_calls`."""

    ts: str
    session_id: str | None
    task_id: str | None
    attempt: int | None
    call_no: int
    backend: str
    model: str
    tier: str | None
    level: str | None
    score: float | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float | None
    cost_source: str | None
    reported_cost_usd: float | None
    latency_s: float | None
    num_turns: int | None
    outcome: str
    failure_class: str | None
    error: str | None
    routing_reason: str | None

    def insert_op(self) -> tuple[str, list[Any]]:
        names = list(self.__slots__)  # type: ignore[attr-defined]
        sql = (
            f"INSERT INTO agent_calls ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
        )
        return sql, [getattr(self, n) for n in names]

    def as_event_data(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self.__slots__ if n not in ("ts",)}  # type: ignore[attr-defined]


def period_start(period: str | None, now: datetime | None = None) -> str | None:
    """Start of the current UTC day / ISO week (Monday) / month, as stored-timestamp text."""
    if period is None:
        return None
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    now = now or clock.now_dt()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        start -= timedelta(days=start.weekday())
    elif period == "month":
        start = start.replace(day=1)
    return start.isoformat(timespec="microseconds")


def _has_table(db: Queryable) -> bool:
    rows = list(
        db.query("SELECT name FROM sqlite_master WHERE type='table' AND name='agent_calls'", [])
    )
    return bool(rows)


def spend_by(
    db: Queryable,
    by: str = "model",
    period: str | None = None,
    *,
    session_id: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Rows `{key, calls, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    cost_usd, unknown_cost_calls}`, most expensive first."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    if not _has_table(db):
        return []
    where, params = _where(period, session_id, now)
    sql = f"""
        SELECT {GROUPINGS[by]} AS key, count(*) AS calls,
               sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
               sum(cache_read_tokens) AS cache_read_tokens,
               sum(cache_write_tokens) AS cache_write_tokens,
               round(coalesce(sum(cost_usd), 0), 6) AS cost_usd,
               sum(cost_usd IS NULL) AS unknown_cost_calls
        FROM agent_calls {where}
        GROUP BY key ORDER BY cost_usd DESC, key
    """
    return [dict(r) for r in db.query(sql, params)]


def total_spend(
    db: Queryable,
    *,
    period: str | None = None,
    session_id: str | None = None,
    now: datetime | None = None,
) -> float:
    if not _has_table(db):
        return 0.0
    where, params = _where(period, session_id, now)
    rows = list(
        db.query(f"SELECT coalesce(sum(cost_usd), 0) AS c FROM agent_calls {where}", params)
    )
    return round(float(rows[0]["c"]), 6) if rows else 0.0


def _where(
    period: str | None, session_id: str | None, now: datetime | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    start = period_start(period, now)
    if start is not None:
        clauses.append("ts >= ?")
        params.append(start)
    if session_id is not None:
        clauses.append("session_id = ?")
        params.append(session_id)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def summary(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The CLI's `costs --json` shape."""
    out = [
        {
            "key": r["key"],
            "calls": int(r["calls"] or 0),
            "input_tokens": int(r["input_tokens"] or 0),
            "output_tokens": int(r["output_tokens"] or 0),
            "cache_read_tokens": int(r["cache_read_tokens"] or 0),
            "cache_write_tokens": int(r["cache_write_tokens"] or 0),
            "cost_usd": round(float(r["cost_usd"] or 0.0), 6),
            "unknown_cost_calls": int(r["unknown_cost_calls"] or 0),
        }
        for r in rows
    ]
    return {"total_usd": round(float(sum(r["cost_usd"] for r in out)), 6), "rows": out}
