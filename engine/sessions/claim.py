"""Taking ownership of a session: one atomic compare-and-set, so two processes never both run it.

Two `br-tui resume` started together used to both see a dead owner, both recover and both run
every remaining task. Ownership is now taken in one `BEGIN IMMEDIATE` transaction on the
session row: read the recorded owner, and only if it is gone (or is us) write our pid, host and
a fresh heartbeat. SQLite serialises such transactions across processes, so exactly one claimer
sees the owner gone; every later one sees the winner's pid (alive, beating) and is refused with
a `SessionError` that names it. Claiming comes first, before recovery kills or requeues
anything: the loser touches nothing.

An owner on this host is alive while the very process that claimed lives (its pid, boot id and
start time match: a recycled pid, or a pid after a reboot, is not the owner); on another host
(a shared database), while its heartbeat is fresh.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from engine import clock
from engine.locks import HOST, pid_alive
from engine.sessions import journal
from engine.sessions.repo import SessionError
from engine.sessions.states import SessionStatus
from engine.store import Store


@dataclass(frozen=True, slots=True)
class Owner:
    """Who holds a session: what a refused claim reports."""

    pid: int
    host: str | None
    heartbeat_at: str | None
    start: str | None = None  # `process_start` of the owner, recorded when it claimed

    def describe(self) -> str:
        where = "" if self.host in (None, HOST) else f" on {self.host}"
        return f"pid {self.pid}{where}"


def process_start(pid: int) -> str | None:
    """`boot id:start time` of a live process: the same only for the very same process (a
    reused pid starts later; after a reboot the boot id differs). None when it is gone."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if len(fields) < 20 or fields[0] == b"Z":
        return None
    return f"{boot}:{fields[19].decode()}"  # field 22 of stat: start time in clock ticks


def _is_owner_program(pid: int) -> bool:
    """Is `pid` a br-tui process (not an unrelated one that reused a dead owner's pid)?"""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read()
    except OSError:
        return False
    return b"br_tui" in argv or b"br-tui" in argv


def holds(owner: Owner, heartbeat_timeout: float) -> bool:
    """Is this recorded owner still running its session?

    On this host the process itself answers: a live br-tui process at the owner's pid owns
    the session however late its heartbeat (one stopped with Ctrl-Z would otherwise wake up
    beside a second owner). Elsewhere, and for an owner that runs inside another program,
    a fresh heartbeat is the only sign of life.
    """
    if owner.host in (None, HOST):
        if owner.start is not None:  # exact: the very process that claimed it, or gone
            return process_start(owner.pid) == owner.start
        if not pid_alive(owner.pid):
            return False
        if _is_owner_program(owner.pid):
            return True
    if not owner.heartbeat_at:
        return False
    age = (clock.now_dt() - datetime.fromisoformat(owner.heartbeat_at)).total_seconds()
    return age <= heartbeat_timeout


def claim_session(store: Store, session_id: str, *, heartbeat_timeout: float = 30.0) -> None:
    """Make this process the session's owner, or raise `SessionError` naming the owner."""
    me = os.getpid()

    def cas(db: sqlite_utils.Database) -> Owner | str | None:
        row = db.execute(
            "SELECT status, owner_pid, owner_host, owner_heartbeat_at, owner_start FROM sessions"
            " WHERE id=?",
            (session_id,),
        ).fetchone()
        if row is None:
            return f"unknown session '{session_id}'"
        status, pid, host, beat, start = row
        if SessionStatus(status).finished:
            return f"session {session_id} is already {status}"
        if pid is not None and not (pid == me and host == HOST):
            owner = Owner(pid, host, beat, start if pid else None)
            if holds(owner, heartbeat_timeout):
                return owner
        journal.owner_claimed(db, session_id, me, process_start(me))
        return None

    result = store.call(cas).result()
    if isinstance(result, Owner):
        raise SessionError(
            f"session {session_id} is owned by {result.describe()}: not taking it over"
            " (one owner at a time; pause/resume/cancel steer it from here)"
        )
    if isinstance(result, str):
        raise SessionError(result)
