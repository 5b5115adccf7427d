"""Claiming and releasing file locks, atomically across sessions and processes.

A claim runs inside the writer's `BEGIN IMMEDIATE` transaction: read every lock held, decide,
insert ours — no other process can slip in between. A lock whose owner process is gone (same
host, dead pid) or whose session owner stopped beating its heart is reclaimed on the spot.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from engine import clock
from engine.locks.globs import any_overlap
from engine.locks.liveness import task_processes
from engine.store.db import now_iso

HOST = socket.gethostname()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(slots=True)
class Holder:
    session_id: str
    task_id: str
    pattern: str
    owner_pid: int


def _owner_gone(db: sqlite_utils.Database, row: dict, stale_after: float) -> bool:
    if row["owner_host"] == HOST:
        return not pid_alive(row["owner_pid"])
    hb = db.execute(
        "SELECT owner_heartbeat_at FROM sessions WHERE id=?", (row["session_id"],)
    ).fetchone()
    if not hb or not hb[0]:
        return False
    age = clock.now_dt() - datetime.fromisoformat(hb[0])
    return age > timedelta(seconds=stale_after)


def claim(
    session_id: str,
    task_id: str,
    patterns: tuple[str, ...],
    *,
    stale_after: float = 30.0,
    pid: int | None = None,
) -> object:
    """A function for `Store.acall`: returns None when claimed, else the `Holder` in the way."""
    owner = pid or os.getpid()

    def run(db: sqlite_utils.Database) -> Holder | None:
        rows = list(db.query("SELECT * FROM locks"))
        dead: list[int] = []
        live: set[tuple[str, str]] | None = None  # one /proc scan per claim, only when needed
        for row in rows:
            if row["session_id"] == session_id and row["task_id"] == task_id:
                continue
            if not any_overlap(patterns, (row["pattern"],)):
                continue
            if _owner_gone(db, row, stale_after):
                if row["owner_host"] == HOST:
                    if live is None:
                        live = {(p.session_id, p.task_id) for p in task_processes()}
                    orphan = (row["session_id"], row["task_id"]) in live
                else:
                    orphan = False  # another host's processes can't be seen from here
                if not orphan:
                    dead.append(row["id"])
                    continue
            return Holder(row["session_id"], row["task_id"], row["pattern"], row["owner_pid"])
        if dead:
            db.execute(f"DELETE FROM locks WHERE id IN ({','.join('?' * len(dead))})", dead)
        stamp = now_iso()
        db["locks"].insert_all(
            [
                {
                    "pattern": p,
                    "session_id": session_id,
                    "task_id": task_id,
                    "owner_pid": owner,
                    "owner_host": HOST,
                    "acquired_at": stamp,
                }
                for p in patterns
            ]
        )
        return None

    return run


def release_sql(session_id: str, task_id: str) -> tuple[str, tuple[str, str]]:
    """Release is a plain write: it can ride in the next group commit with the task's state."""
    return "DELETE FROM locks WHERE session_id=? AND task_id=?", (session_id, task_id)
