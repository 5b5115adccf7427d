"""The engine, out of the host's process: sessions run in background owner processes.

A host program (the app) creates sessions here — in its own process, so a broken plan is
reported at once with file:line — and each is then run by a detached owner process
(`python -m engine.sessions SESSION`, see `engine.sessions.owner`). From then on the host
steers every session the same way, whoever owns it: through control rows the owner obeys
(`engine.sessions.request`, which waits for the owner's answer), and it learns what happened
by reading the database. No engine thread (attempt readers, store writer, alert monitor)
shares the host's GIL or heap.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from engine.plan import load_plan
from engine.sessions import (
    RunnerOptions,
    SessionError,
    SessionStatus,
    create_session,
    request,
    resolve_session,
)
from engine.sessions.owner import Decision, decide_resume, spawn_owner
from engine.store import Store

#: How long a control request waits for an owner we just spawned to take its session
#: (interpreter start + imports + recovery; well under a second on an idle machine).
OWNER_START_S = 15.0


class EngineHost:
    """Starts owners for the sessions a host creates or resumes, and steers sessions."""

    def __init__(self, store: Store, *, options: RunnerOptions | None = None) -> None:
        self.store = store
        self.options = options or RunnerOptions()
        #: session id -> the owner process this host started for it (reaped as they end)
        self.owners: dict[str, subprocess.Popen[bytes]] = {}

    # -- sessions ------------------------------------------------------------------------------

    def start_plan(
        self, plan_path: str | Path, *, workers: int | None = None, name: str | None = None
    ) -> str:
        """Load (raises PlanError) and record a plan, start its owner; returns the session id."""
        plan = load_plan(plan_path)
        workers = workers or plan.workers or self.options.pool_size()
        session_id = create_session(self.store, plan, name=name, workers=workers)
        self.store.flush()
        self.owners[session_id] = spawn_owner(self.store.path, session_id)
        return session_id

    def resume(self, ref: str) -> str:
        """Resume a paused session's live owner, or start an owner that recovers a dead one's
        session (or runs one that never started)."""
        row = resolve_session(self.store, ref)
        sid = row["id"]
        starting = self._starting(sid)
        if decide_resume(row, self.options.heartbeat_timeout, starting=starting) is (
            Decision.ASK_OWNER
        ):
            return self.control(sid, "resume")
        self.owners[sid] = spawn_owner(self.store.path, sid)
        return f"resuming in a background process (pid {self.owners[sid].pid})"

    def control(self, session_id: str, action: str, arg: str | None = None) -> str:
        """Steer a session through a control row; returns the owner's answer.

        Blocks for up to a few seconds (until the owner answers, within its control poll);
        call it from a thread, not a UI loop.
        """
        if self._starting(session_id):
            self._await_owner(session_id)
        return request(
            self.store, session_id, action, arg, heartbeat_timeout=self.options.heartbeat_timeout
        )

    def _starting(self, session_id: str) -> bool:
        """Did we spawn this session's owner, which hasn't taken the session yet?"""
        proc = self.owners.get(session_id)
        if proc is None or proc.poll() is not None:
            return False
        row = resolve_session(self.store, session_id)
        return row["owner_pid"] != proc.pid and not SessionStatus(row["status"]).finished

    def _await_owner(self, session_id: str) -> None:
        deadline = time.monotonic() + OWNER_START_S
        while time.monotonic() < deadline and self._starting(session_id):
            time.sleep(0.02)

    def running(self) -> list[str]:
        """Sessions this host started whose owner is still at work (running or paused)."""
        return [sid for sid, proc in self.owners.items() if proc.poll() is None]

    def wait(self, session_id: str, timeout: float | None = None) -> SessionStatus | None:
        """Wait for the owner we started to end; the session's status then (None: not ours)."""
        proc = self.owners.get(session_id)
        if proc is None:
            return None
        proc.wait(timeout)
        return SessionStatus(resolve_session(self.store, session_id)["status"])

    # -- leaving -------------------------------------------------------------------------------

    def shutdown(self, mode: str = "cancel", timeout: float = 30.0) -> list[str]:
        """What happens to the sessions this host started when it leaves: `cancel` (and wait
        for their owners to finish), `pause` (resumable later with `br-tui resume`), or
        `detach` (their owners keep running them)."""
        if mode not in ("cancel", "pause", "detach"):
            raise ValueError(f"unknown shutdown mode {mode!r}")
        ids = self.running()
        if mode == "detach":
            return ids
        for sid in ids:
            try:
                self.control(sid, mode)
            except SessionError:  # finished meanwhile, or its owner died: nothing to steer
                pass
        if mode == "cancel":
            deadline = time.monotonic() + timeout
            for sid in ids:
                try:
                    self.wait(sid, max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:  # the summary after exit says where it is
                    pass
        return ids
