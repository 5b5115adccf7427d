"""Which task runs next: dependencies done, highest priority first, plan order among equals.

Pure bookkeeping, no I/O: the runner asks for the next ready task, reports outcomes, and gets
back the tasks that became ready or must be cancelled because a dependency failed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from engine.plan import TaskSpec


class Scheduler:
    def __init__(self, specs: list[TaskSpec], finished: dict[str, bool] | None = None) -> None:
        """`finished` maps ids already done (on resume) to whether they succeeded."""
        finished = finished or {}
        self.specs = {s.id: s for s in specs}
        self.order = {s.id: i for i, s in enumerate(specs)}
        self.dependents: dict[str, list[str]] = {s.id: [] for s in specs}
        self.waiting: dict[str, int] = {}
        self._heap: list[tuple[int, int, str]] = []
        self.queued: set[str] = set()  # ids with a live heap entry; others are lazily skipped
        self.blocked: dict[str, str] = {}  # never runnable: a dependency failed
        for s in specs:
            for dep in s.needs:
                self.dependents[dep].append(s.id)
        for s in specs:
            if s.id in finished:
                continue
            failed_dep = next((d for d in s.needs if finished.get(d) is False), None)
            if failed_dep:
                self.blocked[s.id] = failed_dep
                continue
            self.waiting[s.id] = sum(1 for d in s.needs if d not in finished)
        for task_id, n in self.waiting.items():
            if n == 0:
                self.push(task_id)

    def push(self, task_id: str) -> None:
        if task_id in self.queued or task_id not in self.waiting:
            return
        self.queued.add(task_id)
        spec = self.specs[task_id]
        heapq.heappush(self._heap, (-spec.priority, self.order[task_id], task_id))

    def pop(self) -> str | None:
        while self._heap:
            task_id = heapq.heappop(self._heap)[2]
            if task_id in self.queued:
                self.queued.remove(task_id)
                if task_id in self.waiting:
                    return task_id
        return None

    def remove(self, task_id: str) -> None:
        self.queued.discard(task_id)

    def __len__(self) -> int:
        """Ready tasks (dependencies done) not yet taken by a worker."""
        return len(self.queued)

    def done(self, task_id: str, succeeded: bool) -> tuple[list[str], list[tuple[str, str]]]:
        """Returns (newly ready ids, [(cancelled id, failed dependency)])."""
        ready: list[str] = []
        cancelled: list[tuple[str, str]] = []
        self.waiting.pop(task_id, None)
        if succeeded:
            for dep in self.dependents[task_id]:
                if dep in self.waiting:
                    self.waiting[dep] -= 1
                    if self.waiting[dep] == 0:
                        ready.append(dep)
                        self.push(dep)
        else:
            stack = list(self.dependents[task_id])
            while stack:
                dep = stack.pop()
                if dep in self.waiting:
                    del self.waiting[dep]
                    cancelled.append((dep, task_id))
                    stack.extend(self.dependents[dep])
        self.waiting.pop(task_id, None)
        self.queued.discard(task_id)
        for dep, _ in cancelled:
            self.queued.discard(dep)
        return ready, cancelled

    def pending(self) -> Iterable[str]:
        """Ids not yet finished nor blocked (queued, waiting on deps, or in flight)."""
        return self.waiting.keys()
