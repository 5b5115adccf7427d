"""One injectable clock: freezing it freezes every "what time is it" in the engine and the app.

The snapshot tests froze the app at a date, yet the header's "today's spend" read the system
clock and changed with the calendar (issue 11). The scan below keeps any module from reading the
wall clock behind `engine.clock`'s back again; CI also runs the whole suite with the system date
moved a year each way (`.ci/run`, `tests/timeshift/`).
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import clock

ROOT = Path(__file__).resolve().parent.parent
#: Calls that read the system's wall clock (durations use time.monotonic(), which is fine).
WALL_CLOCK_CALLS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}
#: These format "now" when called without a time argument.
NOW_WHEN_BARE = {("time", "localtime"), ("time", "gmtime"), ("time", "ctime"), ("time", "asctime")}


def _wall_clock_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        ref = None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            ref = (node.value.id, node.attr)
        if ref in WALL_CLOCK_CALLS:  # called or passed as a factory (default_factory=time.time)
            found.append((node.lineno, ".".join(ref)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if isinstance(func.value, ast.Name):
                call = (func.value.id, func.attr)
                bare = not node.args or (call == ("time", "strftime") and len(node.args) < 2)
                if (call in NOW_WHEN_BARE or call == ("time", "strftime")) and bare:
                    found.append((node.lineno, ".".join(call) + "()"))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            if "'now'" in text or "current_timestamp" in text or "current_date" in text:
                found.append((node.lineno, "SQL reads 'now'"))
    return [f"{path.relative_to(ROOT)}:{line} {what}" for line, what in sorted(found)]


def test_nothing_reads_the_wall_clock_behind_the_injectable_clock() -> None:
    sources = [p for pkg in ("engine", "br_tui") for p in sorted((ROOT / pkg).rglob("*.py"))]
    offenders = [hit for p in sources if p != ROOT / "engine" / "clock.py" for hit in
                 _wall_clock_reads(p)]  # fmt: skip
    assert offenders == []


def test_the_scan_sees_each_kind_of_read(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "import time\nfrom datetime import datetime, date\n"
        "a = time.time()\nb = datetime.now()\nc = date.today()\nd = time.strftime('%Y')\n"
        "e = time.localtime()\nf = time.gmtime(0)\ng = \"SELECT julianday('now')\"\n"
        "from dataclasses import field\nh = field(default_factory=time.time)\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        hits = _wall_clock_reads(src)
    finally:
        ROOT = saved
    assert [h.split(" ", 1)[0] for h in hits] == [
        "m.py:3", "m.py:4", "m.py:5", "m.py:6", "m.py:7", "m.py:9", "m.py:11",
    ]  # fmt: skip


@pytest.fixture
def at_new_year() -> datetime:
    at = datetime(2031, 1, 1, 0, 30, tzinfo=UTC)
    with clock.frozen(at):
        yield at


def test_frozen_clock_moves_windows_stamps_and_events(at_new_year: datetime) -> None:
    from engine.events import Event, EventType
    from engine.routing.costs import period_start
    from engine.store.db import now_iso
    from engine.telemetry.timeparse import since_iso

    assert clock.now_dt() == at_new_year
    assert now_iso() == "2031-01-01T00:30:00.000000+00:00"
    assert since_iso(3600) == "2030-12-31T23:30:00.000000+00:00"
    assert period_start("day") == "2031-01-01T00:00:00.000000+00:00"
    assert period_start("month") == "2031-01-01T00:00:00.000000+00:00"
    assert period_start("week") == "2030-12-30T00:00:00.000000+00:00"  # that Monday
    assert Event(EventType.SESSION_CREATED).ts == at_new_year.timestamp()


def test_todays_spend_follows_the_frozen_clock(tmp_path: Path) -> None:
    from engine.routing.costs import total_spend
    from engine.store import Store

    day = datetime(2030, 6, 15, 12, tzinfo=UTC)
    store = Store(tmp_path / "br.db")
    try:
        for offset, usd in ((timedelta(0), 1.25), (timedelta(days=1), 4.0)):
            sql = (
                "INSERT INTO agent_calls (ts, session_id, task_id, backend, model, cost_usd,"
                " outcome) VALUES (?, 's', 't', 'command', 'm', ?, 'succeeded')"
            )
            store.write([(sql, ((day - offset).isoformat(timespec="microseconds"), usd))])
        store.flush()
        with clock.frozen(day):
            assert total_spend(store, period="day") == 1.25
        with clock.frozen(day + timedelta(days=1)):
            assert total_spend(store, period="day") == 0.0
            assert total_spend(store, period="month") == 5.25
    finally:
        store.close()


def test_frozen_is_undone_after_the_block() -> None:
    before = clock.now()
    with clock.frozen(0):
        assert clock.now() == 0
    assert clock.now() >= before
