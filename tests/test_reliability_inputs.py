"""Safety at the edges: private files, literal session ids, bounded plans, corrupt databases,
missing databases, refused plans and failed spawns each get one line and leave nothing behind."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from engine_helpers import BR, br, br_json, query, write_plan

from engine.host import EngineHost
from engine.store import Store


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_engine_files_are_private_whatever_the_umask(tmp_path: Path, open_umask: None) -> None:
    home = tmp_path / "proj" / ".buildrunner"
    with Store(home / "br.db") as store:
        store.write([("INSERT INTO controls (session_id, action, requested_at)"
                      " VALUES ('s', 'pause', 'now')", ())])  # fmt: skip
        store.flush()
        made = [home, *home.iterdir()]
        assert {p.name for p in made} >= {".buildrunner", "br.db", "br.db-wal", "br.db-shm"}
        for p in made:
            assert _mode(p) == (0o700 if p.is_dir() else 0o600), p
        plan = write_plan(tmp_path / "p.toml", '[[task]]\nid = "a"\nrun = "echo hi"\n')
        host = EngineHost(store)
        sid = host.start_plan(plan)
        host.wait(sid, timeout=60)
        log = home / "logs" / f"{sid}.log"
        assert _mode(log.parent) == 0o700 and _mode(log) == 0o600


def test_files_an_older_version_left_readable_are_tightened(tmp_path: Path) -> None:
    home = tmp_path / ".buildrunner"
    Store(home / "br.db").close()
    os.chmod(home, 0o755)
    os.chmod(home / "br.db", 0o644)
    Store(home / "br.db").close()
    assert _mode(home) == 0o700 and _mode(home / "br.db") == 0o600


# -- session ids are matched literally ---------------------------------------------------------


@pytest.mark.parametrize("ref", ["_", "%", "_%", "%%%%%%%%"])
def test_wildcards_in_a_session_id_match_nothing(tmp_path: Path, ref: str) -> None:
    db = tmp_path / "br.db"
    plan = write_plan(tmp_path / "p.toml", '[[task]]\nid = "a"\nrun = "true"\n')
    assert br("run", str(plan), db=db).returncode == 0
    sid = query(db, "SELECT id FROM sessions")[0]["id"]
    for verb in ("cancel", "status"):
        out = br(verb, ref, db=db)
        assert out.returncode == 2 and f"unknown session '{ref}'" in out.stderr, out
    assert br_json("status", sid[:3], db=db)["session_id"] == sid  # real prefixes still do


# -- plans: size, depth, BOM ---------------------------------------------------------------------


def test_plan_reads_are_bounded_with_one_line_errors(tmp_path: Path) -> None:
    db = tmp_path / "home" / "br.db"
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    tables = tmp_path / "tables.toml"
    tables.write_text("x = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n")
    for plan, words in (("/dev/zero", "larger than"), (deep, "nested too deeply"),
                        (tables, "nested too deeply")):  # fmt: skip
        out = br("run", str(plan), db=db, timeout=60)
        assert out.returncode == 2, out
        assert words in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "Traceback" not in out.stderr
    assert not db.parent.exists()  # a refused plan leaves no database (nor its directory)


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    plan = tmp_path / "bom.toml"
    plan.write_bytes(b'\xef\xbb\xbf[[task]]\nid = "a"\nrun = "true"\n')
    out = br("run", str(plan), "--json", db=tmp_path / "br.db")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "completed"


# -- damaged, missing and unusable databases -----------------------------------------------------


def _damaged(tmp_path: Path) -> tuple[Path, Path]:
    """A real database with a page of the tasks table overwritten."""
    db = tmp_path / "br.db"
    plan = write_plan(tmp_path / "p.toml", "".join(
        f'[[task]]\nid = "t{i}"\nrun = "echo {i}"\n' for i in range(200)))  # fmt: skip
    assert br("run", str(plan), db=db).returncode == 0
    root = query(db, "SELECT rootpage FROM sqlite_master WHERE name='tasks'")[0]["rootpage"]
    with open(db, "r+b") as f:
        f.seek((root - 1) * 4096 + 10)
        f.write(b"\xff" * 3000)
    return db, plan


def test_a_damaged_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db, plan = _damaged(tmp_path)
    for args in (["list"], ["status"], ["run", str(plan)], ["summary"]):
        out = br(*args, db=db)
        assert out.returncode == 2, (args, out)
        assert "damaged" in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    out = subprocess.run([*BR, "telemetry", "summary", "--db", str(db)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2 and "damaged" in out.stderr, out


def test_damage_beyond_the_cheap_check_is_still_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Above the size where opening checks every page, the CLI turns SQLite's error into one
    line; `telemetry summary` checks whatever the size, rather than print partial totals."""
    from br_tui import headless
    from engine.telemetry import cli as telemetry_cli

    db, _ = _damaged(tmp_path)
    monkeypatch.setattr("engine.store.db.CHEAP_CHECK_BYTES", 0)
    assert headless.main(["status", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "damaged" in err and len(err.strip().splitlines()) == 1, err
    assert telemetry_cli.main(["summary", "--db", str(db)]) == 2
    assert "damaged" in capsys.readouterr().err


def test_read_only_verbs_never_create_a_database(tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "br.db"
    for verb in ("status", "list", "workers", "summary", "cancel", "cleanup"):
        out = br(verb, db=typo)
        assert out.returncode == 2 and "no database here" in out.stderr, (verb, out)
    assert not typo.parent.exists()


def test_a_refused_plan_leaves_no_database(tmp_path: Path) -> None:
    home = tmp_path / ".buildrunner"
    for text in ("bogus = 1\n", '[[task]]\nid = "a"\nprompt = "hi"\n[agent]\nbackend = "nope"\n'):
        plan = write_plan(tmp_path / "bad.toml", text)
        out = br("run", str(plan), db=home / "br.db")
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out
        assert not home.exists(), out.stderr


def test_a_spawn_that_fails_says_why_in_status_json(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    plan = write_plan(tmp_path / "big.toml",
                      f'[[task]]\nid = "big"\nrun = "echo {"x" * 1_000_000}"\n')  # fmt: skip
    assert br("run", str(plan), db=db).returncode == 1
    (task,) = br_json("status", db=db)["tasks"]
    assert task["state"] == "failed" and "Argument list too long" in task["reason"]


def test_a_write_that_failed_is_reported_by_the_next_flush(tmp_path: Path) -> None:
    """A dropped group (a damaged page, a full disk) must not pass for a commit."""
    from engine.store import StoreError

    with Store(tmp_path / "br.db") as store:
        store.write([("INSERT INTO no_such_table VALUES (1)", ())])
        with pytest.raises(StoreError, match="a write failed"):
            store.flush()
        store.flush()  # reported once; the writer goes on
