"""The store's own helpers, against the reference they stand in for."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from engine.store import iso_from_ts


def test_iso_from_ts_matches_datetime_rounding() -> None:
    """Same text as `datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")`,
    including half-microsecond ties and a fraction that rounds up into the next second."""
    rng = random.Random(7)
    base = 1_790_000_000.0
    stamps = [rng.uniform(0, 4e9) for _ in range(20_000)]
    stamps += [base + rng.randint(-(10**6), 10**6) * 5e-7 for _ in range(20_000)]  # ties
    stamps += [base + 0.9999996, base + 0.9999994, base - 0.0000004, 0.0, 59.9999999]
    for ts in stamps:
        assert iso_from_ts(ts) == datetime.fromtimestamp(ts, UTC).isoformat(
            timespec="microseconds"
        ), ts
