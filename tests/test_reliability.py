"""Crash safety by design: one owner per session, no orphaned task, no lock freed under a live task.

Each test puts the engine in the state a crash leaves (an owner killed at the worst moment, two
recoveries at once) and checks the property itself, never how long anything took.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_helpers import (
    BR,
    br,
    child_pythonpath,
    pid_alive,
    query,
    spawn_br,
    wait_for,
    write_plan,
)

from engine.locks import HOST, task_processes
from engine.plan import load_plan
from engine.sessions import SessionError, claim_session, create_session
from engine.store import Store, now_iso


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _orphan_owner(db: Path, sid: str, pid: int | None = None) -> None:
    """Make the session look like its owner was SIGKILLed while running it."""
    import sqlite3

    conn = sqlite3.connect(db, timeout=10)
    with conn:
        conn.execute(
            "UPDATE sessions SET status='running', owner_pid=?, owner_host=?,"
            " owner_heartbeat_at=?, started_at=? WHERE id=?",
            (pid or _dead_pid(), HOST, now_iso(), now_iso(), sid),
        )
    conn.close()


def test_claim_is_refused_while_a_live_owner_beats_and_names_it(tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "p.toml", '[[task]]\nid = "a"\nrun = "true"\n')
    with Store(tmp_path / "br.db") as store:
        sid = create_session(store, load_plan(plan))
        store.flush()
        _orphan_owner(tmp_path / "br.db", sid, pid=os.getppid())  # alive, beating
        with pytest.raises(SessionError, match=f"owned by pid {os.getppid()}"):
            claim_session(store, sid)
        _orphan_owner(tmp_path / "br.db", sid)  # the owner died: free to take
        claim_session(store, sid)
        row = query(tmp_path / "br.db", "SELECT owner_pid FROM sessions")[0]
        assert row["owner_pid"] == os.getpid()
        claim_session(store, sid)  # claiming again is ours already: no error


def test_two_simultaneous_resumes_exactly_one_wins(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    env = {**os.environ, "PYTHONPATH": child_pythonpath()}
    rounds = 20
    with Store(db) as store:
        for n in range(rounds):
            log = tmp_path / f"ran-{n}.log"
            plan = write_plan(
                tmp_path / f"p{n}.toml",
                "".join(
                    f'[[task]]\nid = "t{i}"\nrun = "echo $BR_TASK >> {log}; sleep 0.2"\n'
                    for i in range(3)
                ),
            )
            sid = create_session(store, load_plan(plan), workers=3)
            store.flush()
            _orphan_owner(db, sid)
            procs = [
                subprocess.Popen([*BR, "resume", sid, "--db", str(db), "--quiet"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 stdin=subprocess.DEVNULL, env=env)
                for _ in range(2)
            ]  # fmt: skip
            results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
            for p in procs:
                p.stdout.close()
                p.stderr.close()
            winners = [r for r in results if r[0] == 0]
            assert len(winners) == 1, f"round {n}: {results}"
            (loser_rc, loser_err) = next(r for r in results if r[0] != 0)
            assert loser_rc == 2
            named = re.search(r"owne(r|d by) pid \d+", loser_err)
            assert named or "already completed" in loser_err, loser_err
            assert sorted(log.read_text().split()) == ["t0", "t1", "t2"], f"round {n}"
            attempts = query(db, "SELECT count(*) AS n FROM attempts WHERE session_id=?", (sid,))
            assert attempts[0]["n"] == 3


def test_resume_kills_a_task_process_its_dead_owner_never_recorded(tmp_path: Path) -> None:
    """The owner died between starting a task and committing its attempt row: no row names
    the process, but its marker does. Resume must kill it, not run the task beside it."""
    db = tmp_path / "br.db"
    log = tmp_path / "ran.log"
    plan = write_plan(
        tmp_path / "p.toml",
        f'[[task]]\nid = "a"\nrun = "echo a >> {log}"\nfiles = ["out/**"]\n'
        f'[[task]]\nid = "b"\nrun = "echo b >> {log}"\nfiles = ["out/b.txt"]\n',
    )
    with Store(db) as store:
        sid = create_session(store, load_plan(plan))
        store.flush()
    _orphan_owner(db, sid)
    # What the dead owner had started: task a's process group, in no row of the database.
    orphan = subprocess.Popen(
        ["sh", "-c", "sleep 60 & sleep 60"],
        env={**os.environ, "BR_SESSION": sid, "BR_TASK": "a"},
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10  # the marker is readable once sh has been exec'd
        while {p.task_id for p in task_processes(sid)} != {"a"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {p.task_id for p in task_processes(sid)} == {"a"}
        out = br("resume", "--quiet", db=db)
        assert out.returncode == 0, out.stderr
        orphan.wait(timeout=10)  # killed (and reaped here, its parent)
        assert orphan.returncode == -signal.SIGKILL
        assert task_processes(sid) == []  # its background child too
        assert sorted(log.read_text().split()) == ["a", "b"]
    finally:
        if orphan.poll() is None:
            os.killpg(orphan.pid, signal.SIGKILL)
            orphan.wait()


def test_lock_stays_held_while_a_dead_owners_task_still_runs(tmp_path: Path) -> None:
    """Session A's owner is killed while A's task runs; session B wants the same files.
    B may start only once A's task process is gone (the timestamps are the tasks' own)."""
    db = tmp_path / "br.db"
    log = tmp_path / "spans.log"
    stamp = "$(date +%s.%N)"
    a = write_plan(
        tmp_path / "a.toml",
        f'[[task]]\nid = "a"\nfiles = ["shared/**"]\n'
        f'run = "echo a start {stamp} >> {log}; sleep 3; echo a end {stamp} >> {log}"\n',
    )
    b = write_plan(
        tmp_path / "b.toml",
        f'[[task]]\nid = "b"\nfiles = ["shared/x.txt"]\nrun = "echo b start {stamp} >> {log}"\n',
    )
    owner = spawn_br("run", str(a), db=db)
    pid = wait_for(
        lambda: query(db, "SELECT pid FROM attempts WHERE pid IS NOT NULL")[0]["pid"],
        what="task a to start",
    )
    owner.send_signal(signal.SIGKILL)
    owner.communicate()
    assert pid_alive(pid)  # the orphan runs on: its lock is not free
    out = br("run", str(b), db=db)
    assert out.returncode == 0, out.stderr
    spans = {(ln.split()[0], ln.split()[1]): float(ln.split()[2])
             for ln in log.read_text().splitlines()}  # fmt: skip
    assert spans[("b", "start")] >= spans[("a", "end")], spans


def test_pid_scan_ignores_unmarked_and_other_sessions() -> None:
    env = {**os.environ, "BR_SESSION": "other", "BR_TASK": "x"}
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=env)
    try:
        wait_for(lambda: task_processes("other"), what="the marked process")
        assert [p.pid for p in task_processes("other", "x")] == [proc.pid]
        assert task_processes("other", "y") == []
        assert task_processes("nope") == []
    finally:
        proc.kill()
        proc.wait()
    assert task_processes("other") == []


def test_a_stopped_owner_keeps_its_session_however_stale_its_heartbeat(tmp_path: Path) -> None:
    """Ctrl-Z on `br-tui run` for longer than the heartbeat timeout: the owner still lives on
    this host, so a resume must not take the session (it would wake up beside a second owner)."""
    db = tmp_path / "br.db"
    plan = write_plan(tmp_path / "p.toml", '[[task]]\nid = "a"\nrun = "sleep 2"\n')
    owner = spawn_br("run", str(plan), db=db)
    try:
        wait_for(lambda: query(db, "SELECT pid FROM attempts WHERE pid IS NOT NULL"),
                 what="the task to start")  # fmt: skip
        owner.send_signal(signal.SIGSTOP)
        import sqlite3

        conn = sqlite3.connect(db, timeout=10)
        with conn:  # as if it had been stopped for an hour
            conn.execute("UPDATE sessions SET owner_heartbeat_at='2000-01-01T00:00:00+00:00'")
        conn.close()
        out = br("resume", db=db)
        assert out.returncode == 2 and f"owned by pid {owner.pid}" in out.stderr, out
        owner.send_signal(signal.SIGCONT)
        assert owner.wait(timeout=60) == 0
    finally:
        owner.send_signal(signal.SIGCONT)
        if owner.poll() is None:
            owner.kill()
        owner.communicate()
    assert query(db, "SELECT count(*) AS n FROM attempts")[0]["n"] == 1


def test_a_reused_pid_is_not_the_owner(tmp_path: Path) -> None:
    """The owner died and its pid now belongs to another process (or the machine rebooted):
    the recorded boot id and start time tell them apart, without any clock."""
    import sqlite3

    from engine.sessions.claim import process_start

    db = tmp_path / "br.db"
    plan = write_plan(tmp_path / "p.toml", '[[task]]\nid = "a"\nrun = "true"\n')
    live = os.getppid()
    with Store(db) as store:
        sid = create_session(store, load_plan(plan))
        store.flush()
        conn = sqlite3.connect(db, timeout=10)
        for start, taken in ((process_start(live), False), ("another-boot:12345", True)):
            with conn:
                conn.execute(
                    "UPDATE sessions SET status='running', owner_pid=?, owner_host=?,"
                    " owner_heartbeat_at=?, owner_start=?",
                    (live, HOST, now_iso(), start),
                )
            if taken:
                claim_session(store, sid)
            else:
                with pytest.raises(SessionError, match=f"owned by pid {live}"):
                    claim_session(store, sid)
        conn.close()
    assert query(db, "SELECT owner_pid FROM sessions")[0]["owner_pid"] == os.getpid()
