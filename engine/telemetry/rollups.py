"""Rollups and retention: hourly / daily / weekly aggregates that outlive the raw events.

`rollup` is incremental: it recomputes only the buckets from the last one it touched onwards
(the last may have been partial). `prune` rolls everything up first, then deletes raw events
before a cutoff aligned down to a week start, so no hour, day or week bucket ever straddles the
cutoff; buckets before it are frozen and never recomputed from the (now partial) raw data.
Deleted pages are reused by SQLite, so a pruned database stops growing.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from engine.store import Store
from engine.telemetry.metrics import PERCENTILES, Queryable, rows

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
        f" WHERE ts >= :since{where}),"
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


def rollup_in(db: sqlite_utils.Database) -> int:
    """Bring rollups up to date inside the caller's transaction; returns buckets written."""
    frozen = _meta(db, "pruned_before") or ""
    seen_id = int(_meta(db, "rolled_id") or 0)
    oldest, top = db.execute(
        "SELECT min(ts), max(id) FROM events WHERE id > ?", [seen_id]
    ).fetchone()
    if top is None:
        return 0
    written = 0
    for period in PERIODS:
        # Events arrive by id, roughly in time order: redo every bucket from the oldest new one.
        first = db.execute(f"SELECT {_BUCKET[period]} FROM (SELECT ? AS ts)", [oldest])
        start = max(first.fetchone()[0], frozen)
        db.execute("DELETE FROM rollups WHERE period = ? AND bucket >= ?", [period, start])
        params = {"since": start, "period": period, "type": ATTEMPTS, "level": "*"}
        written += db.execute(_insert_sql(period, "type, level", ""), params).rowcount
        written += db.execute(_insert_sql(period, "", " AND lat_s IS NOT NULL"), params).rowcount
    _set_meta(db, "rolled_id", str(top))
    return written


def rollup(store: Store) -> int:
    """Incremental rollup on the writer thread (one BEGIN IMMEDIATE transaction)."""
    return store.call(rollup_in).result()


def week_start(ts: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding `ts`."""
    day = ts.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def prune(store: Store, older_than_s: float, *, now: datetime | None = None) -> dict[str, Any]:
    """Roll up, then delete raw events older than `older_than_s` (cutoff aligned down to a
    week start). Returns the cutoff and how many events went."""
    cutoff = week_start((now or datetime.now(UTC)) - timedelta(seconds=older_than_s))
    cutoff_iso = cutoff.isoformat(timespec="seconds")

    def work(db: sqlite_utils.Database) -> dict[str, Any]:
        rolled = rollup_in(db)
        before = _meta(db, "pruned_before") or ""
        _set_meta(db, "pruned_before", max(before, cutoff_iso))
        deleted = db.execute("DELETE FROM events WHERE ts < ?", [cutoff_iso]).rowcount
        if db.execute("SELECT max(id) FROM events").fetchone()[0] is None:
            _set_meta(db, "rolled_id", "0")  # ids restart at 1 in an emptied table
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
