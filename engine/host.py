"""The engine, embedded: sessions run on a background thread's event loop.

The app (or any host program) must not run engine work on its own message loop, and must not
reach into runners to poll. It starts plans and sends control verbs through this object (both
thread-safe) and learns everything else from store subscriptions: batches that have committed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from engine.plan import load_plan
from engine.sessions import (
    RunnerOptions,
    SessionError,
    SessionRunner,
    SessionStatus,
    create_session,
    owner_alive,
    recover,
    request,
    resolve_session,
)
from engine.store import Store


class EngineHost:
    def __init__(self, store: Store, *, options: RunnerOptions | None = None) -> None:
        self.store = store
        self.options = options or RunnerOptions()
        self.runners: dict[str, SessionRunner] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="br-engine",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        self._tasks: dict[str, Future[SessionStatus]] = {}
        self.alerts = self._start_alerts()

    def _start_alerts(self) -> Any:
        """One alert monitor per process, watching every session on this database."""
        from engine.telemetry.alerts import AlertMonitor
        from engine.telemetry.thresholds import load_config

        conf = load_config(Path.cwd())  # ThresholdError: a broken [telemetry] table
        return AlertMonitor(self.store, conf.thresholds, interval=conf.interval_s).start()

    # -- sessions ------------------------------------------------------------------------------

    def start_plan(
        self, plan_path: str | Path, *, workers: int | None = None, name: str | None = None
    ) -> str:
        """Load (raises PlanError), record and start a plan; returns the new session id."""
        plan = load_plan(plan_path)
        workers = workers or plan.workers or self.options.workers
        session_id = create_session(self.store, plan, name=name, workers=workers)
        self.store.flush()
        row = resolve_session(self.store, session_id)
        options = dataclasses.replace(self.options, workers=workers)
        self._launch(SessionRunner(self.store, row, plan.tasks, options))
        return session_id

    def resume(self, ref: str) -> str:
        """Continue a session here: recover it if its owner died, run it if it never started."""
        row = resolve_session(self.store, ref)
        status = SessionStatus(row["status"])
        if status.finished:
            raise SessionError(f"session {row['id']} is already {status}")
        if row["id"] in self.runners:
            return self.control(row["id"], "resume")
        if owner_alive(row, self.options.heartbeat_timeout):
            return request(self.store, row["id"], "resume")
        if status is not SessionStatus.CREATED:
            recover(self.store, row)
            row = resolve_session(self.store, row["id"])
        self._launch(SessionRunner.resume_from_store(self.store, row, self.options))
        return "running"

    def _launch(self, runner: SessionRunner) -> None:
        self.runners[runner.session_id] = runner

        async def go() -> SessionStatus:
            try:
                return await runner.run()
            finally:
                self.runners.pop(runner.session_id, None)

        self._tasks[runner.session_id] = asyncio.run_coroutine_threadsafe(go(), self._loop)

    def control(self, session_id: str, action: str, arg: str | None = None) -> str:
        """Steer a session: directly when it runs here, through a control row otherwise.

        Blocks for at most a few seconds (another process answers within its poll interval);
        call it from a thread worker, not a UI loop.
        """
        runner = self.runners.get(session_id)
        if runner is None:
            return request(self.store, session_id, action, arg)

        async def apply() -> str:
            return runner.apply(action, arg)

        return asyncio.run_coroutine_threadsafe(apply(), self._loop).result(10)

    def running(self) -> list[str]:
        return [sid for sid, r in self.runners.items() if not r.status.finished]

    def wait(self, session_id: str, timeout: float | None = None) -> SessionStatus | None:
        fut = self._tasks.get(session_id)
        return fut.result(timeout) if fut else None

    # -- leaving -------------------------------------------------------------------------------

    def shutdown(self, mode: str = "cancel", timeout: float = 30.0) -> list[str]:
        """End every session this host runs: `cancel`, `pause` (resumable later with
        `br-tui resume`), or `detach` (hand each to a background `br-tui resume` process)."""
        ids = self.running()
        action = {"cancel": "cancel", "pause": "handover", "detach": "handover"}[mode]
        for sid in ids:
            self.control(sid, action)
        for sid in ids:
            try:
                self.wait(sid, timeout)
            except Exception:  # the summary after exit says what state things are in
                pass
        if mode == "pause":
            for sid in ids:
                self.store.write(
                    [("UPDATE sessions SET status=? WHERE id=?", (SessionStatus.PAUSED, sid))]
                )
            self.store.flush()
        if mode == "detach":
            for sid in ids:
                spawn_background_owner(self.store.path, sid)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self.alerts.stop()
        return ids


def spawn_background_owner(db_path: Path, session_id: str) -> int:
    """A detached `br-tui resume` that outlives us; its output goes to a log beside the db."""
    log_dir = Path(db_path).parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"{session_id}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "br_tui", "resume", session_id, "--db", str(db_path), "--quiet"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        env={**os.environ, "BR_BACKGROUND": "1"},
    )
    log.close()
    return proc.pid
