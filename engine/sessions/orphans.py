"""Finding and killing what a dead owner left running, by the marker on every task process.

The attempt row that names a task's process group is committed after the spawn; an owner killed
in between leaves a running task no row names. Every task process carries `BR_SESSION` and
`BR_TASK` from its exec on, so recovery looks for the marker in /proc instead of trusting the
rows: whatever the owner got as far as starting is found, however early the owner died.

A process group is killed whole only through its leader, when the leader itself carries the
session's marker (so a group we don't own, such as a shell where someone exported the variables
by hand, is never signalled); any other marked process is killed on its own. Recovery then
waits for the marked processes to be gone: a lock is free only when its task's processes are.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

from engine.locks import TaskProcess, task_processes

#: How long to wait for SIGKILLed processes to disappear. They die at once unless stuck in
#: the kernel (uninterruptible I/O); then recovery refuses rather than run the task twice.
KILL_WAIT_S = 10.0


@dataclass(slots=True)
class OrphanReport:
    killed: int = 0  # process groups (or lone processes) signalled
    survivors: list[TaskProcess] = field(default_factory=list)


def _signal(pid: int, group: bool) -> bool:
    try:
        for sig in (signal.SIGKILL, signal.SIGCONT):  # SIGCONT: a paused group dies too
            (os.killpg if group else os.kill)(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_session_processes(session_id: str, *, wait_s: float = KILL_WAIT_S) -> OrphanReport:
    """SIGKILL every live process marked with this session on this host; wait until none is
    left (or `wait_s` passes: what remains is reported as survivors)."""
    report = OrphanReport()
    deadline = time.monotonic() + wait_s
    signalled: set[tuple[int, bool]] = set()
    while True:
        procs = task_processes(session_id)
        if not procs:
            report.survivors = []
            return report
        if time.monotonic() >= deadline:
            report.survivors = procs
            return report
        leaders = {p.pid for p in procs if p.pid == p.pgid}
        for p in procs:
            target = (p.pgid, True) if p.pgid in leaders else (p.pid, False)
            if _signal(*target) and target not in signalled:
                signalled.add(target)
                report.killed += 1
        time.sleep(0.02)


def kill_orphans(session_id: str) -> int:
    """`kill_session_processes`, refusing (SessionError) while a task process survives: its
    lock must stay held and the task must not run again beside it."""
    from engine.sessions.repo import SessionError

    report = kill_session_processes(session_id)
    if report.survivors:
        alive = ", ".join(f"{p.task_id} (pid {p.pid})" for p in report.survivors[:5])
        raise SessionError(
            f"session {session_id}: task processes survived SIGKILL: {alive}; try again later"
        )
    return report.killed
