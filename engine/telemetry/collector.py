"""The collector: publish events, subscribe with filters — on top of the store's writer.

There is deliberately no second buffer here. The store's queue already is the buffer: its
writer thread drains what piled up (at most `Store.max_batch` rows), masks every string,
commits once, and only then hands the batch to subscribers. So a subscriber never sees an
event a crash could lose, never sees an unmasked string, and a killed process loses at most
the group that was being written. What this class adds is what producers and consumers want
from a bus: typed publish, filtered subscriptions, and a flush on a clean interpreter exit.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from engine.events import Event, EventType, Level
from engine.store import Batch, Store

LEVEL_ORDER: dict[Level, int] = {lv: i for i, lv in enumerate(Level)}

EventHandler = Callable[[list[Event]], None]


def level_at_least(level: Level | str | None, floor: Level | str) -> bool:
    """True when `level` is as severe as `floor` or more (DEBUG < INFO < ... < CRITICAL)."""
    return LEVEL_ORDER[Level(level or Level.INFO)] >= LEVEL_ORDER[Level(floor)]


@dataclass(slots=True, frozen=True)
class EventFilter:
    """Which events a subscriber wants; an empty field matches everything."""

    types: frozenset[EventType] = frozenset()
    min_level: Level = Level.DEBUG
    session_id: str | None = None

    def matches(self, ev: Event) -> bool:
        if self.types and ev.type not in self.types:
            return False
        if self.session_id is not None and ev.session_id != self.session_id:
            return False
        return level_at_least(ev.level, self.min_level)


class Collector:
    """Publish/subscribe for typed events; persistence and masking happen in the store."""

    def __init__(self, store: Store, *, flush_at_exit: bool = True) -> None:
        self.store = store
        self._unsubscribers: list[Callable[[], None]] = []
        self._at_exit = flush_at_exit
        if flush_at_exit:
            # atexit runs before daemon threads stop, so the writer can still drain the queue.
            atexit.register(self.flush)

    def publish(self, *events: Event) -> None:
        """Queue events; they are committed with the next group, in order."""
        if events:
            self.store.write(events=events)

    def publish_many(self, events: Iterable[Event]) -> None:
        """Queue many events as one item (cheaper than one `publish` each)."""
        batch = list(events)
        if batch:
            self.store.write(events=batch)

    def subscribe(
        self,
        fn: EventHandler,
        *,
        types: Collection[EventType | str] | None = None,
        min_level: Level | str = Level.DEBUG,
        session_id: str | None = None,
    ) -> Callable[[], None]:
        """Call `fn(events)` after each commit with the matching events (masked, committed).

        `fn` runs on the writer thread: keep it short and hand work off (a queue,
        `loop.call_soon_threadsafe`, `App.call_from_thread`). Returns an unsubscribe function.
        """
        flt = EventFilter(
            frozenset(EventType(t) for t in types or ()), Level(min_level), session_id
        )

        def on_batch(batch: Batch) -> None:
            wanted = [ev for ev in batch.events if flt.matches(ev)]
            if wanted:
                fn(wanted)

        unsubscribe = self.store.subscribe(on_batch)
        self._unsubscribers.append(unsubscribe)
        return unsubscribe

    def flush(self, timeout: float | None = 30.0) -> None:
        """Block until everything published so far is committed (and delivered)."""
        if not self.store.closed:
            self.store.flush(timeout)

    def close(self) -> None:
        """Flush, drop this collector's subscriptions; the store stays open for its owner."""
        self.flush()
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()
        if self._at_exit:
            atexit.unregister(self.flush)
            self._at_exit = False

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
