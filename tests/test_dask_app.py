"""The Workers screen and `br-tui workers` show a Dask session's cluster workers (from the
owner's rows: neither the app nor the CLI talks to the cluster)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import iso
from engine_helpers import br

from engine.executors.dask.members import Member
from engine.store import Store

SID = "d1d2d3d4"


def _seed_cluster_session(db: Path) -> None:
    store = Store(db)
    config = {"executor": {"kind": "dask", "address": "tcp://10.0.0.5:8786"}}
    members = [
        Member("tcp://10.0.0.7:40111", "w0", "busy", 2, 8 << 30, 310 << 20, {"gpu": 1.0},
               ("compile:core",), 5, 1),
        Member("tcp://10.0.0.8:40222", "w1", "idle", 2, 8 << 30, 120 << 20, None, (), 3, 0),
    ]  # fmt: skip
    store.write(
        [
            (
                "INSERT INTO sessions (id, name, plan_path, status, created_at, started_at,"
                " owner_pid, workers, total, config) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    SID,
                    "sharded-tests",
                    "plans/s.toml",
                    "running",
                    iso(3),
                    iso(3),
                    None,
                    8,
                    40,
                    json.dumps(config),
                ),
            ),
            *(m.op(SID, iso(0.05)) for m in members),
        ]
    )
    store.close()


async def test_workers_screen_lists_the_cluster_workers(make_app: Any, project: Path) -> None:
    _seed_cluster_session(project / ".buildrunner" / "br.db")
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause(0.3)
        table = app.screen.query_one("#cluster-table")
        assert table.display
        rows = {key: table.get_row(key) for key in table._order}
        first = rows[f"{SID}/tcp://10.0.0.7:40111"]
        assert [str(c) for c in first[:5]] == ["tcp://10.0.0.7:40111", SID, "busy",
                                               "compile:core", "2"]  # fmt: skip
        assert str(first[5]) == "310.0 MiB / 8.0 GiB"
        assert len(rows) == 2


async def test_cluster_table_stays_hidden_without_a_dask_session(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause(0.3)
        assert not app.screen.query_one("#cluster-table").display


def test_cli_workers_lists_the_cluster_workers(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    _seed_cluster_session(db)
    out = br("workers", SID, "--json", db=db)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [(r["address"], r["threads"], r["current_task"], r["resources"]) for r in rows] == [
        ("tcp://10.0.0.7:40111", 2, "compile:core", {"gpu": 1.0}),
        ("tcp://10.0.0.8:40222", 2, None, None),
    ]
    text = br("workers", SID, db=db)
    assert "on dask tcp://10.0.0.5:8786" in text.stdout
    assert "310.0 MiB / 8.0 GiB" in text.stdout
