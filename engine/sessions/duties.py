"""The owner's periodic duties while a session runs: heartbeats, control rows, lock waits.

They run beside the workers as asyncio tasks and only call the runner's public verbs and the
journal, so the runner itself reads select → execute → record. (The alert monitor is the
owner's: `engine.sessions.owner`.)
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.sessions.runner import SessionRunner


class Duties:
    """Starts and stops the periodic loops of one runner."""

    def __init__(self, runner: SessionRunner) -> None:
        self.runner = runner
        self._wake = asyncio.Event()
        self._wake_installed = False
        self._tasks: list[asyncio.Task[None]] = []

    def install_wake(self) -> bool:
        """SIGUSR1 means "a control row is waiting": answer now instead of at the next poll.

        Only possible on the main thread's loop; elsewhere the poll alone serves.
        """
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self._wake.set)
        except (RuntimeError, ValueError, NotImplementedError):
            return False
        self._wake_installed = True
        return True

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._heartbeats(), name="br-heartbeat"),
            asyncio.create_task(self._controls(), name="br-control"),
            asyncio.create_task(self._locks(), name="br-locks"),
        ]

    async def stop(self) -> None:
        if self._wake_installed:
            self.runner.journal.wake_off()
            await self.runner.store.aflush()
            asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _heartbeats(self) -> None:
        r = self.runner
        while True:
            await asyncio.sleep(r.options.heartbeat_interval)
            r.journal.heartbeat(r.pool.live())
            await r.pool.check()
            for w in r.pool.live():  # a busy worker is alive while its process group is
                if r.task_alive(w.current_task):
                    w.beat()

    async def _controls(self) -> None:
        r = self.runner
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), r.options.control_poll)
            except TimeoutError:
                pass
            self._wake.clear()
            for row in await r.journal.pending_controls():
                r.journal.control_answered(row, r.apply(row["action"], row["arg"]))

    async def _locks(self) -> None:
        """Locks held by other processes free up without telling us: look again now and then."""
        r = self.runner
        while True:
            await asyncio.sleep(r.options.lock_poll)
            r.retry_lock_waiters()


def group_alive(pgid: int | None) -> bool:
    if pgid is None:
        return True  # not a process (an API call): its own timeout bounds it
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
