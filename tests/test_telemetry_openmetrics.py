"""`br-tui telemetry export metrics.prom`: the Prometheus text format (and OpenMetrics for
`.om`), read back with prometheus_client's own parsers, agreeing with the store's metrics."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families

from engine.store import Store, connect
from engine.telemetry import metrics
from engine.telemetry.cli import main as telemetry_main
from engine.telemetry.openmetrics import render, write_metrics
from tests.test_telemetry_masking import CORE, SECRET


@pytest.fixture
def db_path(project: Path) -> Path:
    return project / ".buildrunner" / "br.db"


def families(text: str) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(family: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for s in family.samples  # type: ignore[attr-defined]
    }


def test_export_writes_a_prom_file_that_parses_and_agrees(db_path: Path, project: Path) -> None:
    with Store(db_path) as store:  # the seeded calls carry no latency: give them some
        store.write([("UPDATE agent_calls SET latency_s = 0.5 + (rowid % 7) * 0.25", ())])
    out = project / "metrics.prom"
    assert telemetry_main(["export", str(out), "--db", str(db_path), "--json"]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    fams = families(out.read_text())
    db = connect(db_path, readonly=True)

    assert fams["br_sessions"].type == "gauge"  # type: ignore[attr-defined]
    by_status = {lab[0][1]: v for (_, lab), v in samples(fams["br_sessions"]).items()}
    want = {r["status"]: r["n"] for r in db.query(
        "SELECT status, count(*) AS n FROM sessions GROUP BY status")}  # fmt: skip
    assert by_status == want and sum(by_status.values()) == 4

    outcomes = metrics.outcomes(db)
    fam = fams["br_task_outcomes"]
    assert fam.type == "counter"  # type: ignore[attr-defined]
    got = {dict(lab)["outcome"]: v for (name, lab), v in samples(fam).items()}
    assert got == {k: outcomes[k] for k in ("succeeded", "failed", "timed_out", "cancelled")}

    spend = {dict(lab)["model"]: v for (_, lab), v in samples(fams["br_spend_usd"]).items()}
    costs = metrics.cost(db, "model")
    assert costs and spend == {c["key"]: pytest.approx(c["cost_usd"]) for c in costs}

    lat = fams["br_task_latency_seconds"]
    assert lat.type == "summary"  # type: ignore[attr-defined]
    s = samples(lat)
    overall = metrics.latency(db, "all")[0]
    assert s[("br_task_latency_seconds", (("quantile", "0.95"),))] == pytest.approx(overall["p95"])
    assert s[("br_task_latency_seconds_count", ())] == overall["n"]
    assert s[("br_task_latency_seconds_sum", ())] == pytest.approx(overall["mean"] * overall["n"])
    agent = samples(fams["br_agent_latency_seconds"])
    for row in metrics.latency(db, "model"):
        key = ("br_agent_latency_seconds", (("model", row["key"]), ("quantile", "0.5")))
        assert agent[key] == pytest.approx(row["p50"])
        assert agent[("br_agent_latency_seconds_count", (("model", row["key"]),))] == row["n"]
    assert {dict(lab)["model"] for (_, lab) in agent} == {c["key"] for c in costs}

    failures = samples(fams["br_failures"])
    assert sum(failures.values()) == sum(e["n"] for e in metrics.errors(db))
    assert ("br_queue_depth", ()) in samples(fams["br_queue_depth"])


def test_openmetrics_file_parses_with_the_openmetrics_parser(db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "metrics.om"
    assert telemetry_main(["export", str(out), "--db", str(db_path)]) == 0
    text = out.read_text()
    assert text.endswith("# EOF\n")
    names = {f.name for f in parse_openmetrics(text)}
    assert {"br_sessions", "br_task_outcomes", "br_task_latency_seconds"} <= names


def test_label_values_are_masked(db_path: Path, tmp_path: Path) -> None:
    with Store(db_path) as store:
        store.write(
            [
                (
                    "INSERT INTO events (ts, type, level, session_id, task_id, data)"
                    " VALUES (?,?,?,?,?,?)",
                    ("2026-11-21T09:59:00+00:00", "task.failed", "error", "a1b2c3d4", "t",
                     json.dumps({"failure_class": f"token={SECRET}"})),
                )
            ]
        )  # fmt: skip
    text = render(connect(db_path, readonly=True)).decode()
    assert CORE not in text and SECRET not in text
    assert "br_failures_total" in text


def test_unknown_suffix_is_a_clear_error(db_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown metrics format"):
        write_metrics(connect(db_path, readonly=True), tmp_path / "m.xml")
