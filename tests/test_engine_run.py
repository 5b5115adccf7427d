"""Running plans through the real engine: order, retries, timeouts, output, masking."""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import pytest
from engine_helpers import br, br_json, pid_alive, query, raw_bytes, write_plan

from engine.store import Store


def test_dag_order_and_priority(tmp_path: Path) -> None:
    log = tmp_path / "order.log"
    plan = write_plan(
        tmp_path / "p.toml",
        f"""
[defaults]
env = {{ LOG = "{log}" }}
[[task]]
id = "root"
run = "echo root >> $LOG"
[[task]]
id = "low"
run = "echo low >> $LOG"
needs = ["root"]
[[task]]
id = "high"
run = "echo high >> $LOG"
needs = ["root"]
priority = 5
[[task]]
id = "leaf"
run = "echo leaf >> $LOG"
needs = ["low", "high"]
""",
    )
    res = br_json("run", str(plan), "--workers", "1", db=tmp_path / "br.db")
    assert res["status"] == "completed"
    assert (res["total"], res["succeeded"], res["failed"], res["cancelled"]) == (4, 4, 0, 0)
    assert log.read_text().split() == ["root", "high", "low", "leaf"]


def test_run_json_shape_and_exit_codes(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    plan = write_plan(
        tmp_path / "p.toml",
        '[[task]]\nid = "ok"\nrun = "true"\n[[task]]\nid = "bad"\nrun = "exit 3"\n'
        '[[task]]\nid = "after"\nrun = "true"\nneeds = ["bad"]\n',
    )
    out = br("run", str(plan), "--json", db=db)
    assert out.returncode == 1
    obj = json.loads(out.stdout)
    assert set(obj) == {"session_id", "name", "status", "total", "succeeded", "failed",
                        "cancelled", "wall_s"}  # fmt: skip
    assert (obj["status"], obj["succeeded"], obj["failed"], obj["cancelled"]) == ("failed", 1, 1, 1)
    status = br_json("status", obj["session_id"], db=db)
    tasks = {t["id"]: t for t in status["tasks"]}
    assert set(tasks["bad"]) == {"id", "state", "attempts", "worker", "started_at", "ended_at",
                                 "exit_code", "reason"}  # fmt: skip
    assert (tasks["bad"]["state"], tasks["bad"]["exit_code"]) == ("failed", 3)
    assert tasks["after"]["state"] == "cancelled"
    assert tasks["ok"]["started_at"].endswith("+00:00") and "." in tasks["ok"]["started_at"]
    listed = br_json("list", db=db)
    assert [s["session_id"] for s in listed] == [obj["session_id"]]


def test_retries_with_backoff_then_success(tmp_path: Path) -> None:
    marker = tmp_path / "tries"
    plan = write_plan(
        tmp_path / "p.toml",
        f'[[task]]\nid = "flaky"\nrun = "echo x >> {marker}; [ $(wc -l < {marker}) -ge 3 ]"\n'
        "retries = 3\nretry_delay = 0.05\n",
    )
    res = br_json("run", str(plan), db=tmp_path / "br.db")
    assert res["status"] == "completed"
    attempts = query(tmp_path / "br.db", "SELECT attempt, status FROM attempts ORDER BY attempt")
    assert [(a["attempt"], a["status"]) for a in attempts] == [
        (1, "failed"), (2, "failed"), (3, "succeeded")]  # fmt: skip


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    plan = write_plan(
        tmp_path / "p.toml",
        f'[[task]]\nid = "slow"\nrun = "sleep 30 & echo $! > {pidfile}; sleep 30"\ntimeout = 0.5\n',
    )
    # the task's sleeps take 30 s: ending within the hang guard means the timeout ended them
    out = br("run", str(plan), "--json", db=tmp_path / "br.db", timeout=20)
    assert out.returncode == 1
    child = int(pidfile.read_text())
    time.sleep(0.1)
    assert not pid_alive(child), "the background child outlived the timeout"
    row = query(tmp_path / "br.db", "SELECT state, reason FROM tasks")[0]
    assert row["state"] == "failed" and "timed out after 0.5s" in row["reason"]
    ev = query(tmp_path / "br.db", "SELECT type FROM events WHERE type='task.timed_out'")
    assert len(ev) == 1


def test_background_child_holding_the_pipe_is_ended_with_its_task(tmp_path: Path) -> None:
    """The main process exits at once but leaves a child holding stdout: the task still ends
    (its exit code, its output kept) and the leftover is killed instead of keeping it open."""
    pidfile = tmp_path / "child.pid"
    plan = write_plan(
        tmp_path / "p.toml",
        f'[[task]]\nid = "leaky"\nrun = "sleep 30 & echo $! > {pidfile}; echo started"\n',
    )
    # the leftover sleeps 30 s: ending within the hang guard means the task did not wait for it
    out = br("run", str(plan), "--json", db=tmp_path / "br.db", timeout=20)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["status"] == "completed"
    time.sleep(0.1)
    assert not pid_alive(int(pidfile.read_text())), "the leftover child is still running"
    lines = query(tmp_path / "br.db", "SELECT line FROM output WHERE task_id='leaky'")
    assert [r["line"] for r in lines] == ["started"]


def test_output_streamed_tail_kept_and_resources_recorded(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    plan = write_plan(
        tmp_path / "p.toml",
        '[[task]]\nid = "chatty"\nrun = "seq 1 6000; echo oops >&2; '
        "python3 -c 'x = bytearray(30_000_000)'\"\n",
    )
    assert br("run", str(plan), db=db).returncode == 0
    rows = query(db, "SELECT seq, stream, line FROM output ORDER BY seq")
    assert len(rows) == 5000  # bounded per task: the tail is kept
    assert rows[-1]["line"] == "oops" and rows[-1]["stream"] == "stderr"
    assert rows[0]["line"] == "1002" and rows[-2]["line"] == "6000"
    att = query(db, "SELECT wall_s, cpu_s, peak_rss_kb, exit_code FROM attempts")[0]
    assert att["exit_code"] == 0 and att["wall_s"] > 0 and att["cpu_s"] > 0
    assert att["peak_rss_kb"] > 30_000  # the child's own peak, from wait4


def test_secrets_in_commands_env_and_output_never_stored(tmp_path: Path) -> None:
    token = "ghp_" + "Zq8xW2mN4pR7tY1uI3oP5aS6dF9gH0jK2lZc"  # built at runtime, not a literal
    db = tmp_path / "br.db"
    plan = write_plan(
        tmp_path / "p.toml",
        f'[[task]]\nid = "uses-secret"\nrun = "test \\"$TOKEN\\" = {token} && echo got $TOKEN"\n'
        f'env = {{ TOKEN = "{token}" }}\n',
    )
    res = br("run", str(plan), "--json", db=db)
    assert res.returncode == 0, res.stderr  # the task ran with the real value
    assert token not in res.stdout + res.stderr
    assert token.encode() not in raw_bytes(db)
    line = query(db, "SELECT line FROM output")[0]["line"]
    assert line.startswith("got ghp_") and "*" in line
    assert query(db, "SELECT needs_plan FROM tasks")[0]["needs_plan"] == 1


def test_git_changes_outside_declared_files_are_violations(tmp_path: Path) -> None:
    from engine_helpers import git_init

    repo = tmp_path / "repo"
    git_init(repo)
    plan = write_plan(
        repo / "p.toml",
        '[[task]]\nid = "tidy"\nrun = "mkdir -p src && echo x > src/a.py && echo y > stray.txt"\n'
        'files = ["src/**"]\n',
    )
    db = tmp_path / "br.db"
    assert br("run", str(plan), db=db).returncode == 0
    ev = query(db, "SELECT data FROM events WHERE type='lock.violation'")
    assert [json.loads(e["data"])["path"] for e in ev] == ["stray.txt"]


def test_cleanup_dry_run_and_delete(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    plan = write_plan(tmp_path / "p.toml", '[[task]]\nid = "a"\nrun = "echo hi"\n')
    sid = br_json("run", str(plan), db=db)["session_id"]
    dry = br_json("cleanup", "--days", "0", "--dry-run", db=db)
    assert dry["sessions"] == [sid] and query(db, "SELECT id FROM sessions")
    assert br_json("cleanup", "--days", "0", db=db)["sessions"] == [sid]
    for table in ("sessions", "tasks", "attempts", "output", "events"):
        assert not query(db, f"SELECT * FROM {table} WHERE session_id = ?" if table != "sessions"
                         else "SELECT * FROM sessions WHERE id = ?", (sid,))  # fmt: skip


def test_bad_inputs_get_one_line_and_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    Store(db).close()  # an empty database (a missing one is refused: test_reliability_inputs)
    out = br("status", "nope", db=db)
    assert out.returncode == 2 and "unknown session 'nope'" in out.stderr
    notdb = tmp_path / "not.db"
    notdb.write_bytes(b"this is not a database at all" * 100)
    out = br("list", db=notdb)
    assert out.returncode == 2 and "not a database" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = br("list", "--status", "bogus", db=db)
    assert out.returncode == 2 and "unknown status" in out.stderr


def test_tasks_inherit_no_descriptors_but_stdio(tmp_path: Path) -> None:
    import os
    import subprocess

    from engine_helpers import BR

    read_end, stray = os.pipe()  # a descriptor br-tui itself inherits, as from a shell
    os.set_inheritable(stray, True)
    listing = tmp_path / "fds.txt"
    plan = write_plan(
        tmp_path / "p.toml",
        '[[task]]\nid = "here"\n'
        'run = "python3 -c \'import os; print(*os.listdir(\\"/proc/self/fd\\"))\' > fds.txt"\n',
    )
    try:
        out = subprocess.run(
            [*BR, "run", str(plan), "--db", str(tmp_path / "br.db")],
            cwd=tmp_path,
            pass_fds=(stray,),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(read_end)
        os.close(stray)
    assert out.returncode == 0, out.stderr
    fds = {int(x) for x in listing.read_text().split()}
    assert fds <= {0, 1, 2, 3}  # stdio, plus the descriptor listdir itself opened
    assert stray not in fds


def test_run_sets_up_without_collections_and_leaves_gc_as_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set-up (plan, session rows) runs with the collector off and freezes what it built; the
    run collects as usual, and an in-process caller gets the collector back with nothing
    frozen."""
    from br_tui import cli, headless
    from engine.sessions import owner

    during: dict[str, object] = {}
    real_load, real_drive = owner.load_plan, headless.drive

    def load_spy(path: str) -> object:
        during["setup_enabled"] = gc.isenabled()
        return real_load(path)

    def drive_spy(*args: object, **kwargs: object) -> int:
        during["run_enabled"], during["run_frozen"] = gc.isenabled(), gc.get_freeze_count()
        return real_drive(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(owner, "load_plan", load_spy)
    monkeypatch.setattr(headless, "drive", drive_spy)
    plan = write_plan(tmp_path / "p.toml", '[[task]]\nid = "a"\nrun = "true"\n')
    assert cli.main(["run", str(plan), "--db", str(tmp_path / "br.db"), "--quiet"]) == 0
    assert during["setup_enabled"] is False
    assert during["run_enabled"] is True and during["run_frozen"] > 0  # type: ignore[operator]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    broken = write_plan(tmp_path / "broken.toml", '[[task]]\nid = "a"\n')  # no run, no prompt
    assert cli.main(["run", str(broken), "--db", str(tmp_path / "br.db"), "--quiet"]) == 2
    assert gc.isenabled() and gc.get_freeze_count() == 0  # a failed set-up leaves no trace
