"""Rollups outlive pruning; the CLI's verbs, exit codes and --json."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from engine import clock
from engine.events import Event, EventType
from engine.store import Store
from engine.telemetry.cli import main
from engine.telemetry.rollups import ATTEMPTS, prune, rollup, rollup_rows, week_start

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # a Saturday


@pytest.fixture(autouse=True)
def frozen_now():
    """The data is laid out around NOW: every verb (prune's 30 days, windows) must see it too."""
    with clock.frozen(NOW):
        yield


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "br.db"
    with Store(path) as store:
        evs = []
        for day in range(60):  # one attempt end per hour-ish, 60 days back
            for h in (1, 5, 9):
                at = (NOW - timedelta(days=day, hours=h)).timestamp()
                evs.append(
                    Event(EventType.TASK_SUCCEEDED, "s1", f"t{day}", data={"wall_s": h}, ts=at)
                )
        store.write(events=evs)
    return path


def test_rollups_survive_prune_and_stay_exact(db_path):
    with Store(db_path) as store:
        rollup(store, NOW)
        days_before = rollup_rows(store.reader, "day", type=ATTEMPTS)
        weeks_before = rollup_rows(store.reader, "week", type="task.succeeded")
        result = prune(store, 30 * 86400, now=NOW)
        cutoff = week_start(NOW - timedelta(days=30)).isoformat(timespec="seconds")
        assert result["cutoff"] == cutoff and result["deleted"] > 0
        left = store.query("SELECT min(ts) AS m, count(*) AS n FROM events")[0]
        assert left["m"] >= cutoff
        rollup(store, NOW)  # must not recompute frozen buckets from the pruned raw data
        assert rollup_rows(store.reader, "day", type=ATTEMPTS) == days_before
        assert rollup_rows(store.reader, "week", type="task.succeeded") == weeks_before
    # only closed buckets are rolled up: this week (Mon 16th .. Sat 21st, 6 days) stays raw
    assert sum(w["n"] for w in weeks_before) == 180 - 6 * 3
    assert sum(d["n"] for d in days_before) == 180 - 3  # today is still open
    day = days_before[-1]
    assert day["lat_n"] == day["n"] and day["lat_max"] == max(1, 5, 9)
    assert all(w["bucket"][:10] == week_start(datetime.fromisoformat(w["bucket"])).isoformat()[:10]
               for w in weeks_before)  # fmt: skip


def test_rollup_percentiles_match_reference(tmp_path):
    vals = [0.5, 1.5, 2.0, 9.0, 3.25, 7.5, 0.1]
    at = datetime(2026, 11, 20, 10, 30, tzinfo=UTC).timestamp()
    with Store(tmp_path / "br.db") as store:
        store.write(events=[Event(EventType.TASK_FAILED, "s", "t", data={"wall_s": v}, ts=at)
                            for v in vals])  # fmt: skip
        rollup(store, NOW)
        [hour] = rollup_rows(store.reader, "hour", type=ATTEMPTS)
    q = statistics.quantiles(vals, n=100, method="inclusive")
    assert hour["lat_p50"] == pytest.approx(q[49]) and hour["lat_p95"] == pytest.approx(q[94])
    assert hour["lat_p99"] == pytest.approx(q[98]) and hour["lat_n"] == len(vals)


def test_cli_verbs_and_exit_codes(db_path, tmp_path, capsys):
    db = ["--db", str(db_path)]
    assert main(["summary", "--json", *db]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tasks"]["succeeded"] == 180 and summary["latency_s"]["max"] == 9
    assert main(["events", "--type", "task", "--limit", "5", "--json", *db]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 5
    assert main(["alerts", "--level", "warning", "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out) == {"active": [], "history": []}
    assert main(["performance", "--hours", "2", "--json", *db]) == 0
    assert "latency_by_hour" in json.loads(capsys.readouterr().out)
    assert main(["export", str(tmp_path / "e.csv"), "--session", "s", *db]) == 0
    assert (tmp_path / "e.csv").read_text().count("\n") == 181
    assert capsys.readouterr().out.startswith("wrote 180 events")
    assert main(["prune", "--older-than", "30d", "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out)["deleted"] > 0
    capsys.readouterr()
    for bad in (
        ["events", "--since", "yesterday", *db],
        ["alerts", "--level", "loud", *db],
        ["export", str(tmp_path / "e.xml"), *db],
        ["summary", "--db", str(tmp_path / "missing.db")],
        ["prune", *db],
        ["frobnicate"],
    ):
        assert main(bad) == 2, bad
        err = capsys.readouterr().err
        assert err.count("\n") == 1, (bad, err)
