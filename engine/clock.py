"""The one wall clock every part of br-tui asks "what time is it?".

Spend "today", a budget's month, "5m ago", an alert's window, a rollup's week and an event's
timestamp are all answers to that question. When each part read the system clock on its own, a
test that froze the app's clock still computed today's spend against the real date and failed
on every day after the one it was written on. Here there is one source, swapped for the whole
process at once (`frozen()` in tests, `install()` for a caller with its own notion of now), so
a frozen clock freezes all of it. `tests/test_clock.py` keeps other modules from reading the
system clock behind its back.

Durations and timeouts are not wall-clock questions: they use `time.monotonic()` directly,
which no date change can move backwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

#: A clock answers with seconds since the epoch (UTC): the cheapest form, since every event and
#: output line is stamped with one; datetimes are made from it on demand.
Clock = Callable[[], float]

system: Clock = time.time
_source: Clock = system


def now() -> float:
    """Seconds since the epoch, from the installed clock."""
    return _source()


def now_dt() -> datetime:
    """The installed clock's now as an aware UTC datetime."""
    return datetime.fromtimestamp(_source(), UTC)


def install(clock: Clock) -> Clock:
    """Make `clock` the process's clock; returns the one it replaces (to restore it later)."""
    global _source
    previous, _source = _source, clock
    return previous


def fixed(at: datetime | float) -> Clock:
    """A clock that always answers `at`."""
    ts = at.timestamp() if isinstance(at, datetime) else float(at)
    return lambda: ts


@contextmanager
def frozen(at: datetime | float) -> Iterator[None]:
    """Within the block, the whole process sees `at` as now."""
    with using(fixed(at)):
        yield


@contextmanager
def using(clock: Clock) -> Iterator[None]:
    """Within the block, the whole process reads `clock`."""
    previous = install(clock)
    try:
        yield
    finally:
        install(previous)
