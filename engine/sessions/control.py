"""Steering a session from outside its owner: control rows, and recovery of a dead owner.

A live owner obeys rows in `controls` (it polls a few times a second). When the owner is gone —
its pid is dead on this host, or its heartbeat is older than the timeout — nobody would read a
row, so the caller acts itself: `recover` kills what is left of the owner's process groups,
marks its workers offline and puts its unfinished tasks back in the queue, recording each step.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime
from typing import Any

import sqlite_utils

from engine import clock
from engine.locks import HOST, pid_alive
from engine.sessions import journal
from engine.sessions.claim import claim_session
from engine.sessions.orphans import kill_orphans
from engine.sessions.repo import SessionError, resolve_session
from engine.sessions.states import ACTIVE_SESSION, SessionStatus
from engine.store import Store, now_iso

ACTIONS = {"pause", "resume", "cancel", "scale", "cancel_task"}


def owner_alive(session: dict[str, Any], heartbeat_timeout: float = 30.0) -> bool:
    if session["status"] not in ACTIVE_SESSION or not session.get("owner_pid"):
        return False
    if session.get("owner_host") == HOST and not pid_alive(session["owner_pid"]):
        return False
    beat = session.get("owner_heartbeat_at")
    if not beat:
        return False
    age = (clock.now_dt() - datetime.fromisoformat(beat)).total_seconds()
    return age <= heartbeat_timeout


def request(
    store: Store,
    ref: str | None,
    action: str,
    arg: str | None = None,
    *,
    wait: float = 5.0,
    heartbeat_timeout: float = 30.0,
) -> str:
    """Ask the session's owner to act; returns the owner's answer (or what we did ourselves)."""
    if action not in ACTIONS:
        raise SessionError(f"unknown action '{action}'")
    session = resolve_session(store, ref)
    status = SessionStatus(session["status"])
    if status.finished:
        raise SessionError(f"session {session['id']} is already {status}")
    if not owner_alive(session, heartbeat_timeout):
        if action == "cancel":
            claim_session(store, session["id"], heartbeat_timeout=heartbeat_timeout)
            recover(store, session, reason="cancelled while its owner was gone")
            cancel_unowned(store, session["id"])
            return "cancelled"
        if status is SessionStatus.CREATED:
            raise SessionError(f"session {session['id']} hasn't started: `br-tui resume` runs it")
        raise SessionError(
            f"session {session['id']}'s owner (pid {session['owner_pid']}) is gone:"
            " `br-tui resume` recovers and finishes it"
        )
    control_id = journal.control_requested(store, session["id"], action, arg)
    if session.get("owner_wake") and session.get("owner_host") == HOST:
        try:  # the owner installed a handler and said so: wake it instead of waiting a poll
            os.kill(session["owner_pid"], signal.SIGUSR1)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        rows = store.query("SELECT result FROM controls WHERE id=? AND handled_at IS NOT NULL",
                           (control_id,))  # fmt: skip
        if rows:
            return str(rows[0]["result"])
        time.sleep(0.01)
    return "requested (the owner hasn't answered yet)"


def is_task_process(pid: int, session_id: str, task_id: str) -> bool:
    """Is `pid` still the leader of that task's process group, not a reuse of its pid?

    Every task runs with BR_SESSION and BR_TASK in its environment; a recycled pid won't have
    both. Unreadable (gone, or not ours) means no.
    """
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = set(f.read().split(b"\0"))
    except OSError:
        return False
    return f"BR_SESSION={session_id}".encode() in env and f"BR_TASK={task_id}".encode() in env


def _kill_leftovers(db: sqlite_utils.Database, session: dict[str, Any]) -> int:
    """Kill task process groups a dead owner left running on this host."""
    if session.get("owner_host") not in (None, HOST):
        return 0  # pids elsewhere mean nothing here; that host's processes die with its owner
    killed = 0
    for row in db.query(
        "SELECT pid, task_id FROM attempts WHERE session_id=? AND ended_at IS NULL"
        " AND pid IS NOT NULL",
        (session["id"],),
    ):
        if not is_task_process(row["pid"], session["id"], row["task_id"]):
            continue
        for sig in (signal.SIGKILL, signal.SIGCONT):
            try:
                os.killpg(row["pid"], sig)
            except (ProcessLookupError, PermissionError):
                break
        else:
            killed += 1
    return killed


def recover(store: Store, session: dict[str, Any], *, reason: str = "owner died") -> dict[str, int]:
    """Make a dead owner's session resumable; returns what was cleaned up. Idempotent."""
    sid = session["id"]
    stamp = now_iso()
    why = f"{reason} (pid {session.get('owner_pid')})"
    orphans = kill_orphans(sid)  # by marker: also a task started just before its owner died

    def run(db: sqlite_utils.Database) -> dict[str, Any]:
        killed = _kill_leftovers(db, session) + orphans
        dead = session.get("owner_pid")
        return {"killed": killed, **journal.take_back(db, sid, stamp, why, dead)}

    result = store.call(run).result()
    events = journal.taken_back_events(
        sid, why, result["killed"], result["workers"], result["tasks"]
    )
    store.write(events=events)
    store.flush()
    return {"killed": result["killed"], "workers": len(result["workers"]),
            "requeued": len(result["tasks"])}  # fmt: skip


def cancel_unowned(store: Store, session_id: str, reason: str = "cancelled by user") -> None:
    """Cancel a session nobody runs: its unfinished tasks end cancelled, the session too."""
    stamp = now_iso()
    ids = store.call(lambda db: journal.cancel_all(db, session_id, stamp, reason)).result()
    store.write(events=journal.cancelled_events(session_id, ids, reason))
    store.flush()
