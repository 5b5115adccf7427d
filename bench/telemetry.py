"""Telemetry benchmark: ingest rate through the collector, and summary + p95 over 1M events.

    python bench/telemetry.py [--events 1000000] [--keep DIR]

Prints figures; never asserts on time (this machine is shared). The event mix is a plausible
run: for every task a queued, a started, and a succeeded/failed event carrying wall_s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.events import Event, EventType
from engine.store import Store
from engine.store.db import connect
from engine.telemetry import metrics
from engine.telemetry.collector import Collector
from engine.telemetry.rollups import rollup


def make_events(n: int, t0: float, rng: random.Random) -> list[Event]:
    out: list[Event] = []
    i = 0
    while len(out) < n:
        tid, sid, ts = f"t{i % 5000}", f"s{i // 10000}", t0 + i * 0.75
        out.append(Event(EventType.TASK_QUEUED, sid, tid, data={"kind": "shell"}, ts=ts))
        out.append(Event(EventType.TASK_STARTED, sid, tid, "w1", data={"attempt": 1}, ts=ts))
        ok = rng.random() < 0.9
        out.append(
            Event(
                EventType.TASK_SUCCEEDED if ok else EventType.TASK_FAILED,
                sid,
                tid,
                "w1",
                data={
                    "attempt": 1,
                    "wall_s": rng.lognormvariate(0, 1),
                    "exit_code": 0 if ok else 1,
                },
                ts=ts,
            )
        )
        i += 1
    return out[:n]


def ingest(path: Path, events: list[Event], chunk: int) -> float:
    """Events/s from first publish to everything committed."""
    with Store(path) as store:
        col = Collector(store, flush_at_exit=False)
        t = time.perf_counter()
        if chunk == 1:
            for ev in events:
                col.publish(ev)
        else:
            for i in range(0, len(events), chunk):
                col.publish_many(events[i : i + chunk])
        col.flush()
        return len(events) / (time.perf_counter() - t)


def best_of(fn, k: int = 3) -> float:
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--ingest", type=int, default=200_000, help="events for the ingest runs")
    ap.add_argument("--keep", help="directory to keep the database in")
    args = ap.parse_args()
    rng = random.Random(1)
    base = Path(args.keep or tempfile.mkdtemp(prefix="br-telemetry-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    t0 = time.time() - args.events * 0.25

    small = make_events(args.ingest, t0, rng)
    for chunk in (1, 100, 1000):
        rates = [ingest(base / f"ingest-{chunk}-{k}.db", small, chunk) for k in range(3)]
        print(f"ingest, {chunk:>4} event(s) per publish: {statistics.median(rates):>9,.0f} events/s"
              f" (median of 3, {args.ingest:,} events)")  # fmt: skip

    big = base / "million.db"
    for p in base.glob("million.db*"):
        p.unlink()
    events = make_events(args.events, t0, rng)
    rate = ingest(big, events, 1000)
    del events
    print(f"ingest of {args.events:,} events (1000 per publish): {rate:,.0f} events/s")
    print(f"database: {big.stat().st_size / 1e6:,.0f} MB")

    db = connect(big)
    s = best_of(lambda: metrics.summary(db))
    p = best_of(lambda: metrics.latency(db, "all"))
    both = best_of(lambda: (metrics.summary(db), metrics.latency(db, "all")))
    lat = metrics.latency(db, "all")[0]
    print(f"summary over {args.events:,} events: {s * 1000:,.0f} ms (best of 3)")
    print(f"p50/p95/p99/max over {lat['n']:,} latencies: {p * 1000:,.0f} ms"
          f"  (p95 = {lat['p95']:.3f} s)")  # fmt: skip
    print(f"summary + p95 together: {both * 1000:,.0f} ms")
    since = metrics.rows(db, "SELECT max(ts) AS m FROM events")[0]["m"]
    day_ago = (datetime.fromisoformat(since) - timedelta(days=1)).isoformat()
    w = best_of(lambda: metrics.latency(db, "hour", since=day_ago))
    print(f"latency by hour, last 24 h of data: {w * 1000:,.0f} ms")

    # The same p95 the way a user would without br-tui: load every row and sort in Python.
    def python_way() -> float:
        import json

        vals = sorted(
            json.loads(r[0])["wall_s"]
            for r in db.execute(
                "SELECT data FROM events WHERE type IN ('task.succeeded','task.failed')"
            )
        )
        return statistics.quantiles(vals, n=100, method="inclusive")[94]

    py = best_of(python_way, 1)
    print(f"reference, p95 by fetching rows + json.loads + sort in Python: {py * 1000:,.0f} ms")
    with Store(big) as store:
        t = time.perf_counter()
        n = rollup(store)
        print(f"first rollup (every closed hour/day/week bucket) of {args.events:,} events:"
              f" {time.perf_counter() - t:,.1f} s, {n:,} rollup rows")  # fmt: skip
        later = datetime.now(UTC) + timedelta(hours=1)
        t = time.perf_counter()
        n = rollup(store, later)
        print(f"incremental rollup an hour later (one hour bucket closed):"
              f" {(time.perf_counter() - t) * 1000:,.0f} ms, {n:,} rows")  # fmt: skip
    print(f"files in {base}" if args.keep else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
