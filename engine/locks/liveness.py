"""Is a task's process still alive? Found by the marker every task process carries.

Every task runs with `BR_SESSION=<session>` and `BR_TASK=<task>` in its environment, set at
exec, before it can do any work. That marker, not a pid in the database, is what makes a lock
held: an owner killed between starting a task and committing its attempt row leaves a process
no row names, and it still writes the files its lock covers. So a lock is free only when no
live process of its task remains on this host, whoever owned the session and whatever the rows
say. Zombies don't count (their environment is gone with their memory, and they write nothing).

/proc is read directly: one directory listing and one small read per process of ours, a few
milliseconds, paid only when a lock's owner looks gone or a session is recovered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TaskProcess:
    pid: int
    pgid: int
    session_id: str
    task_id: str


def _markers(env: bytes) -> tuple[str, str] | None:
    """(session, task) from a NUL-separated environment block, or None when unmarked."""
    sid = tid = None
    for entry in env.split(b"\0"):
        if entry.startswith(b"BR_SESSION="):
            sid = entry[11:].decode("utf-8", "replace")
        elif entry.startswith(b"BR_TASK="):
            tid = entry[8:].decode("utf-8", "replace")
    return (sid, tid) if sid is not None and tid is not None else None


def _pgid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rsplit(b")", 1)[-1].split()
    if len(fields) < 3 or fields[0] == b"Z":
        return None  # a zombie: dead, waiting to be reaped
    return int(fields[2])


def task_processes(session_id: str | None = None, task_id: str | None = None) -> list[TaskProcess]:
    """Live processes on this host marked as tasks (of `session_id`, and of `task_id`)."""
    me = os.getpid()
    found = []
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:  # no /proc (not Linux): nothing can be found this way
        return []
    for pid in pids:
        if pid == me:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
        except OSError:  # gone, or not ours
            continue
        if b"BR_SESSION=" not in env:
            continue
        marks = _markers(env)
        if marks is None:
            continue
        sid, tid = marks
        if (session_id is not None and sid != session_id) or (
            task_id is not None and tid != task_id
        ):
            continue
        pgid = _pgid(pid)
        if pgid is not None:
            found.append(TaskProcess(pid, pgid, sid, tid))
    return found


def task_alive(session_id: str, task_id: str) -> bool:
    """Does any live process of this task remain on this host?"""
    return bool(task_processes(session_id, task_id))
