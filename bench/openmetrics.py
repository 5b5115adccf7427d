"""What a `/metrics` scrape (or `telemetry export metrics.prom`) costs over a large database.

    python bench/openmetrics.py [--events 200000]

Builds a database of synthetic task events with bench/telemetry.py's generator, then times
`render()` (every gauge, counter and summary; best of 3) in both text formats.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telemetry import best_of, ingest, make_events

from engine.store import connect
from engine.telemetry.openmetrics import render


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    args = ap.parse_args()
    import random

    base = Path(tempfile.mkdtemp(prefix="br-openmetrics-bench-"))
    path = base / "metrics.db"
    ingest(path, make_events(args.events, time.time() - args.events * 0.25, random.Random(1)), 1000)
    db = connect(path, readonly=True)
    for fmt in ("prometheus", "openmetrics"):
        t = best_of(lambda fmt=fmt: render(db, fmt))
        size = len(render(db, fmt))
        print(f"render ({fmt}) over {args.events:,} events: {t * 1000:,.0f} ms, {size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
