"""Rollups and retention: hourly / daily / weekly aggregates that outlive the raw events.

`rollup` is incremental: it writes each bucket once, after it closed, so its cost follows new
data. `prune` rolls up first, then deletes raw events before a cutoff aligned down to a week
start, so no hour, day or week bucket ever straddles the cutoff; buckets before it are frozen
and never recomputed from the (now partial) raw data.
Deleted pages are reused by SQLite, so a pruned database stops growing.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from engine import clock
from engine.store import Queryable, Store
from engine.telemetry.metrics import PERCENTILES, rows

PERIODS = ("hour", "day", "week")
#: Pseudo-type of the rows summarising every attempt's latency in a bucket (all types).
ATTEMPTS = "attempt.end"
_BUCKET = {
    "hour": "substr(ts, 1, 13) || ':00:00+00:00'",
    "day": "substr(ts, 1, 10) || 'T00:00:00+00:00'",
    "week": "date(substr(ts, 1, 10), 'weekday 0', '-6 days') || 'T00:00:00+00:00'",
}


def _pct_cols() -> str:
    cols = []
    for p in PERCENTILES:
        h = f"((n - 1) * {p!r})"
        lo = f"CAST({h} AS INTEGER)"
        cols.append(
            f"CASE WHEN max(n) > 0 THEN sum(CASE WHEN i = {lo} THEN v * (1 - ({h} - {lo}))"
            f" WHEN i = {lo} + 1 THEN v * ({h} - {lo}) ELSE 0 END) END"
        )
    return ", ".join(cols)


def _insert_sql(period: str, keys: str, where: str) -> str:
    part = ", ".join(["b", *(k.strip() for k in keys.split(",") if k.strip())])
    return (
        "INSERT INTO rollups (period, bucket, type, level, n, lat_n, lat_sum, lat_max,"
        " lat_p50, lat_p95, lat_p99)"
        f" WITH src AS (SELECT {_BUCKET[period]} AS b, type, level, lat_s AS v FROM events"
        f" WHERE ts >= :since AND ts < :until{where}),"
        f" ranked AS (SELECT *, row_number() OVER (PARTITION BY {part}, v IS NULL ORDER BY v) - 1"
        f" AS i, count(v) OVER (PARTITION BY {part}) AS n FROM src)"
        f" SELECT :period, b, {keys or ':type, :level'}, count(*), count(v), sum(v), max(v),"
        f" {_pct_cols()} FROM ranked GROUP BY {part}"
    )


def _meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM telemetry_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO telemetry_meta (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


#: A bucket is rolled up once it ended this long ago: events commit within milliseconds of
#: being made, so nothing arrives for a bucket after that, and no bucket is ever rolled twice.
GRACE_S = 300.0


def bucket_start(period: str, ts: datetime) -> datetime:
    """UTC start of the hour / day / week (Monday) holding `ts`."""
    ts = ts.astimezone(UTC)
    if period == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period == "day" else day - timedelta(days=day.weekday())


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds")


def rollup_in(db: sqlite_utils.Database, now: datetime | None = None) -> int:
    """Roll up every bucket that closed since the last run, inside the caller's transaction.
    Only closed buckets are written, each once, so the cost follows new data, not history;
    the open buckets are read from raw events (which are never pruned that recently)."""
    now = now or clock.now_dt()
    frozen = _meta(db, "pruned_before") or ""
    written = 0
    for period in PERIODS:
        lower = max(_meta(db, f"rolled_{period}") or "", frozen)
        upper = _iso(bucket_start(period, now - timedelta(seconds=GRACE_S)))
        if lower >= upper:
            continue
        db.execute(
            "DELETE FROM rollups WHERE period = ? AND bucket >= ? AND bucket < ?",
            [period, lower, upper],
        )
        params = {"since": lower, "until": upper, "period": period, "type": ATTEMPTS, "level": "*"}
        written += db.execute(_insert_sql(period, "type, level", ""), params).rowcount
        written += db.execute(_insert_sql(period, "", " AND lat_s IS NOT NULL"), params).rowcount
        _set_meta(db, f"rolled_{period}", upper)
    return written


def rollup(store: Store, now: datetime | None = None) -> int:
    """Incremental rollup on the writer thread (one BEGIN IMMEDIATE transaction)."""
    return store.call(lambda db: rollup_in(db, now)).result()


def week_start(ts: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding `ts`."""
    return bucket_start("week", ts)


def prune(store: Store, older_than_s: float, *, now: datetime | None = None) -> dict[str, Any]:
    """Roll up, then delete raw events older than `older_than_s`, cut at a week start that
    is already rolled up, so every deleted event is in an hour, a day and a week rollup."""
    now = now or clock.now_dt()
    cutoff = min(
        bucket_start("week", now - timedelta(seconds=older_than_s)),
        bucket_start("week", now - timedelta(seconds=GRACE_S)),
    )
    cutoff_iso = _iso(cutoff)

    def work(db: sqlite_utils.Database) -> dict[str, Any]:
        rolled = rollup_in(db, now)
        before = _meta(db, "pruned_before") or ""
        _set_meta(db, "pruned_before", max(before, cutoff_iso))
        deleted = db.execute("DELETE FROM events WHERE ts < ?", [cutoff_iso]).rowcount
        return {"cutoff": cutoff_iso, "deleted": deleted, "rollup_rows": rolled}

    result = store.call(work).result()
    try:  # hand the freed WAL pages back; harmless if a reader holds it
        with sqlite3.connect(store.path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        pass
    return result


def rollup_rows(
    db: Queryable,
    period: str = "hour",
    *,
    since: str | None = None,
    type: str | None = None,
) -> list[dict[str, Any]]:
    """Stored rollups of one period, oldest first (`type=ATTEMPTS` for latency by bucket)."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    sql = "SELECT * FROM rollups WHERE period = ?"
    params: list[Any] = [period]
    if since:
        sql += " AND bucket >= ?"
        params.append(since)
    if type:
        sql += " AND type = ?"
        params.append(type)
    return rows(db, sql + " ORDER BY bucket, type, level", params)
