"""The owner: the process that runs one session to its end.

Everything between "this process will run session S" and "S has ended" lives here, so the
engine runs a session without any UI: the set-up (under the GC policy below), the one
resume-or-recover decision, the alert monitor, the signals (Ctrl-C cancels cleanly, a second
one stops every task at once), and the background owner a host starts as
`python -m engine.sessions SESSION --db PATH`. The command line (`br-tui run` / `resume`) and
the app's host only choose what to start and print what came of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.plan import Plan, PlanError, load_plan
from engine.sessions.claim import claim_session
from engine.sessions.control import owner_alive, recover, request
from engine.sessions.repo import SessionError, check_agent_config, create_session, resolve_session
from engine.sessions.runner import RunnerOptions, SessionRunner
from engine.sessions.states import SessionStatus
from engine.store import Batch, Store, StoreError

#: What `python -m` runs to own a session in the background (see `spawn_owner`).
OWNER_MODULE = "engine.sessions"


class Decision(StrEnum):
    """What resuming a session means, given who (if anyone) owns it now."""

    ASK_OWNER = "ask_owner"  # a live owner has it: ask it through a control row
    TAKE_OVER = "take_over"  # nobody does: recover what a dead owner left, and run it here


def decide_resume(
    row: dict[str, Any], heartbeat_timeout: float = 30.0, *, starting: bool = False
) -> Decision:
    """The one resume-or-recover decision (the host and every owner ask it).

    `starting`: the caller has just started an owner that hasn't taken the session yet.
    """
    status = SessionStatus(row["status"])
    if status.finished:
        raise SessionError(f"session {row['id']} is already {status}")
    if starting or owner_alive(row, heartbeat_timeout):
        return Decision.ASK_OWNER
    return Decision.TAKE_OVER


@contextlib.contextmanager
def setting_up() -> Iterator[None]:
    """No garbage collection while a run is set up, then freeze what the set-up built.

    The plan, its task specs and the runner's tables live until the run ends: collections while
    they are built find nothing to free, and each full collection during the run would walk
    them again. 2,000 tasks: ~30 ms less CPU (bench/scheduler.py). A set-up that fails
    freezes nothing; `Owner.run` unfreezes when the run ends, whatever way it ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if enabled:
            gc.enable()
        raise
    gc.freeze()
    if enabled:
        gc.enable()


@dataclass(slots=True)
class RunResult:
    """How a run in this process ended."""

    session_id: str
    status: SessionStatus
    wall_s: float
    interrupted: int  # SIGINT / SIGTERM received (0: none)


def start_alerts(store: Store) -> Any:
    """Thresholds from the project's config, watched while a session runs in this process."""
    from engine.telemetry.alerts import AlertMonitor
    from engine.telemetry.thresholds import ThresholdError, load_config

    try:
        conf = load_config(Path.cwd())
    except ThresholdError as exc:
        raise SessionError(str(exc)) from None
    return AlertMonitor(store, conf.thresholds, interval=conf.interval_s).start()


class Owner:
    """Runs one session in this process, from a set-up runner to the session's end."""

    def __init__(self, store: Store, runner: SessionRunner) -> None:
        self._store = store
        self._runner = runner

    @property
    def session_id(self) -> str:
        return self._runner.session_id

    @property
    def total(self) -> int:
        """Tasks in the session."""
        return self._runner.total

    @property
    def done(self) -> int:
        """Tasks that had ended before this run started (a resumed session's)."""
        return self._runner.ended

    def run(self, watch: Callable[[Batch], None] | None = None, *, bell: bool = False) -> RunResult:
        """Run the session to its end on a new event loop, in the foreground.

        `watch(batch)` sees every commit while it runs (on the store's writer thread). The
        first SIGINT / SIGTERM cancels cleanly, the second stops every task at once. The
        project's [notify] table is told of each transition once (`bell`: a terminal watches).
        Raises StoreError after the run if a write was lost (damaged file, full disk).
        """
        from engine.notify import start_notifier

        try:
            monitor = start_alerts(self._store)
            started = time.monotonic()
            notifier = start_notifier(self._store, bell=bell)  # [notify]: once per transition
            unsubscribe = self._store.subscribe(watch) if watch is not None else None
            interrupted = 0

            async def go() -> SessionStatus:
                loop = asyncio.get_running_loop()

                def on_signal(signame: str) -> None:
                    nonlocal interrupted
                    interrupted += 1
                    if interrupted == 1:
                        self._runner.cancel(f"interrupted ({signame})")
                    else:
                        self._runner.stop_now()

                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, on_signal, sig.name)
                return await self._runner.run()

            try:
                status = asyncio.run(go())
            finally:
                if unsubscribe is not None:
                    unsubscribe()
                monitor.stop()
                notifier.stop()
            self._store.flush()  # raises (one line, exit 2) if a write was lost
            return RunResult(self.session_id, status, time.monotonic() - started, interrupted)
        finally:
            gc.unfreeze()  # what the set-up froze (`setting_up`) is collectable again


def admit_plan(plan_path: str | os.PathLike[str]) -> Plan:
    """Load and check a plan before any database is touched (PlanError): a refused plan
    leaves nothing behind. The set-up's GC policy applies (the plan is its bulk)."""
    with setting_up():
        plan = load_plan(plan_path)
        check_agent_config(plan)
    return plan


