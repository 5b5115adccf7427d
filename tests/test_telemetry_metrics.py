"""Metrics against references computed independently in Python on known data."""

from __future__ import annotations

import random
import statistics
import time

import pytest

from engine.events import Event, EventType
from engine.store import Store
from engine.telemetry import metrics


def reference(values: list[float]) -> dict[str, float]:
    """Percentiles by `statistics.quantiles(method='inclusive')`: linear between ranks."""
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "p99": q[98], "max": max(values), "n": len(values)}


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "br.db") as s:
        yield s


def _ends(values: dict[str, list[float]], session: str = "s1", t0: float | None = None):
    t0 = t0 or time.time() - 3600
    evs = []
    for i, (task, walls) in enumerate(sorted(values.items())):
        for j, w in enumerate(walls):
            kind = EventType.TASK_SUCCEEDED if j % 4 else EventType.TASK_RETRIED
            evs.append(Event(kind, session, task, "w1", data={"wall_s": w}, ts=t0 + i + j / 1e3))
    return evs


def test_percentiles_match_reference_overall_and_grouped(store):
    rng = random.Random(5)
    data = {
        f"t{k}": [rng.lognormvariate(0, 1) for _ in range(rng.randint(3, 60))] for k in range(7)
    }
    store.write(events=_ends(data))
    store.write(events=[Event(EventType.SESSION_COMPLETED, "s1", data={"wall_s": 1e9})])  # ignored
    store.flush()
    everything = [v for vals in data.values() for v in vals]
    [overall] = metrics.latency(store, "all")
    ref = reference(everything)
    for k in ("p50", "p95", "p99", "max", "n"):
        assert overall[k] == pytest.approx(ref[k], abs=1e-5), k
    by_task = {r["key"]: r for r in metrics.latency(store, "task")}
    assert set(by_task) == set(data)
    for task, vals in data.items():
        ref = reference(vals)
        for k in ("p50", "p95", "p99", "max"):
            assert by_task[task][k] == pytest.approx(ref[k], abs=1e-5), (task, k)


def test_single_value_and_empty(store):
    assert metrics.latency(store, "all") == []
    store.write(events=_ends({"a": [2.5]}))
    store.flush()
    [row] = metrics.latency(store, "task")
    assert row["p50"] == row["p95"] == row["p99"] == row["max"] == 2.5


def test_outcomes_errors_and_cost(store):
    t0 = time.time() - 600
    evs = [Event(EventType.TASK_SUCCEEDED, "s1", f"ok{i}", data={"wall_s": 1}, ts=t0 + i)
           for i in range(6)]  # fmt: skip
    evs += [
        Event(EventType.TASK_FAILED, "s1", "bad", data={"exit_code": 2, "wall_s": 1}, ts=t0 + 7),
        Event(EventType.TASK_TIMED_OUT, "s1", "slow", data={"wall_s": 9}, ts=t0 + 8),
        Event(EventType.TASK_FAILED, "s1", "dep", data={"reason": "dependency 'bad' failed"},
              ts=t0 + 9),
        Event(EventType.TASK_CANCELLED, "s1", "gone", ts=t0 + 10),
    ]  # fmt: skip
    store.write(events=evs)
    ins = (
        "INSERT INTO agent_calls (ts, session_id, task_id, backend, model, cost_usd, latency_s,"
        " outcome, failure_class) VALUES (?,?,?,?,?,?,?,?,?)"
    )
    day = "2026-11-20T10:00:00+00:00"
    store.write(
        [
            (ins, (day, "s1", "a", "cli", "haiku", 0.25, 1.0, "succeeded", None)),
            (ins, (day, "s1", "a", "cli", "haiku", 0.5, 3.0, "failed", "rate_limited")),
            (ins, (day, "s2", "b", "cli", "opus", 2.0, 5.0, "succeeded", None)),
            (ins, (day, "s2", "b", "cli", "opus", None, 7.0, "succeeded", None)),
        ]
    )
    store.flush()
    out = metrics.outcomes(store)
    assert (out["succeeded"], out["failed"], out["timed_out"], out["cancelled"]) == (6, 2, 1, 1)
    assert out["success_rate"] == pytest.approx(6 / 9, abs=1e-4)
    errs = {(e["source"], e["class"]): e["n"] for e in metrics.errors(store)}
    assert errs == {
        ("task", "exit_code"): 1,
        ("task", "timeout"): 1,
        ("task", "dependency"): 1,
        ("agent", "rate_limited"): 1,
    }
    by_model = {r["key"]: r for r in metrics.cost(store, "model")}
    assert by_model["opus"]["cost_usd"] == 2.0 and by_model["opus"]["unknown_cost"] == 1
    assert by_model["haiku"]["cost_usd"] == 0.75
    assert metrics.cost(store, "day")[0]["key"] == "2026-11-20"
    lat = {r["key"]: r for r in metrics.latency(store, "model")}
    assert lat["opus"]["p50"] == pytest.approx(6.0) and lat["haiku"]["max"] == 3.0


def test_queue_depth_replays_events(store):
    t0 = time.time() - 100
    evs = [Event(EventType.TASK_QUEUED, "s1", f"t{i}", ts=t0) for i in range(5)]
    evs += [Event(EventType.TASK_STARTED, "s1", "t0", data={"attempt": 1}, ts=t0 + 1)]
    evs += [Event(EventType.TASK_CANCELLED, "s1", "t4", data={"reason": "x"}, ts=t0 + 2)]
    store.write(events=evs)
    store.flush()
    rows = metrics.queue_depth(store, bucket="day")
    assert rows[-1]["max_depth"] == 5 and rows[-1]["last_depth"] == 3


def test_windowed_latency_reads_an_index_not_each_events_json(store):
    """The p95 alert probe's window query is answered from `events_ts_lat` (ts, lat_s):
    ranging `events_ts` would compute `lat_s`, parsing the JSON of every event in the
    window, at every evaluation."""
    store.publish(*_ends({"a": [0.5, 1.5, 2.5]}))
    store.flush()
    since = "2000-01-01T00:00:00+00:00"
    plan = store.query(
        "EXPLAIN QUERY PLAN SELECT count(*), min(lat_s), max(lat_s), avg(lat_s) FROM events"
        " WHERE lat_s IS NOT NULL AND ts >= ?",
        (since,),
    )
    assert any("INDEX events_ts_lat" in r["detail"] for r in plan), plan
    found = metrics.overall_latency(store.reader, " AND ts >= ?", [since], percentiles=(0.5,))
    assert (found["n"], found["p50"]) == (3, 1.5)
