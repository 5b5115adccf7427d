"""The pool of asyncio workers: scaling, heartbeats, and noticing a worker that died.

A worker is a coroutine that repeatedly asks its owner for a task and runs it. The pool knows
nothing about tasks; it keeps N workers alive, beats their hearts, retires extras when scaled
down (after their current task), and reports a worker whose coroutine died or whose heartbeat
went stale so its owner can requeue the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum


class WorkerStatus(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    OFFLINE = "offline"
    ERROR = "error"


@dataclass(slots=True, eq=False)
class Worker:
    id: str
    status: WorkerStatus = WorkerStatus.IDLE
    current_task: str | None = None
    done: int = 0
    failed: int = 0
    busy_s: float = 0.0
    busy_since: float | None = None
    started: float = field(default_factory=time.monotonic)
    last_beat: float = field(default_factory=time.monotonic)
    retiring: bool = False
    coro: asyncio.Task[None] | None = None

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def utilization(self, now: float | None = None) -> float:
        now = now or time.monotonic()
        busy = self.busy_s + (now - self.busy_since if self.busy_since else 0.0)
        alive = max(now - self.started, 1e-9)
        return min(busy / alive, 1.0)


WorkerLoop = Callable[[Worker], Awaitable[None]]
LostHandler = Callable[[Worker, str], Awaitable[None]]


class Pool:
    def __init__(
        self,
        loop_fn: WorkerLoop,
        on_lost: LostHandler,
        *,
        size: int,
        max_size: int = 64,
        heartbeat_timeout: float = 30.0,
    ) -> None:
        self._loop_fn = loop_fn
        self._on_lost = on_lost
        self.max_size = max_size
        self.heartbeat_timeout = heartbeat_timeout
        self.workers: dict[str, Worker] = {}
        self._next = 1
        self._target = max(1, min(size, max_size))
        self._closed = False

    @property
    def target(self) -> int:
        return self._target

    def live(self) -> list[Worker]:
        return [w for w in self.workers.values() if w.status not in (WorkerStatus.OFFLINE,)]

    def resize(self, size: int) -> None:
        """Set the size before `start`: a cluster's executor learns it only once connected."""
        self._target = max(1, min(size, self.max_size))

    def start(self) -> list[Worker]:
        return [self._spawn() for _ in range(self._target)]

    def _spawn(self) -> Worker:
        w = Worker(f"w{self._next}")
        self._next += 1
        self.workers[w.id] = w
        w.coro = asyncio.create_task(self._guard(w), name=f"br-worker-{w.id}")
        return w

    async def _guard(self, w: Worker) -> None:
        try:
            await self._loop_fn(w)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the worker died; its task must not be lost with it
            w.status = WorkerStatus.ERROR
            await self._on_lost(w, f"worker crashed: {exc!r}")
            if not self._closed and not w.retiring:
                self._spawn()

    def scale(self, n: int) -> tuple[list[Worker], list[Worker]]:
        """Grow at once; shrink by retiring idle workers first, busy ones after their task."""
        n = max(1, min(n, self.max_size))
        self._target = n
        added: list[Worker] = []
        retired: list[Worker] = []
        active = [w for w in self.live() if not w.retiring]
        while len(active) < n:
            w = self._spawn()
            active.append(w)
            added.append(w)
        surplus = len(active) - n
        if surplus > 0:
            idle_first = sorted(active, key=lambda w: (w.status == WorkerStatus.BUSY, w.id))
            for w in idle_first[:surplus]:
                w.retiring = True
                retired.append(w)
        return added, retired

    async def check(self) -> list[Worker]:
        """Mark workers with stale heartbeats offline and hand their work back."""
        now = time.monotonic()
        lost = []
        for w in list(self.live()):
            if now - w.last_beat > self.heartbeat_timeout:
                w.status = WorkerStatus.OFFLINE
                if w.coro is not None:
                    w.coro.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await w.coro
                await self._on_lost(w, f"no heartbeat for {now - w.last_beat:.0f}s")
                lost.append(w)
                if not self._closed:
                    self._spawn()
        return lost

    async def join(self) -> None:
        while True:
            coros = [w.coro for w in self.workers.values() if w.coro and not w.coro.done()]
            if not coros:
                return
            await asyncio.wait(coros)

    async def close(self) -> None:
        self._closed = True
        for w in self.workers.values():
            if w.coro and not w.coro.done():
                w.coro.cancel()
        await asyncio.gather(
            *(w.coro for w in self.workers.values() if w.coro), return_exceptions=True
        )
