"""Durations as people type them (`90s`, `15m`, `1h`, `30d`, `2w`) and the UTC stamps they mean.

Stored timestamps are ISO-8601 UTC text, which sorts as time; every window in telemetry is a
lower bound on that text, so it converts here once instead of in each query.
"""

from __future__ import annotations

import re

from engine import clock
from engine.store.db import iso_from_ts

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RX = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str | float | int) -> float:
    """Seconds in `text`; a bare number is seconds. Raises ValueError with a readable message."""
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"negative duration: {text}")
        return float(text)
    m = _RX.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 1h, 30d, 2w)")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def since_iso(seconds: float, now: float | None = None) -> str:
    """The ISO stamp `seconds` before `now` (default: the current time)."""
    return iso_from_ts((clock.now() if now is None else now) - seconds)
