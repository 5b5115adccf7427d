"""The store's own helpers, against the reference they stand in for."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

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
    assert iso_from_ts(-30_610_224_001.0) == "0999-12-31T23:59:59.000000+00:00"  # padded
    for beyond in (253_402_300_800.0, -62_135_596_801.0):  # years 10000 and 0: refused alike
        with pytest.raises(ValueError):
            iso_from_ts(beyond)


def test_session_creation_events_in_order(tmp_path: Path) -> None:
    """session.created first (and to subscribers), then one task.queued per task in plan
    order, built by SQLite from the task rows in the same commit."""
    from engine.events import Event, EventType
    from engine.plan import parse_plan
    from engine.sessions import create_session
    from engine.store import Store

    plan = parse_plan(
        '[[task]]\nid = "b"\nrun = "true"\n[[task]]\nid = "a"\nprompt = "fix"\n'
        '[agent]\ncommand = "agent {prompt}"\n'
    )
    seen: list[str] = []
    with Store(tmp_path / "br.db") as store:
        store.subscribe(lambda batch: seen.extend(str(ev.type) for ev in batch.events))
        sid = create_session(store, plan)
        store.publish(Event(EventType.SESSION_STARTED, sid))  # likely the same group commit
        store.flush()
        rows = store.query(
            "SELECT type, level, task_id, data, v FROM events WHERE session_id=? ORDER BY id",
            (sid,),
        )
    assert [(r["type"], r["task_id"]) for r in rows] == [
        ("session.created", None),
        ("task.queued", "b"),
        ("task.queued", "a"),
        ("session.started", None),
    ]
    assert [json.loads(r["data"]) for r in rows[1:3]] == [{"kind": "shell"}, {"kind": "agent"}]
    assert {(r["level"], r["v"]) for r in rows} == {("info", 1)}
    assert seen == ["session.created", "session.started"]
