"""Thresholds and alerts: levels, hysteresis, raise/clear events, history, project config."""

from __future__ import annotations

import threading

import pytest

from engine import clock
from engine.events import Event, EventType, Level
from engine.store import Store
from engine.telemetry.alerts import AlertMonitor, active_alerts, alert_history
from engine.telemetry.collector import Collector
from engine.telemetry.thresholds import BUILTIN, Threshold, ThresholdError, load_config

W, E = Level.WARNING, Level.ERROR
RATE = Threshold("success_rate", "success_rate", "below", {W: 0.9, E: 0.75}, 0.05,
                 window_s=86400, min_samples=1)  # fmt: skip


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "br.db") as s:
        yield s


def finish(store: Store, ok: int = 0, bad: int = 0) -> None:
    evs = [Event(EventType.TASK_SUCCEEDED, "s1", f"ok{i}") for i in range(ok)]
    evs += [Event(EventType.TASK_FAILED, "s1", f"bad{i}") for i in range(bad)]
    store.write(events=evs)
    store.flush()


def test_builtins_are_many_and_four_levelled():
    assert len(BUILTIN) >= 7
    levels = {lv for t in BUILTIN for lv in t.bounds}
    assert levels == {Level.INFO, W, E, Level.CRITICAL}


def test_level_for_holds_within_the_band():
    t = Threshold("q", "queue_depth", "above", {W: 10, E: 20}, 2)
    assert t.level_for(9, None) is None
    assert t.level_for(10, None) is W
    assert t.level_for(9, W) is W  # inside the band: hold
    assert t.level_for(7.9, W) is None
    assert t.level_for(19, E) is E and t.level_for(17.5, E) is W


def test_alert_fires_escalates_and_clears_with_hysteresis(store):
    mon = AlertMonitor(store, [RATE])
    finish(store, ok=10)
    assert mon.evaluate() == []
    finish(store, bad=3)  # 10/13 = 0.77
    [ev] = mon.evaluate()
    assert ev.type is EventType.ALERT_RAISED and ev.level is W
    finish(store, bad=1)  # 10/14 = 0.71
    [ev] = mon.evaluate()
    assert ev.level is E and ev.data["from"] == "warning"
    finish(store, ok=3)  # 13/17 = 0.765: above the 0.75 bound but inside the band
    assert mon.evaluate() == []
    finish(store, ok=4)  # 17/21 = 0.81: out of the error band, still below 0.9 + 0.05
    [ev] = mon.evaluate()
    assert ev.type is EventType.ALERT_RAISED and ev.level is W and ev.data["from"] == "error"
    finish(store, ok=5)  # 22/26 = 0.846 < 0.95: no flapping back and forth
    assert mon.evaluate() == []
    finish(store, ok=70)  # 92/96 = 0.958
    [ev] = mon.evaluate()
    assert ev.type is EventType.ALERT_CLEARED
    store.flush()
    assert active_alerts(store) == []
    [episode] = alert_history(store)
    assert episode["peak_level"] == "error" and episode["cleared_at"] is not None
    types = [
        r["type"]
        for r in store.query("SELECT type FROM events WHERE type LIKE 'alert.%' ORDER BY id")
    ]
    assert types == ["alert.raised"] * 3 + ["alert.cleared"]


def test_restarted_monitor_continues_the_episode(store):
    finish(store, ok=1, bad=9)
    [ev] = AlertMonitor(store, [RATE]).evaluate()
    assert ev.level is E
    store.flush()
    assert AlertMonitor(store, [RATE]).evaluate() == []  # open episode read from the table
    assert [a["level"] for a in active_alerts(store)] == ["error"]


def test_background_monitor_reacts_to_committed_events(store):
    got: list[Event] = []
    done = threading.Event()
    col = Collector(store, flush_at_exit=False)
    col.subscribe(lambda evs: (got.extend(evs), done.set()), types=[EventType.ALERT_RAISED])
    with AlertMonitor(store, [RATE], interval=60):
        finish(store, ok=1, bad=5)
        assert done.wait(10), "no alert raised within 10 s"
    assert got[0].level is E and got[0].data["threshold"] == "success_rate"
    col.close()


def test_consecutive_failures_are_per_task(store):
    t = next(t for t in BUILTIN if t.id == "consecutive_failures")
    store.write(events=[Event(EventType.TASK_RETRIED, "s1", "flaky") for _ in range(3)])
    store.flush()
    [ev] = AlertMonitor(store, [t]).evaluate()
    assert ev.level is E and ev.task_id == "flaky" and ev.data["scope"] == "task:flaky"
    store.write(events=[Event(EventType.TASK_SUCCEEDED, "s1", "flaky")])
    store.flush()
    [ev] = AlertMonitor(store, [t]).evaluate()
    assert ev.type is EventType.ALERT_CLEARED
    assert (ev.session_id, ev.task_id, ev.data["value"]) == ("s1", "flaky", 0.0)


def test_project_config_overrides(tmp_path):
    (tmp_path / ".buildrunner").mkdir()
    cfg = tmp_path / ".buildrunner" / "config.toml"
    cfg.write_text(
        "[telemetry]\ninterval = '10s'\n"
        "[telemetry.thresholds.success_rate]\nwarning = 0.8\ncritical = false\nwindow = '1h'\n"
        "[telemetry.thresholds.queue_depth]\nenabled = false\n"
        "[telemetry.thresholds.deep_queue]\nmetric = 'queue_depth'\ndirection = 'above'\n"
        "critical = 50\n"
    )
    conf = load_config(tmp_path)
    by_id = {t.id: t for t in conf.thresholds}
    assert conf.interval_s == 10
    sr = by_id["success_rate"]
    assert sr.bounds[W] == 0.8 and Level.CRITICAL not in sr.bounds and sr.window_s == 3600
    assert not by_id["queue_depth"].enabled
    assert by_id["deep_queue"].bounds == {Level.CRITICAL: 50}
    cfg.write_text("[telemetry.thresholds.success_rate]\nwarnign = 0.8\n")
    with pytest.raises(ThresholdError, match="warnign"):
        load_config(tmp_path)
    cfg.write_text("[telemetry.thresholds.x]\nmetric = 'nope'\ndirection = 'above'\n")
    with pytest.raises(ThresholdError, match="unknown metric"):
        load_config(tmp_path)


def test_builtin_probes_all_run(store):
    """Every built-in threshold's probe answers on a real database, with numbers or nothing."""
    from engine.store.db import iso_from_ts
    from engine.telemetry.probes import PROBES

    finish(store, ok=9, bad=3)  # 12 outcomes: past success_rate's 10-sample minimum
    since = iso_from_ts(clock.now() - 3600)
    for t in BUILTIN:
        for sample in PROBES[t.metric](store.reader, since):
            assert sample.value is None or isinstance(sample.value, int | float), t.id
    rates = [s.value for s in PROBES["success_rate"](store.reader, since)]
    assert rates == [0.75]
    events = AlertMonitor(store).evaluate()
    assert "success_rate" in {e.data["threshold"] for e in events}
