"""`br-tui routing ...` through `engine.routing.cli.main` (what `python -m engine.routing` runs)."""

from __future__ import annotations

import io
import json

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


def test_costs_by_model_and_task(tmp_path):
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
