"""A session's file locks as its runner sees them: which of its tasks hold which patterns,
which wait and for whom, and the atomic claim across sessions and processes.

A task that declared `files` runs only once no running task of this session overlaps them and
the claim in SQLite (`engine.locks.claim`, inside the writer's BEGIN IMMEDIATE) succeeds. A
task that can't is recorded as waiting (once) and tried again when a lock here is released or,
for locks other processes hold, when the runner's lock duty looks again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.locks import Holder, any_overlap, claim, release_sql
from engine.sessions.journal import Journal, Ops
from engine.sessions.states import TaskState
from engine.store import Store
from engine.workers import Worker


class SessionLocks:
    def __init__(
        self,
        store: Store,
        journal: Journal,
        state: dict[str, TaskState],
        requeue: Callable[[Iterable[str]], None],
        stale_after: float,
    ) -> None:
        self.store = store
        self.journal = journal
        self.session_id = journal.session_id
        self._state = state
        self._requeue = requeue  # back into the scheduler's queue (and wake the workers)
        self.stale_after = stale_after
        self.held: dict[str, tuple[str, ...]] = {}
        self.waiting: dict[str, str] = {}  # task -> who holds what it needs

    async def take(self, tid: str, files: tuple[str, ...]) -> bool:
        """Claim the task's files; False (and recorded as waiting) when someone holds them."""
        clash = next((other for other, pats in self.held.items() if any_overlap(files, pats)), None)
        if clash is not None:
            self.wait(tid, f"task {clash} of this session")
            return False
        self.held[tid] = files  # reserve before awaiting, so sibling workers see it
        holder: Holder | None = await self.store.acall(
            claim(self.session_id, tid, files, stale_after=self.stale_after)
        )  # type: ignore[arg-type]
        if holder is not None:
            del self.held[tid]
            self.wait(tid, f"task {holder.task_id} of session {holder.session_id}")
            return False
        return True

    def taken(self, tid: str, worker: Worker, files: tuple[str, ...]) -> None:
        """The task runs with its locks: no longer waiting."""
        self.waiting.pop(tid, None)
        self.journal.lock_acquired(tid, worker, files)

    def wait(self, tid: str, holder: str) -> None:
        first = tid not in self.waiting
        self.waiting[tid] = holder
        if first:
            self._state[tid] = TaskState.WAITING_LOCK
            self.journal.lock_waited(tid, holder)

    def release(self, tid: str) -> Ops:
        """The ops that free the task's locks (to commit with its outcome); waiters retry."""
        if self.held.pop(tid, None) is None:
            return []
        if self.waiting:
            self.retry()
        return [release_sql(self.session_id, tid)]

    def retry(self) -> None:
        """Every waiting task back in the queue, to try its claim again."""
        self._requeue(list(self.waiting))

    def others(self, tid: str) -> list[tuple[str, ...]]:
        """The patterns held by the session's other tasks."""
        return [pats for t, pats in self.held.items() if t != tid]
