"""The bridge from the database to the UI loop.

Sessions run in owner processes; the app's reader thread looks at the newest event and output
ids ten times a second and reports what moved (`on_remote`); the app's own store calls
`on_batch` on its writer thread after each commit (sessions it creates, cleanups). Both must
stay cheap and never touch widgets, so they only record *what kind* of thing changed (topics)
and whether output was written (the Feed then reads its task's new lines). The app drains both on a
20 Hz timer and refreshes the visible screen once per tick, however many events arrived.
Events that a user is waiting to see (a pause, a cancel, a scale) also post a wake-up so the
screen doesn't wait for the next tick.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine.events import EventType
from engine.store import Batch

SESSIONS, TASKS, WORKERS, EVENTS, COSTS, ALERTS = (
    "sessions",
    "tasks",
    "workers",
    "events",
    "costs",
    "alerts",
)
ALL: frozenset[str] = frozenset({SESSIONS, TASKS, WORKERS, EVENTS, COSTS, ALERTS})

_TOPICS: dict[str, frozenset[str]] = {
    "session": frozenset({SESSIONS, TASKS, WORKERS, EVENTS}),
    "task": frozenset({SESSIONS, TASKS, WORKERS, EVENTS}),
    "worker": frozenset({WORKERS, EVENTS}),
    "agent": frozenset({COSTS, EVENTS}),
    "routing": frozenset({COSTS, EVENTS}),
    "budget": frozenset({COSTS, EVENTS, ALERTS}),
    "alert": frozenset({ALERTS, EVENTS}),
}

#: What a user just asked for with a key: show it without waiting for the next tick.
URGENT = frozenset(
    {
        EventType.SESSION_STARTED,
        EventType.SESSION_PAUSED,
        EventType.SESSION_RESUMED,
        EventType.SESSION_CANCELLED,
        EventType.SESSION_COMPLETED,
        EventType.SESSION_FAILED,
        EventType.WORKER_SCALED,
        EventType.CONTROL_RECEIVED,
        EventType.SESSION_CREATED,
    }
)


class Live:
    """Thread-safe inbox of what changed, for the UI loop to turn into reads.

    Sessions run in owner processes, so output lines arrive only through the database
    (`on_remote`); the app's own commits (a session created, a control row) come as batches.
    """

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._lock = threading.Lock()
        self._topics: set[str] = set()
        self._woken = False
        self.lines_seen = 0  # output lines written by any process (the bench reads it)
        self.output_moved = False

    def on_batch(self, batch: Batch) -> None:
        """Runs on the store's writer thread: record, never render."""
        if batch.events:
            self._note([ev.type for ev in batch.events])

    def on_remote(self, types: list[str], lines: int) -> None:
        """The app's reader thread saw new rows written by any process: the distinct types of
        the new events, and how many output lines were added."""
        if lines:
            self.lines_seen += lines
            self.output_moved = True
        if types:
            self._note(types)

    def take_output(self) -> bool:
        """Were output lines written since the last call? (UI loop)"""
        moved, self.output_moved = self.output_moved, False
        return moved

    def _note(self, types: list[str]) -> None:
        urgent = False
        topics: set[str] = set()
        for etype in types:
            topics |= _TOPICS.get(str(etype).split(".", 1)[0], {EVENTS})
            urgent = urgent or etype in URGENT
        with self._lock:
            self._topics |= topics
            wake = urgent and not self._woken
            if wake:
                self._woken = True
        if wake:
            self._wake()

    def mark(self, topics: frozenset[str] = ALL) -> None:
        with self._lock:
            self._topics |= topics

    def take(self) -> frozenset[str]:
        """The topics changed since the last call (UI loop)."""
        with self._lock:
            topics = frozenset(self._topics)
            self._topics.clear()
            self._woken = False
        return topics
