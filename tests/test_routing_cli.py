"""`br-tui routing ...` through `engine.routing.cli.main` (what `python -m engine.routing` runs)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from engine import clock
from engine.routing.cli import main
from engine.routing.costs import CallRecord
from engine.store import Store


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_estimate_json_shape():
    code, out = run("estimate", "--json", "Fix the typo in README.md")
    assert code == 0
    row = json.loads(out)
    assert set(row) >= {"level", "score", "reasons", "model", "estimated_cost_usd"}
    assert row["level"] == "simple" and row["model"] == "claude-haiku-5-5"


def test_estimate_batch_keeps_ids_and_reports_bad_lines(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "text": "Fix a typo"}\nnot json\n{"id": 7, "text": "x"}\n')
    code, out = run("estimate", "--batch", str(path))
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", 7] and code == 2
    assert ":2:" in capsys.readouterr().err


def test_select_with_cost_limit():
    code, out = run("select", "--json", "--complexity", "complex", "--cost-limit", "0.5", "x")
    row = json.loads(out)
    assert code == 0 and row["estimated_cost_usd"] <= 0.5 and row["tier"] != "strongest"


def test_models_lists_the_table():
    code, out = run("models", "--json")
    data = json.loads(out)
    assert code == 0 and data["checked"] and len(data["models"]) >= 3
    assert {m["tier"] for m in data["models"]} == {"fast", "balanced", "strongest"}


@pytest.fixture
def mid_2026():
    """The calls below are stamped 2026-01-01: "today" must be a fixed day well after it."""
    with clock.frozen(datetime(2026, 6, 1, 12, tzinfo=UTC)):
        yield


def test_costs_by_model_and_task(tmp_path, mid_2026):
    db = tmp_path / "br.db"
    with Store(db) as store:
        for task, model, cost in (("a", "m1", 0.25), ("b", "m1", 0.5), ("c", "m2", None)):
            rec = CallRecord(
                "2026-01-01T00:00:00.000000+00:00", "s1", task, 1, 1, "command", model, None,
                "simple", 0.0, 100, 10, 0, 0, cost, "table", None, 1.0, 1, "succeeded",
                None, None, "r",
            )  # fmt: skip
            store.write(ops=[rec.insert_op()])
    code, out = run("costs", "--db", str(db), "--json")
    data = json.loads(out)
    assert code == 0 and data["total_usd"] == 0.75
    assert data["rows"][0] == {
        "key": "m1", "calls": 2, "input_tokens": 200, "output_tokens": 20,
        "cache_read_tokens": 0, "cache_write_tokens": 0, "cost_usd": 0.75,
        "unknown_cost_calls": 0,
    }  # fmt: skip
    assert data["rows"][1]["unknown_cost_calls"] == 1
    code, out = run("costs", "--db", str(db), "--json", "--by", "task", "--period", "day")
    assert json.loads(out)["rows"] == []  # those calls were long ago
    code, out = run("costs", "--db", str(tmp_path / "none.db"), "--json")
    assert json.loads(out)["total_usd"] == 0.0 and not (tmp_path / "none.db").exists()


def test_usage_errors_exit_2(capsys):
    assert run("estimate")[0] == 2
    assert run("costs", "--by", "nope")[0] == 2
    assert "br-tui routing" in capsys.readouterr().err


def test_estimate_and_outcomes_show_a_learned_level_shift(tmp_path):
    from datetime import datetime, timedelta

    from engine.store import Store, now_iso

    db = tmp_path / "br.db"
    start = datetime.fromisoformat(now_iso()) - timedelta(days=1)
    with Store(db) as store:
        for n, ok in enumerate("ynnnnn"):
            store.write(ops=[CallRecord(
                ts=(start + timedelta(minutes=n)).isoformat(), session_id="s", task_id=f"t{n}",
                attempt=1, call_no=1, backend="command", model="claude-haiku-5-5", tier="fast",
                level="simple", score=0.0, input_tokens=10, output_tokens=1,
                cache_read_tokens=0, cache_write_tokens=0, cost_usd=0.002, cost_source="table",
                reported_cost_usd=None, latency_s=1.0, num_turns=1,
                outcome="succeeded" if ok == "y" else "failed",
                failure_class=None if ok == "y" else "task_failure", error=None,
                routing_reason=None,
            ).insert_op()])  # fmt: skip
    code, out = run("estimate", "--json", "--db", str(db), "Fix the typo in README.md")
    row = json.loads(out)
    assert code == 0 and row["level"] == "simple" and row["tier"] == "balanced"
    assert row["level_shift"]["reason"].startswith("simple tasks on the fast tier succeeded 1 of")
    code, out = run("estimate", "--db", str(db), "Fix the typo in README.md")
    assert "level shift: simple tasks" in out
    code, out = run("outcomes", "--json", "--db", str(db))
    data = json.loads(out)
    [stats] = data["rows"]
    assert (stats["level"], stats["attempts"], stats["succeeded"]) == ("simple", 6, 1)
    assert stats["cost_usd"] == pytest.approx(0.012)
    assert [s["level"] for s in data["level_shifts"]] == ["simple"]
    code, out = run("outcomes", "--db", str(tmp_path / "none.db"))
    assert code == 0 and "no level shifts" in out
