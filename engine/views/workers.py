"""Worker pools: what the Workers screen and the `workers` verb show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.store.queryable import Queryable

Row = dict[str, Any]
#: Pools shown at most (the active sessions, newest first).
POOLS_SHOWN = 20


@dataclass(slots=True)
class Pools:
    """The active sessions' pools (target, queue, running) and their workers; when nothing
    runs, the newest session's (offline) pool."""

    sessions: list[Row]
    workers: list[Row]  # worker columns, plus `task_started` of its current task
    members: list[Row] = field(default_factory=list)  # the Dask cluster workers they run on


def pools(db: Queryable) -> Pools:
    sessions = list(
        db.query(
            "SELECT s.id, s.name, s.status, s.workers, s.owner_pid,"
            " (SELECT count(*) FROM tasks t WHERE t.session_id=s.id"
            "   AND t.state IN ('queued','waiting_lock','retrying')) AS queued,"
            " (SELECT count(*) FROM tasks t WHERE t.session_id=s.id AND t.state='running')"
            "   AS running"
            " FROM sessions s WHERE s.status IN ('running','paused')"
            " ORDER BY s.created_at DESC LIMIT ?",
            (POOLS_SHOWN,),
        )
    )
    if not sessions:  # nothing runs: show the latest session's (offline) pool
        sessions = list(
            db.query(
                "SELECT id, name, status, workers, owner_pid, 0 AS queued, 0 AS running"
                " FROM sessions ORDER BY created_at DESC, rowid DESC LIMIT 1"
            )
        )
    ids = [s["id"] for s in sessions]
    workers: list[Row] = []
    if ids:
        marks = ",".join("?" * len(ids))
        workers = list(
            db.query(
                "SELECT w.*, t.started_at AS task_started FROM workers w LEFT JOIN tasks t"
                " ON t.session_id=w.session_id AND t.id=w.current_task"
                f" WHERE w.session_id IN ({marks})"
                " ORDER BY w.session_id, CAST(substr(w.id, 2) AS INTEGER), w.id",
                ids,
            )
        )
    from engine.executors.dask import cluster_members  # rows only: never loads distributed

    return Pools(sessions, workers, cluster_members(db, ids))


def session_workers(db: Queryable, session_id: str) -> list[Row]:
    """One session's workers in number order, each with its `utilization`."""
    rows = list(
        db.query(
            "SELECT * FROM workers WHERE session_id=? ORDER BY CAST(substr(id, 2) AS INTEGER)",
            (session_id,),
        )
    )
    for w in rows:
        w["utilization"] = utilization(w)
    return rows


def utilization(w: Row) -> float | None:
    """Busy share of the worker's life so far, from its last heartbeat row."""
    if not (w["started_at"] and w["heartbeat_at"]):
        return None
    alive = (
        datetime.fromisoformat(w["heartbeat_at"]) - datetime.fromisoformat(w["started_at"])
    ).total_seconds()
    return round(min(w["busy_s"] / alive, 1.0), 3) if alive > 0 else None
