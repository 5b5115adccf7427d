"""The owner of a running session: decides what runs, runs it on the pool, records everything.

One direction of flow: the scheduler says what is ready, a worker takes it (after its file locks),
an executor runs it, and every change goes to the store (committed before it is announced).
Control — pause, resume, cancel, scale, cancel one task — arrives as a method call from this
process or as a row in `controls` from another; both end in `apply`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from dataclasses import dataclass
from typing import Any

from engine.events import Event, EventType, OutputLine
from engine.executors import ControlSlot, Executor, Outcome, RunContext, SubprocessExecutor
from engine.locks import HOST, Holder, any_overlap, claim, path_matches, release_sql
from engine.locks import changes as git_changes
from engine.plan import TaskSpec
from engine.sessions.repo import load_specs
from engine.sessions.scheduler import Scheduler
from engine.sessions.states import SessionStatus, TaskState
from engine.store import Store, now_iso
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
        self.slots: dict[str, ControlSlot] = {}
        self.held: dict[str, tuple[str, ...]] = {}
        self.lock_waiting: dict[str, str] = {}
        self.paused = False
        self.cancelling: str | None = None
        self.status = SessionStatus(session["status"])
        self._waiters: set[asyncio.Future[None]] = set()
        self._shell = SubprocessExecutor()
        self._shell.kill_grace_s = self.options.kill_grace
        self._agent: Executor | None = None
        self._git: dict[str, str | None] = {}
        # os.environ decodes every variable on each copy; tasks start from one snapshot.
        self._base_env = dict(os.environ)
        self.pool = Pool(
            self._worker_loop,
            self._worker_lost,
            size=self.options.pool_size(),
            max_size=self.options.max_workers,
            heartbeat_timeout=self.options.heartbeat_timeout,
        )
        self.started_at = time.monotonic()

    @classmethod
    def resume_from_store(
        cls, store: Store, session: dict[str, Any], options: RunnerOptions | None = None
    ) -> SessionRunner:
        """Rebuild a runner for a session whose rows exist (created, paused, or recovered)."""
        specs = load_specs(store, session)
        rows = store.query(
            "SELECT id, state, attempts FROM tasks WHERE session_id=?", (session["id"],)
        )
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
        now = now_iso()
        ops = []
        events = []
        for tid in list(self.sched.pending()):
            if tid in self.slots or tid not in self.sched.waiting:
                continue  # running (its outcome records the cancel) or cascaded already
            for gone in [tid, *(d for d, _ in self._finish_task(tid, TaskState.CANCELLED))]:
                ops.append(self._task_end_op(gone, TaskState.CANCELLED, now, None, reason))
                events.append(
                    Event(EventType.TASK_CANCELLED, self.session_id, gone, data={"reason": reason})
                )
        self.store.write([*ops, self._counts_op()], events)
        self._notify()
        return "cancelling"

    def stop_now(self) -> None:
        """Stop every running task at once: SIGTERM then SIGKILL with no grace in between (a
        second interrupt, when the user won't wait for the first one's clean cancel)."""
        self._shell.kill_grace_s = 0.0
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
        self.lock_waiting.pop(task_id, None)
        self._record_end(task_id, TaskState.CANCELLED, None, "cancelled by user", [])
        return "cancelled task"

    def scale(self, n: int) -> str:
        added, retired = self.pool.scale(n)
        stamp = now_iso()
        self.store.write(
            [self._worker_op(w, stamp) for w in added]
            + [("UPDATE sessions SET workers=? WHERE id=?", (self.pool.target, self.session_id))],
            [
                Event(
                    EventType.WORKER_SCALED,
                    self.session_id,
                    data={"target": self.pool.target, "added": len(added), "retired": len(retired)},
                ),
                *(Event(EventType.WORKER_ONLINE, self.session_id, worker_id=w.id) for w in added),
            ],
        )
        self._notify()
        return f"scaled to {self.pool.target}"

    def _set_status(self, status: SessionStatus, etype: EventType) -> None:
        self.status = status
        self.store.write(
            [("UPDATE sessions SET status=? WHERE id=?", (status, self.session_id))],
            [Event(etype, self.session_id, data={"running": len(self.slots)})],
        )

    # -- the run -----------------------------------------------------------------------------

    async def run(self) -> SessionStatus:
        wake = self._install_wake()  # before announcing ourselves as the owner
        stamp = now_iso()
        self.store.write(
            [
                (
                    "UPDATE sessions SET status=?, started_at=coalesce(started_at, ?),"
                    " owner_pid=?, owner_host=?, owner_heartbeat_at=?, workers=?, owner_wake=?"
                    " WHERE id=?",
                    (
                        SessionStatus.RUNNING,
                        stamp,
                        os.getpid(),
                        HOST,
                        stamp,
                        self.pool.target,
                        int(wake),
                        self.session_id,
                    ),
                )
            ],
            [Event(EventType.SESSION_STARTED, self.session_id, data={"workers": self.pool.target})],
        )
        self.status = SessionStatus.RUNNING
        self._cancel_blocked()
        workers = self.pool.start()
        self.store.write(
            [self._worker_op(w, stamp) for w in workers],
            [Event(EventType.WORKER_ONLINE, self.session_id, worker_id=w.id) for w in workers],
        )
        tickers = [
            asyncio.create_task(self._heartbeat_loop(), name="br-heartbeat"),
            asyncio.create_task(self._control_loop(), name="br-control"),
            asyncio.create_task(self._lock_loop(), name="br-locks"),
        ]
        try:
            await self.pool.join()
        finally:
            if wake:
                self.store.write(
                    [("UPDATE sessions SET owner_wake=0 WHERE id=?", (self.session_id,))]
                )
                await self.store.aflush()
                asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
            for t in tickers:
                t.cancel()
            await asyncio.gather(*tickers, return_exceptions=True)
            await self.pool.close()
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
        stamp = now_iso()
        self.status = status
        wall = time.monotonic() - self.started_at
        self.store.write(
            [
                (
                    "UPDATE sessions SET status=?, reason=?, ended_at=?, owner_heartbeat_at=?"
                    " WHERE id=?",
                    (status, reason, stamp, stamp, self.session_id),
                ),
                self._counts_op(),
                *(
                    self._worker_op(w, stamp, WorkerStatus.OFFLINE)
                    for w in self.pool.workers.values()
                ),
                ("DELETE FROM locks WHERE session_id=?", (self.session_id,)),
            ],
            [
                Event(
                    etype,
                    self.session_id,
                    data={**self.counts, "wall_s": round(wall, 3), "reason": reason},
                )
            ],
        )
        await self.store.aflush()

    # -- workers -----------------------------------------------------------------------------

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
                    self.store.write(
                        [self._worker_op(worker, now_iso())],
                        [Event(EventType.WORKER_OFFLINE, self.session_id, worker_id=worker.id,
                               data={"reason": "scaled down"})],
                    )  # fmt: skip
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
            clash = next(
                (other for other, pats in self.held.items() if any_overlap(spec.files, pats)), None
            )
            if clash is not None:
                self._wait_lock(tid, f"task {clash} of this session")
                continue
            self.held[tid] = spec.files  # reserve before awaiting, so sibling workers see it
            holder: Holder | None = await self.store.acall(
                claim(self.session_id, tid, spec.files, stale_after=self.options.heartbeat_timeout)
            )  # type: ignore[arg-type]
            if holder is not None:
                del self.held[tid]
                self._wait_lock(tid, f"task {holder.task_id} of session {holder.session_id}")
                continue
            if self.paused or self.cancelling:  # things changed while we waited for the claim
                self._release(tid)
                self.sched.push(tid)
                return None
            if tid in self.lock_waiting:
                del self.lock_waiting[tid]
            self.store.publish(
                Event(EventType.LOCK_ACQUIRED, self.session_id, tid, worker.id,
                      data={"files": list(spec.files)})
            )  # fmt: skip
            return tid
        return None

    def _wait_lock(self, tid: str, holder: str) -> None:
        first = tid not in self.lock_waiting
        self.lock_waiting[tid] = holder
        if first:
            self.state[tid] = TaskState.WAITING_LOCK
            self.store.write(
                [("UPDATE tasks SET state=? WHERE session_id=? AND id=?",
                  (TaskState.WAITING_LOCK, self.session_id, tid))],
                [Event(EventType.LOCK_WAITED, self.session_id, tid, data={"held_by": holder})],
            )  # fmt: skip

    def _release(self, tid: str) -> list[tuple[str, tuple[Any, ...]]]:
        if self.held.pop(tid, None) is None:
            return []
        if self.lock_waiting:
            self._requeue_lock_waiters()
        return [release_sql(self.session_id, tid)]

    def _requeue_lock_waiters(self) -> None:
        for tid in list(self.lock_waiting):
            self.sched.push(tid)
        self._notify()

    def _executor_for(self, spec: TaskSpec) -> Executor:
        if spec.prompt is None:
            return self._shell
        if self._agent is None:
            from engine.executors.agent import make_agent_executor

            self._agent = make_agent_executor(self.store, self.config)
        return self._agent

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
        started_event = Event(EventType.TASK_STARTED, self.session_id, tid, worker.id,
                              data={"attempt": attempt, "kind": spec.kind})  # fmt: skip
        start_ops = [
            (
                "UPDATE tasks SET state=?, attempts=?, worker_id=?,"
                " started_at=coalesce(started_at, ?) WHERE session_id=? AND id=?",
                (TaskState.RUNNING, attempt, worker.id, stamp, self.session_id, tid),
            ),
        ]
        insert_attempt = (
            "INSERT INTO attempts (session_id, task_id, attempt, worker_id, started_at, pid)"
            " VALUES (?,?,?,?,?,?)"
        )
        started = False

        def record_start(pgid: int | None) -> None:
            """The start and the process group land in one commit: recovery needs the pid."""
            nonlocal started
            if started:
                return
            started = True
            self.store.write(
                [*start_ops,
                 (insert_attempt, (self.session_id, tid, attempt, worker.id, stamp, pgid))],
                [started_event],
            )  # fmt: skip

        root = self._git_root(spec) if spec.files else None
        before = await asyncio.to_thread(git_changes.snapshot, root) if root else None

        def on_line(stream: str, line: str) -> None:
            worker.beat()
            self.store.write(lines=[OutputLine(self.session_id, tid, attempt, stream, line)])

        def on_spawn(pgid: int) -> None:
            record_start(pgid)

        ctx = RunContext(
            session_id=self.session_id,
            task_id=tid,
            attempt=attempt,
            worker_id=worker.id,
            argv=["/bin/sh", "-c", spec.run] if spec.run is not None else None,
            cwd=spec.cwd,
            env={**self._base_env, **spec.env, "BR_SESSION": self.session_id, "BR_TASK": tid},
            timeout=spec.timeout,
            on_line=on_line,
            on_spawn=on_spawn,
            prompt=spec.prompt,
            model=spec.model,
            extra=(
                {"complexity": spec.complexity, "files": list(spec.files), "task_env": spec.env}
                if spec.prompt is not None  # hints for agent backends; a shell has no use
                else {}
            ),
        )
        try:
            outcome = await self._executor_for(spec).run(ctx, slot)
        except asyncio.CancelledError:
            # The worker itself is being torn down (lost or closing): stop the process group.
            slot.cancel()
            raise
        except Exception as exc:
            outcome = Outcome("failed", reason=f"executor error: {exc!r}")
        worker.beat()
        record_start(None)  # an attempt that never spawned (agent refused, exec failed)
        extra_events: list[Event] = []
        if before is not None and root:
            after = await asyncio.to_thread(git_changes.snapshot, root)
            extra_events += self._violations(spec, root, git_changes.changed(before, after))
        worker.busy_s += time.monotonic() - (worker.busy_since or time.monotonic())
        worker.busy_since = None
        worker.status = WorkerStatus.IDLE
        self.slots.pop(tid, None)
        self._record_outcome(worker, tid, attempt, outcome, extra_events)

    def _git_root(self, spec: TaskSpec) -> str | None:
        if spec.cwd not in self._git:
            self._git[spec.cwd] = git_changes.git_root(spec.cwd)
        return self._git[spec.cwd]

    def _violations(self, spec: TaskSpec, root: str, paths: list[str]) -> list[Event]:
        events = []
        others = [pats for t, pats in self.held.items() if t != spec.id]
        for p in paths:
            rel = git_changes.relative_to(p, root, spec.cwd)
            if path_matches(rel, spec.files):
                continue
            if any(path_matches(rel, pats) for pats in others):
                continue  # a concurrent task that declared it made this change
            events.append(
                Event(EventType.LOCK_VIOLATION, self.session_id, spec.id,
                      data={"path": rel, "declared": list(spec.files)})
            )  # fmt: skip
        return events

    def _record_outcome(
        self, worker: Worker, tid: str, attempt: int, outcome: Outcome, extra: list[Event]
    ) -> None:
        spec = self.specs[tid]
        stamp = now_iso()
        ops = self._release(tid)
        ops.append(
            (
                "UPDATE attempts SET ended_at=?, status=?, exit_code=?, reason=?, wall_s=?,"
                " cpu_s=?, peak_rss_kb=? WHERE session_id=? AND task_id=? AND attempt=?",
                (
                    stamp,
                    outcome.status,
                    outcome.exit_code,
                    outcome.reason,
                    round(outcome.wall_s, 6),
                    outcome.cpu_s,
                    outcome.peak_rss_kb,
                    self.session_id,
                    tid,
                    attempt,
                ),
            )
        )
        data: dict[str, Any] = {
            "attempt": attempt,
            "exit_code": outcome.exit_code,
            "wall_s": round(outcome.wall_s, 4),
            "cpu_s": outcome.cpu_s,
            "peak_rss_kb": outcome.peak_rss_kb,
        }
        if outcome.reason:
            data["reason"] = outcome.reason
        if outcome.usage:
            data["usage"] = outcome.usage
        transient = outcome.status in ("failed", "timeout")
        if transient and outcome.retryable and attempt <= spec.retries and not self.cancelling:
            worker.failed += 1
            delay = outcome.retry_after or min(
                spec.retry_delay * 2 ** (attempt - 1) * (0.8 + 0.4 * random.random()),
                MAX_BACKOFF_S,
            )
            self.state[tid] = TaskState.RETRYING
            ops.append(
                (
                    "UPDATE tasks SET state=?, exit_code=?, reason=? WHERE session_id=? AND id=?",
                    (TaskState.RETRYING, outcome.exit_code, outcome.reason, self.session_id, tid),
                )
            )
            data["retry_in_s"] = round(delay, 3)
            self.store.write(
                ops,
                [Event(EventType.TASK_RETRIED, self.session_id, tid, worker.id, data=data), *extra],
            )
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
        self.store.write(
            [("UPDATE tasks SET state=? WHERE session_id=? AND id=?",
              (TaskState.QUEUED, self.session_id, tid))]
        )  # fmt: skip
        self.sched.push(tid)
        self._notify()

    def _record_end(
        self,
        tid: str,
        final: TaskState,
        outcome: Outcome | None,
        reason: str | None,
        ops: list[tuple[str, tuple[Any, ...]]],
        events: list[Event] | None = None,
        stamp: str | None = None,
    ) -> None:
        stamp = stamp or now_iso()
        ops = [*ops, self._task_end_op(tid, final, stamp, outcome, reason)]
        events = list(events or [])
        if not events:
            etype = {
                TaskState.SUCCEEDED: EventType.TASK_SUCCEEDED,
                TaskState.FAILED: EventType.TASK_FAILED,
                TaskState.CANCELLED: EventType.TASK_CANCELLED,
            }[final]
            events.append(Event(etype, self.session_id, tid, data={"reason": reason}))
        for dep_tid, failed_dep in self._finish_task(tid, final):
            why = f"dependency '{failed_dep}' failed"
            ops.append(self._task_end_op(dep_tid, TaskState.CANCELLED, stamp, None, why))
            events.append(
                Event(EventType.TASK_CANCELLED, self.session_id, dep_tid, data={"reason": why})
            )
        ops.append(self._counts_op())
        self.store.write(ops, events)
        self._notify()

    def _finish_task(self, tid: str, final: TaskState) -> list[tuple[str, str]]:
        self.state[tid] = final
        self.lock_waiting.pop(tid, None)
        self.counts[final.value] += 1
        _, cancelled = self.sched.done(tid, final is TaskState.SUCCEEDED)
        for dep, _ in cancelled:
            self.state[dep] = TaskState.CANCELLED
            self.counts["cancelled"] += 1
            self.lock_waiting.pop(dep, None)
        return cancelled

    def _task_end_op(
        self, tid: str, final: TaskState, stamp: str, outcome: Outcome | None, reason: str | None
    ) -> tuple[str, tuple[Any, ...]]:
        return (
            "UPDATE tasks SET state=?, ended_at=?, exit_code=?, reason=?, duration_s="
            " CASE WHEN started_at IS NULL THEN NULL ELSE"
            " (julianday(?) - julianday(started_at)) * 86400.0 END WHERE session_id=? AND id=?",
            (
                final,
                stamp,
                outcome.exit_code if outcome else None,
                reason,
                stamp,
                self.session_id,
                tid,
            ),
        )

    def _counts_op(self) -> tuple[str, tuple[Any, ...]]:
        c = self.counts
        return (
            "UPDATE sessions SET succeeded=?, failed=?, cancelled=? WHERE id=?",
            (c["succeeded"], c["failed"], c["cancelled"], self.session_id),
        )

    def _worker_op(
        self, w: Worker, stamp: str, status: WorkerStatus | None = None
    ) -> tuple[str, tuple[Any, ...]]:
        return (
            "INSERT INTO workers (session_id, id, status, current_task, done, failed, busy_s,"
            " started_at, heartbeat_at, owner_pid) VALUES (?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(session_id, id) DO UPDATE SET status=excluded.status,"
            " current_task=excluded.current_task, done=excluded.done, failed=excluded.failed,"
            " busy_s=excluded.busy_s, heartbeat_at=excluded.heartbeat_at",
            (
                self.session_id,
                w.id,
                status or w.status,
                w.current_task,
                w.done,
                w.failed,
                round(w.busy_s, 3),
                stamp,
                stamp,
                os.getpid(),
            ),
        )

    async def _worker_lost(self, worker: Worker, reason: str) -> None:
        worker.status = WorkerStatus.OFFLINE
        tid = worker.current_task
        events = [
            Event(EventType.WORKER_OFFLINE, self.session_id, worker_id=worker.id,
                  data={"reason": reason, "task": tid})
        ]  # fmt: skip
        ops = [self._worker_op(worker, now_iso(), WorkerStatus.OFFLINE)]
        if tid is not None and tid in self.sched.waiting and not self._is_finished(tid):
            slot = self.slots.pop(tid, None)
            ctl = slot.current if slot else None
            if slot is not None:
                slot.cancel()
            if ctl is not None and hasattr(ctl, "pgid"):
                try:
                    os.killpg(ctl.pgid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            ops += self._release(tid)
            attempt = self.attempts.get(tid, 0)
            ops.append(
                (
                    "UPDATE attempts SET ended_at=?, status='lost', reason=? WHERE session_id=?"
                    " AND task_id=? AND attempt=?",
                    (now_iso(), reason, self.session_id, tid, attempt),
                )
            )
            worker.current_task = None
            self.requeues[tid] = self.requeues.get(tid, 0) + 1
            if self.requeues[tid] > self.options.max_requeues:
                self.store.write(ops, events)
                self._record_end(
                    tid, TaskState.FAILED, None, f"lost {self.requeues[tid]} times: {reason}", []
                )
                return
            self.state[tid] = TaskState.QUEUED
            ops.append(
                ("UPDATE tasks SET state=?, worker_id=NULL WHERE session_id=? AND id=?",
                 (TaskState.QUEUED, self.session_id, tid))
            )  # fmt: skip
            events.append(
                Event(EventType.TASK_REQUEUED, self.session_id, tid, worker.id,
                      data={"reason": reason, "attempt": attempt})
            )  # fmt: skip
            self.sched.push(tid)
        self.store.write(ops, events)
        self._notify()

    # -- periodic duties ---------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.heartbeat_interval)
            stamp = now_iso()
            ops = [
                ("UPDATE sessions SET owner_heartbeat_at=? WHERE id=?", (stamp, self.session_id))
            ]
            ops += [self._worker_op(w, stamp) for w in self.pool.live()]
            self.store.write(ops)
            await self.pool.check()
            for w in self.pool.live():  # a busy worker is alive while its process group is
                slot = self.slots.get(w.current_task or "")
                ctl = slot.current if slot else None
                if ctl is not None and _group_alive(getattr(ctl, "pgid", None)):
                    w.beat()

    def _install_wake(self) -> bool:
        """SIGUSR1 means "a control row is waiting": answer now instead of at the next poll.

        Only possible on the main thread's loop; elsewhere the poll alone serves.
        """
        self._control_wake = asyncio.Event()
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self._control_wake.set)
        except (RuntimeError, ValueError, NotImplementedError):
            return False
        return True

    async def _control_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._control_wake.wait(), self.options.control_poll)
            except TimeoutError:
                pass
            self._control_wake.clear()
            rows = await self.store.aquery(
                "SELECT id, action, arg FROM controls WHERE session_id=? AND handled_at IS NULL"
                " ORDER BY id",
                (self.session_id,),
            )
            for row in rows:
                result = self.apply(row["action"], row["arg"])
                self.store.write(
                    [("UPDATE controls SET handled_at=?, result=? WHERE id=?",
                      (now_iso(), result, row["id"]))],
                    [Event(EventType.CONTROL_RECEIVED, self.session_id,
                           data={"action": row["action"], "arg": row["arg"], "result": result})],
                )  # fmt: skip

    async def _lock_loop(self) -> None:
        """Locks held by other processes free up without telling us: look again now and then."""
        while True:
            await asyncio.sleep(self.options.lock_poll)
            if self.lock_waiting and not self.paused:
                self._requeue_lock_waiters()


def _group_alive(pgid: int | None) -> bool:
    if pgid is None:
        return True  # not a process (an API call): its own timeout bounds it
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