def start(
    store: Store,
    plan_path: str | os.PathLike[str] | Plan,
    *,
    name: str | None = None,
    workers: int | None = None,
    max_workers: int = 64,
    heartbeat_timeout: float = 30.0,
    executor: dict[str, Any] | None = None,
) -> Owner:
    """Record a plan (a path is loaded: raises PlanError) as a new session, claim it for this
    process, and set up its owner here. `executor` replaces the plan's [executor] table
    (`br-tui run --dask`)."""
    with setting_up():
        plan = plan_path if isinstance(plan_path, Plan) else load_plan(plan_path)
        if executor is not None:
            plan.executor = executor
        workers = workers or plan.workers
        session_id = create_session(store, plan, name=name, workers=workers)
        claim_session(store, session_id)  # ours before any task starts: durable, not batched
        row = resolve_session(store, session_id)
        runner = SessionRunner(
            store,
            row,
            plan.tasks,
            RunnerOptions(
                workers=workers,
                max_workers=max(max_workers, workers or 1),
                heartbeat_timeout=heartbeat_timeout,
            ),
        )
    return Owner(store, runner)


@dataclass(slots=True)
class Resumption:
    """What `resume` did: asked a live owner (`answer`), or set up an owner here (`owner`)."""

    session_id: str
    answer: str | None = None
    owner: Owner | None = None
    recovered: dict[str, int] | None = None  # what a dead owner left, cleaned up
    dead_pid: int | None = None  # that owner's pid


def resume(
    store: Store,
    ref: str | None,
    *,
    workers: int | None = None,
    heartbeat_timeout: float = 30.0,
    wait: float = 5.0,
) -> Resumption:
    """Continue a session: a paused one's live owner is asked to resume; a session nobody owns
    (never started, or its owner died) is recovered and set up to run in this process."""
    row = resolve_session(store, ref)
    sid = row["id"]
    if decide_resume(row, heartbeat_timeout) is Decision.ASK_OWNER:
        if SessionStatus(row["status"]) is SessionStatus.PAUSED:
            return Resumption(sid, answer=request(store, sid, "resume", wait=wait))
        raise SessionError(f"session {sid} is running (owner pid {row['owner_pid']})")
    claim_session(store, sid, heartbeat_timeout=heartbeat_timeout)  # or refused: touch nothing
    out = Resumption(sid)
    if SessionStatus(row["status"]) is not SessionStatus.CREATED:
        out.recovered = recover(store, row)
        out.dead_pid = row["owner_pid"]
        row = resolve_session(store, sid)
    with setting_up():
        runner = SessionRunner.resume_from_store(
            store,
            row,
            RunnerOptions(workers=workers or row["workers"], heartbeat_timeout=heartbeat_timeout),
        )
    out.owner = Owner(store, runner)
    return out


def recovery_note(res: Resumption) -> str | None:
    """The line a user reads when a dead owner's session was recovered (None: nothing was)."""
    if res.recovered is None or res.dead_pid is None:
        return None
    return (
        f"br-tui: recovered session {res.session_id}: owner pid {res.dead_pid} gone,"
        f" {res.recovered['killed']} leftover process group(s) killed,"
        f" {res.recovered['requeued']} task(s) requeued"
    )


def spawn_owner(db_path: Path, session_id: str) -> subprocess.Popen[bytes]:
    """A detached owner process for the session; its output goes to a log beside the db."""
    from engine.store.private import open_private, private_dir

    log_dir = Path(db_path).parent / "logs"
    with open_private(private_dir(log_dir) / f"{session_id}.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", OWNER_MODULE, session_id, "--db", str(db_path)],
            stdin=subprocess.DEVNULL,  # tasks inherit it: never the host's terminal
            stdout=log,
            stderr=log,
            start_new_session=True,  # no terminal, no signals from the host's process group
        )


def main(argv: list[str]) -> int:
    """`python -m engine.sessions SESSION --db PATH`: own the session until it ends.

    What a host starts in the background; the exit code is `br-tui resume`'s (0 completed,
    1 failed or cancelled, 2 unusable session / plan / database, 130 interrupted).
    """
    from engine.cli_support import (
        DB_HELP,
        EXIT_FAILED,
        EXIT_INTERRUPTED,
        EXIT_OK,
        UsageError,
        fail,
        parser,
        positive,
    )
    from engine.store import resolve_db_path
    from engine.views import run_summary

    p = parser(prog="python -m engine.sessions", description="Own a session until it ends.")
    p.add_argument("session", help="id, id prefix or name")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--workers", type=positive)
    p.add_argument("--heartbeat-timeout", type=float, default=30.0)
    try:
        args = p.parse_args(argv)
        with Store(resolve_db_path(args.db)) as store:
            res = resume(
                store, args.session, workers=args.workers, heartbeat_timeout=args.heartbeat_timeout
            )
            if res.owner is None:
                print(f"{res.session_id}: {res.answer}")
                return EXIT_OK
            if note := recovery_note(res):
                print(note, file=sys.stderr)
            result = res.owner.run()
            print(run_summary(store, result.session_id).text(result.wall_s))
    except (UsageError, SessionError, PlanError, StoreError) as exc:
        return fail(exc)
    except sqlite3.DatabaseError as exc:  # damage quick_check didn't reach (a large file)
        from engine.store.health import describe

        return fail(StoreError(describe(resolve_db_path(args.db), str(exc))))
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.status is SessionStatus.COMPLETED else EXIT_FAILED
