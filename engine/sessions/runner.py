"""The runner: what runs next, on which worker, and what came of it — for one live session.

It reads select → execute → record: the scheduler says what is ready and a worker takes it
(after its file locks: `_pick`), an executor runs it (`_execute`), and the outcome is recorded
through the journal (`_record_outcome`: retry, or end with its dependents cascaded) — committed
before it is announced. Control — pause, resume, cancel, scale, cancel one task — arrives as a
method call from this process or as a row in `controls` from another; both end in `apply`.
The periodic loops (heartbeats, control rows, lock waits) are `duties`; the process around a
run (signals, alerts, recovery) is the owner's.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.events import Event, EventType
from engine.executors import ControlSlot, ExecutorUnavailable, Outcome
from engine.plan import TaskSpec
from engine.sessions.duties import Duties, group_alive
from engine.sessions.execute import ChangeCheck, Executors
from engine.sessions.journal import Journal, Ops, outcome_data
from engine.sessions.locking import SessionLocks
from engine.sessions.repo import SessionError, load_specs, task_states
from engine.sessions.scheduler import Scheduler
from engine.sessions.states import SessionStatus, TaskState
from engine.store import Store, now_iso
from engine.streams import StreamRuntime
from engine.workers import Pool, Worker, WorkerStatus

MAX_BACKOFF_S = 60.0


@dataclass(slots=True)
class RunnerOptions:
    workers: int | None = None
    max_workers: int = 64
    heartbeat_interval: float = 1.0
    heartbeat_timeout: float = 30.0
    control_poll: float = 0.2  # owners on this host are also woken at once by SIGUSR1
    lock_poll: float = 0.25
    kill_grace: float = 2.0
    max_requeues: int = 3

    def pool_size(self) -> int:
        return self.workers or os.cpu_count() or 2


class SessionRunner:
    def __init__(
        self,
        store: Store,
        session: dict[str, Any],
        specs: list[TaskSpec],
        options: RunnerOptions | None = None,
        *,
        finished: dict[str, bool] | None = None,
        attempts: dict[str, int] | None = None,
    ) -> None:
        self.store = store
        self.session_id: str = session["id"]
        self.name: str = session["name"]
        self.config: dict[str, Any] = json.loads(session.get("config") or "{}")
        self.options = options or RunnerOptions()
        self.specs = {s.id: s for s in specs}
        self.sched = Scheduler(specs, finished)
        self.state: dict[str, TaskState] = {}
        self.attempts: dict[str, int] = dict(attempts or {})
        self.requeues: dict[str, int] = {}
        self.counts = {"succeeded": 0, "failed": 0, "cancelled": 0}
        for ok in (finished or {}).values():
            self.counts["succeeded" if ok else "failed"] += 1
        self.journal = Journal(store, self.session_id, self.counts)
        self.slots: dict[str, ControlSlot] = {}
        self.paused = False
        self.cancelling: str | None = None
        self.status = SessionStatus(session["status"])
        self._waiters: set[asyncio.Future[None]] = set()
        self.locks = SessionLocks(
            store, self.journal, self.state, self._requeue, self.options.heartbeat_timeout
        )
        self._remote = self._remote_executor()  # None: tasks run on this machine
        self.executors = Executors(store, self.config, self.options.kill_grace, self._remote)
        self.changes = ChangeCheck(self.session_id)
        # streams call site 1/4: worktrees, commits, decisions around each task
        self.streams = StreamRuntime(store, self.session_id, self.config)
        self.pool = Pool(
            self._worker_loop,
            self._worker_lost,
            size=self.options.pool_size(),
            max_size=self.options.max_workers,
            heartbeat_timeout=self.options.heartbeat_timeout,
        )
        self.started_at = time.monotonic()

    def _remote_executor(self) -> Any:
        """The cluster executor when the plan's [executor] table asks for one (imported only
        then: a local session never loads a cluster library)."""
        table = self.config.get("executor") or {}
        if table.get("kind") != "dask":
            return None
        from engine.executors.dask import make_executor

        try:
            return make_executor(self.store, self.session_id, table, self.specs,
                                 heartbeat_timeout=self.options.heartbeat_timeout)  # fmt: skip
        except ExecutorUnavailable as exc:
            raise SessionError(str(exc)) from None

    @classmethod
    def resume_from_store(
        cls, store: Store, session: dict[str, Any], options: RunnerOptions | None = None
    ) -> SessionRunner:
        """Rebuild a runner for a session whose rows exist (created, paused, or recovered)."""
        specs = load_specs(store, session)
        rows = task_states(store, session["id"])
        ended = (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)
        finished = {r["id"]: r["state"] == TaskState.SUCCEEDED for r in rows if r["state"] in ended}
        runner = cls(
            store,
            session,
            specs,
            options,
            finished=finished,
            attempts={r["id"]: r["attempts"] for r in rows},
        )
        for r in rows:
            if r["state"] == TaskState.CANCELLED:  # counted as cancelled, not failed
                runner.counts["failed"] -= 1
                runner.counts["cancelled"] += 1
            if r["state"] in ended:
                runner.state[r["id"]] = TaskState(r["state"])
        return runner

    @property
    def total(self) -> int:
        """Tasks in the session."""
        return len(self.specs)

    @property
    def ended(self) -> int:
        """Tasks that have ended (succeeded, failed or cancelled)."""
        return sum(1 for s in self.state.values() if s.finished)

    # -- public control ----------------------------------------------------------------------

    def apply(self, action: str, arg: str | None = None) -> str:
        """Every control verb, from a key in the app or a row from another process."""
        if action == "pause":
            return self.pause()
        if action == "resume":
            return self.resume()
        if action == "cancel":
            return self.cancel(arg or "cancelled by user")
        if action == "scale":
            return self.scale(int(arg or 0))
        if action == "cancel_task" and arg:
            return self.cancel_task(arg)
        return f"unknown action {action!r}"

    def pause(self) -> str:
        if self.paused or self.cancelling or self.status.finished:
            return "not running"
        self.paused = True
        for slot in self.slots.values():
            slot.pause()
        self._set_status(SessionStatus.PAUSED, EventType.SESSION_PAUSED)
        return "paused"

    def resume(self) -> str:
        if not self.paused:
            return "not paused"
        self.paused = False
        for slot in self.slots.values():
            slot.resume()
        self._set_status(SessionStatus.RUNNING, EventType.SESSION_RESUMED)
        self._notify()
        return "resumed"

    def cancel(self, reason: str = "cancelled by user") -> str:
        if self.cancelling or self.status.finished:
            return "already finishing"
        self.cancelling = reason
        for slot in self.slots.values():
            slot.cancel()
        ended: list[tuple[str, TaskState, str | None]] = []
        for tid in list(self.sched.pending()):
            if tid in self.slots or tid not in self.sched.waiting:
                continue  # running (its outcome records the cancel) or cascaded already
            for gone in [tid, *(d for d, _ in self._finish_task(tid, TaskState.CANCELLED))]:
                ended.append((gone, TaskState.CANCELLED, reason))
        self.journal.tasks_ended(ended)
        self._notify()
        return "cancelling"

    def stop_now(self) -> None:
        """Stop every running task at once: SIGTERM then SIGKILL with no grace in between (a
        second interrupt, when the user won't wait for the first one's clean cancel)."""
        self.executors.no_grace()
        for slot in self.slots.values():
            slot.cancel()

    def cancel_task(self, task_id: str) -> str:
        if task_id not in self.specs:
            return f"unknown task {task_id}"
        if task_id in self.slots:
            self.slots[task_id].cancel()
            return "cancelling task"
        if task_id not in self.sched.waiting:
            return "task already finished"
        self.sched.remove(task_id)
        self.locks.waiting.pop(task_id, None)
        self._record_end(task_id, TaskState.CANCELLED, None, "cancelled by user", [])
        return "cancelled task"

    def scale(self, n: int) -> str:
        added, retired = self.pool.scale(n)
        self.journal.scaled(self.pool.target, added, len(retired))
        self._notify()
        return f"scaled to {self.pool.target}"

    def _set_status(self, status: SessionStatus, etype: EventType) -> None:
        self.status = status
        self.journal.status(status, etype, len(self.slots))

    # -- the run -----------------------------------------------------------------------------

    async def run(self) -> SessionStatus:
        if self._remote is not None:  # a cluster that can't be reached leaves the session as is
            try:
                slots = await self._remote.open()
            except ExecutorUnavailable as exc:
                raise SessionError(str(exc)) from None
            if self.options.workers is None:
                self.pool.resize(slots)
        duties = Duties(self)
        wake = duties.install_wake()  # before announcing ourselves as the owner
        stamp = self.journal.session_started(self.pool.target, wake)
        self.status = SessionStatus.RUNNING
        self._cancel_blocked()
        self.journal.workers_online(self.pool.start(), stamp)
        duties.start()
        try:
            await self.pool.join()
        finally:
            await duties.stop()
            await self.pool.close()
            if self._remote is not None:
                await self._remote.aclose()
            await self._finish_session()
        return self.status

    def _cancel_blocked(self) -> None:
        """Tasks whose dependency failed in an earlier run end cancelled up front."""
        for tid, dep in list(self.sched.blocked.items()):
            if self.state.get(tid) is None:
                self._record_end(tid, TaskState.CANCELLED, None, f"dependency '{dep}' failed", [])

    async def _finish_session(self) -> None:
        if self.cancelling:
            status, etype = SessionStatus.CANCELLED, EventType.SESSION_CANCELLED
        elif self.counts["failed"] or self.counts["cancelled"]:
            status, etype = SessionStatus.FAILED, EventType.SESSION_FAILED
        else:
            status, etype = SessionStatus.COMPLETED, EventType.SESSION_COMPLETED
        reason = self.cancelling
        if status is SessionStatus.FAILED:
            reason = f"{self.counts['failed']} failed, {self.counts['cancelled']} cancelled"
        self.status = status
        wall = time.monotonic() - self.started_at
        self.journal.session_ended(status, etype, reason, wall, self.pool.workers.values())
        await self.store.aflush()

    # -- select: a worker takes the next ready task, after its locks ---------------------------

    async def _worker_loop(self, worker: Worker) -> None:
        while True:
            tid = await self._next_task(worker)
            if tid is None:
                return
            worker.current_task = tid  # from here until recorded, a crash hands it back
            await self._execute(worker, tid)
            worker.current_task = None

    def _finished(self) -> bool:
        return not self.sched.waiting

    def _is_finished(self, tid: str) -> bool:
        state = self.state.get(tid)
        return state is not None and state.finished

    def _notify(self) -> None:
        for f in self._waiters:
            if not f.done():
                f.set_result(None)
        self._waiters.clear()

    async def _sleep(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.add(fut)
        handle = loop.call_later(timeout, lambda: fut.done() or fut.set_result(None))
        try:
            await fut
        finally:
            handle.cancel()
            self._waiters.discard(fut)

    async def _next_task(self, worker: Worker) -> str | None:
        while True:
            worker.beat()
            if self._finished() or worker.retiring or (self.cancelling and not self.slots):
                if worker.retiring:
                    worker.status = WorkerStatus.OFFLINE
                    self.journal.worker_retired(worker)
                if not worker.retiring and not self._finished() and self.cancelling:
                    continue_wait = bool(self.slots)
                    if continue_wait:
                        await self._sleep(self.options.heartbeat_interval)
                        continue
                return None
            if not self.paused and not self.cancelling:
                tid = await self._pick(worker)
                if tid is not None:
                    return tid
            await self._sleep(self.options.heartbeat_interval)

    async def _pick(self, worker: Worker) -> str | None:
        while (tid := self.sched.pop()) is not None:
            spec = self.specs[tid]
            if not spec.files:
                return tid
            if not await self.locks.take(tid, spec.files):
                continue
            if self.paused or self.cancelling:  # things changed while we waited for the claim
                self.locks.release(tid)
                self.sched.push(tid)
                return None
            self.locks.taken(tid, worker, spec.files)
            return tid
        return None

    def _requeue(self, tids: Iterable[str]) -> None:
        for tid in tids:
            self.sched.push(tid)
        self._notify()

    def retry_lock_waiters(self) -> None:
        """Look again for tasks waiting on locks (another process may have freed them)."""
        if self.locks.waiting and not self.paused:
            self.locks.retry()

    def task_alive(self, tid: str | None) -> bool:
        """Is the task running here, its process group alive (or it is an API call)?"""
        slot = self.slots.get(tid or "")
        ctl = slot.current if slot else None
        return ctl is not None and group_alive(getattr(ctl, "pgid", None))

    # -- execute -------------------------------------------------------------------------------

    async def _execute(self, worker: Worker, tid: str) -> None:
        spec = self.specs[tid]
        attempt = self.attempts.get(tid, 0) + 1
        self.attempts[tid] = attempt
        slot = ControlSlot()
        if self.paused:
            slot.pause()
        self.slots[tid] = slot
        self.state[tid] = TaskState.RUNNING
        worker.status, worker.current_task = WorkerStatus.BUSY, tid
        worker.busy_since = time.monotonic()
        stamp = now_iso()
        started = False

        def record_start(pgid: int | None) -> None:
            nonlocal started
            if not started:
                started = True
                self.journal.task_started(tid, attempt, worker, spec.kind, stamp, pgid)

        # streams call site 2/4: a stream task runs in its worktree; $BR_DECISIONS; context
        prep = await self.streams.before_task(spec, attempt)
        spec = prep.spec

        def on_line(stream: str, line: str) -> None:
            worker.beat()
            self.journal.output(tid, attempt, stream, line)

        before = await self.changes.before(spec)
        ctx = self.executors.context(self.session_id, worker.id, spec, attempt, on_line,
                                     record_start, env=prep.env, context=prep.context)  # fmt: skip
        try:
            if prep.error is not None:  # streams call site 3/4: the worktree couldn't be made
                outcome = Outcome("failed", reason=prep.error, retryable=False)
            else:
                outcome = await self.executors.for_spec(spec).run(ctx, slot)
        except asyncio.CancelledError:
            # The worker itself is being torn down (lost or closing): stop the process group.
            slot.cancel()
            raise
        except Exception as exc:
            outcome = Outcome("failed", reason=f"executor error: {exc!r}")
        worker.beat()
        record_start(None)  # an attempt that never spawned (agent refused, exec failed)
        extra_events = await self.changes.violations(spec, before, self.locks.others(tid))
        # streams call site 4/4: decisions the task wrote; its changes as one commit
        extra_events += await self.streams.after_task(prep, outcome, attempt)
        worker.busy_s += time.monotonic() - (worker.busy_since or time.monotonic())
        worker.busy_since = None
        worker.status = WorkerStatus.IDLE
        self.slots.pop(tid, None)
        self._record_outcome(worker, tid, attempt, outcome, extra_events)

    # -- record: retry, or end (and cascade) ---------------------------------------------------

    def _record_outcome(
        self, worker: Worker, tid: str, attempt: int, outcome: Outcome, extra: list[Event]
    ) -> None:
        spec = self.specs[tid]
        stamp = now_iso()
        ops = self.locks.release(tid)
        ops.append(self.journal.attempt_end_op(tid, attempt, outcome, stamp))
        data = outcome_data(attempt, outcome)
        if outcome.status == "lost":  # its machine went away: not a failure of the task
            self._requeue_lost(worker, tid, attempt, outcome.reason or "lost", ops, [])
            return
        transient = outcome.status in ("failed", "timeout")
        if transient and outcome.retryable and attempt <= spec.retries and not self.cancelling:
            worker.failed += 1
            delay = outcome.retry_after or min(
                spec.retry_delay * 2 ** (attempt - 1) * (0.8 + 0.4 * random.random()),
                MAX_BACKOFF_S,
            )
            self.state[tid] = TaskState.RETRYING
            data["retry_in_s"] = round(delay, 3)
            self.journal.task_retrying(tid, worker, outcome, data, ops, extra)
            asyncio.get_running_loop().call_later(delay, self._retry_due, tid)
            return
        if outcome.status == "succeeded":
            final, etype = TaskState.SUCCEEDED, EventType.TASK_SUCCEEDED
            worker.done += 1
        elif outcome.status == "cancelled":
            final, etype = TaskState.CANCELLED, EventType.TASK_CANCELLED
        elif outcome.status == "timeout":
            final, etype = TaskState.FAILED, EventType.TASK_TIMED_OUT
            worker.failed += 1
        else:
            final, etype = TaskState.FAILED, EventType.TASK_FAILED
            worker.failed += 1
        event = Event(etype, self.session_id, tid, worker.id, data=data)
        self._record_end(tid, final, outcome, outcome.reason, ops, [event, *extra], stamp)

    def _retry_due(self, tid: str) -> None:
        if self.cancelling or tid not in self.sched.waiting:
            return
        self.state[tid] = TaskState.QUEUED
        self.journal.task_queued(tid)
        self.sched.push(tid)
        self._notify()

    def _record_end(
        self,
        tid: str,
        final: TaskState,
        outcome: Outcome | None,
        reason: str | None,
        ops: Ops,
        events: list[Event] | None = None,
        stamp: str | None = None,
    ) -> None:
        ended: list[tuple[str, TaskState, str | None]] = [(tid, final, reason)]
        for dep_tid, failed_dep in self._finish_task(tid, final):
            ended.append((dep_tid, TaskState.CANCELLED, f"dependency '{failed_dep}' failed"))
        self.journal.tasks_ended(ended, outcome=outcome, ops=ops, events=events or (), stamp=stamp)
        self._notify()

    def _finish_task(self, tid: str, final: TaskState) -> list[tuple[str, str]]:
        self.state[tid] = final
        self.locks.waiting.pop(tid, None)
        self.counts[final.value] += 1
        _, cancelled = self.sched.done(tid, final is TaskState.SUCCEEDED)
        for dep, _ in cancelled:
            self.state[dep] = TaskState.CANCELLED
            self.counts["cancelled"] += 1
            self.locks.waiting.pop(dep, None)
        return cancelled

    async def _worker_lost(self, worker: Worker, reason: str) -> None:
        worker.status = WorkerStatus.OFFLINE
        tid = worker.current_task
        events = [self.journal.worker_lost_event(worker, reason, tid)]
        ops = [self.journal.worker_op(worker, now_iso(), WorkerStatus.OFFLINE)]
        if tid is not None and tid in self.sched.waiting and not self._is_finished(tid):
            self._kill_lost(tid)
            ops += self.locks.release(tid)
            attempt = self.attempts.get(tid, 0)
            ops.append(self.journal.attempt_lost_op(tid, attempt, reason))
            worker.current_task = None
            self._requeue_lost(worker, tid, attempt, reason, ops, events)
            return
        self.journal.write(ops, events)
        self._notify()

    def _requeue_lost(
        self, worker: Worker, tid: str, attempt: int, reason: str, ops: Ops, events: list[Event]
    ) -> None:
        """The machine running an attempt went away (a local worker, a cluster's worker): the
        attempt counts, the task goes back to the queue, or fails after `max_requeues`."""
        if self.cancelling:  # nothing will run it again
            self.journal.write(ops, events)
            self._record_end(tid, TaskState.CANCELLED, None, self.cancelling, [])
            return
        self.requeues[tid] = self.requeues.get(tid, 0) + 1
        if self.requeues[tid] > self.options.max_requeues:
            self.journal.write(ops, events)
            self._record_end(
                tid, TaskState.FAILED, None, f"lost {self.requeues[tid]} times: {reason}", []
            )
            return
        self.state[tid] = TaskState.QUEUED
        ops.append(self.journal.requeue_op(tid))
        events.append(self.journal.requeued_event(tid, worker, reason, attempt))
        self.sched.push(tid)
        self.journal.write(ops, events)
        self._notify()

    def _kill_lost(self, tid: str) -> None:
        """A lost worker's task: cancel its slot and kill its process group outright."""
        slot = self.slots.pop(tid, None)
        ctl = slot.current if slot else None
        if slot is not None:
            slot.cancel()
        if ctl is not None and hasattr(ctl, "pgid"):
            try:
                os.killpg(ctl.pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
