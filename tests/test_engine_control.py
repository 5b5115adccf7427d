"""Control and crash safety across processes: locks, pause/resume/cancel, kill -9 + resume."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
from pathlib import Path

from engine_helpers import br, br_json, proc_state, query, spawn_br, wait_for, write_plan

from engine.store import Store
from engine.workers import Pool, Worker, WorkerStatus


def _intervals(log: Path) -> dict[str, tuple[float, float]]:
    spans: dict[str, list[float]] = {}
    for line in log.read_text().split("\n"):
        if line:
            task, _edge, stamp = line.split()
            spans.setdefault(task, []).append(float(stamp))
    return {k: (min(v), max(v)) for k, v in spans.items()}


def test_locks_exclusive_across_two_processes(tmp_path: Path) -> None:
    log = tmp_path / "spans.log"
    body = (
        f'run = "echo $BR_TASK start $(date +%s.%N) >> {log}; sleep 0.3;'
        f' echo $BR_TASK end $(date +%s.%N) >> {log}"\n'
    )
    for name in ("one", "two"):
        tasks = "".join(
            f'[[task]]\nid = "{name}-{i}"\n{body}files = ["shared/**"]\n' for i in range(3)
        )
        tasks += f'[[task]]\nid = "{name}-free"\n{body}files = ["{name}/*.txt"]\n'
        write_plan(tmp_path / f"{name}.toml", tasks)
    db = tmp_path / "br.db"
    Store(db).close()  # create the database before two processes race to migrate it
    procs = [spawn_br("run", str(tmp_path / f"{n}.toml"), "--workers", "4", db=db)
             for n in ("one", "two")]  # fmt: skip
    for p in procs:
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    spans = _intervals(log)
    shared = sorted(v for k, v in spans.items() if not k.endswith("-free"))
    assert len(shared) == 6
    for (_, end), (start, _) in itertools.pairwise(shared):
        assert start >= end, f"tasks sharing shared/** overlapped: {shared}"
    free = [spans["one-free"], spans["two-free"]]
    assert any(f[0] < shared[-1][1] for f in free)  # disjoint globs did run alongside
    waited = query(db, "SELECT count(*) AS n FROM events WHERE type='lock.waited'")[0]["n"]
    assert waited > 0
    assert not query(db, "SELECT * FROM locks")  # everything released


def test_pause_resume_cancel_from_another_process(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    plan = write_plan(
        tmp_path / "p.toml",
        '[[task]]\nid = "long"\nrun = "sleep 30"\n[[task]]\nid = "next"\nrun = "true"\n'
        'needs = ["long"]\n',
    )
    owner = spawn_br("run", str(plan), db=db)
    try:
        pid = wait_for(
            lambda: query(db, "SELECT pid FROM attempts WHERE pid IS NOT NULL")[0]["pid"],
            what="the task to start",
        )
        sid = query(db, "SELECT id FROM sessions")[0]["id"]
        assert br_json("pause", sid, "--wait", "60", db=db)["result"] == "paused"
        wait_for(lambda: proc_state(pid) == "T", what="SIGSTOP")
        assert query(db, "SELECT status FROM sessions")[0]["status"] == "paused"
        assert br_json("resume", sid, "--wait", "60", db=db)["result"] == "resumed"
        wait_for(lambda: proc_state(pid) in ("S", "R"), what="SIGCONT")
        assert br_json("cancel", sid, "--wait", "60", db=db)["result"] == "cancelling"
        _out, err = owner.communicate(timeout=30)
    finally:
        if owner.poll() is None:
            owner.kill()
    assert owner.returncode == 1, err
    assert proc_state(pid) is None
    status = br_json("status", sid, db=db)
    assert status["status"] == "cancelled"
    assert {t["state"] for t in status["tasks"]} == {"cancelled"}
    handled = query(db, "SELECT action, result FROM controls ORDER BY id")
    assert [(r["action"], r["result"]) for r in handled] == [
        ("pause", "paused"), ("resume", "resumed"), ("cancel", "cancelling")]  # fmt: skip


def test_a_control_the_owner_cannot_answer_in_time_is_kept_and_obeyed_later(
    tmp_path: Path,
) -> None:
    """`--wait` bounds how long the command waits, not whether the request counts: a stopped
    owner answers when it runs again."""
    db = tmp_path / "br.db"
    plan = write_plan(tmp_path / "p.toml", '[[task]]\nid = "long"\nrun = "sleep 30"\n')
    owner = spawn_br("run", str(plan), db=db)
    try:
        wait_for(lambda: query(db, "SELECT pid FROM attempts WHERE pid IS NOT NULL"),
                 what="the task to start")  # fmt: skip
        sid = query(db, "SELECT id FROM sessions")[0]["id"]
        owner.send_signal(signal.SIGSTOP)
        try:
            answer = br_json("pause", sid, "--wait", "0.3", db=db)["result"]
        finally:
            owner.send_signal(signal.SIGCONT)
        assert answer == "requested (the owner hasn't answered yet)"
        wait_for(lambda: query(db, "SELECT result FROM controls WHERE handled_at IS NOT NULL"),
                 what="the owner to answer after SIGCONT")  # fmt: skip
        assert query(db, "SELECT result FROM controls")[0]["result"] == "paused"
        assert query(db, "SELECT status FROM sessions")[0]["status"] == "paused"
        assert br_json("cancel", sid, "--wait", "60", db=db)["result"] == "cancelling"
        owner.communicate(timeout=30)
    finally:
        if owner.poll() is None:
            owner.kill()


def test_kill_9_owner_then_resume_finishes_without_rerunning_finished(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    log = tmp_path / "ran.log"
    tasks = "".join(
        f'[[task]]\nid = "t{i}"\nrun = "echo start $BR_TASK >> {log}; sleep {0.2 if i < 3 else 3};'
        f' echo end $BR_TASK >> {log}"\n'
        for i in range(6)
    )
    plan = write_plan(tmp_path / "p.toml", tasks)
    owner = spawn_br("run", str(plan), "--workers", "3", db=db)
    wait_for(
        lambda: (
            len(query(db, "SELECT id FROM tasks WHERE state='succeeded'")) >= 3
            and len(query(db, "SELECT id FROM tasks WHERE state='running'")) >= 1
        ),
        what="some tasks done and some running",
    )
    before = {r["id"] for r in query(db, "SELECT id FROM tasks WHERE state='succeeded'")}
    running_pids = [r["pid"] for r in query(db, "SELECT pid FROM attempts WHERE ended_at IS NULL"
                                               " AND pid IS NOT NULL")]  # fmt: skip
    events_before = query(db, "SELECT count(*) AS n FROM events")[0]["n"]
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert running_pids and all(proc_state(p) is not None for p in running_pids)
    out = br("resume", "--json", db=db)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "completed"
    assert all(proc_state(p) is None for p in running_pids)  # the dead owner's leftovers killed
    starts = [ln.split()[1] for ln in log.read_text().splitlines() if ln.startswith("start")]
    for tid in before:
        assert starts.count(tid) == 1, f"{tid} finished before the crash but ran again"
    assert {r["state"] for r in query(db, "SELECT state FROM tasks")} == {"succeeded"}
    assert query(db, "SELECT count(*) AS n FROM events")[0]["n"] > events_before
    kinds = {r["type"] for r in query(db, "SELECT type FROM events")}
    assert {"session.recovered", "task.requeued", "worker.offline"} <= kinds
    lost = query(db, "SELECT count(*) AS n FROM attempts WHERE status='lost'")[0]["n"]
    assert lost == len(running_pids)


def test_stale_heartbeat_marks_worker_offline_and_hands_back_its_task() -> None:
    lost: list[tuple[str, str | None, str]] = []

    async def scenario() -> Pool:
        async def silent(w: Worker) -> None:  # takes a task, then never beats again
            w.status, w.current_task = WorkerStatus.BUSY, f"task-of-{w.id}"
            await asyncio.sleep(60)

        async def on_lost(w: Worker, reason: str) -> None:
            lost.append((w.id, w.current_task, reason))

        pool = Pool(silent, on_lost, size=2, heartbeat_timeout=0.1)
        pool.start()
        await asyncio.sleep(0.25)
        await pool.check()
        await pool.close()
        return pool

    pool = asyncio.run(scenario())
    assert sorted(x[:2] for x in lost) == [("w1", "task-of-w1"), ("w2", "task-of-w2")]
    assert all("no heartbeat" in x[2] for x in lost)
    assert {pool.workers["w1"].status, pool.workers["w2"].status} == {WorkerStatus.OFFLINE}
    assert {"w3", "w4"} <= set(pool.workers)  # replaced to keep the pool at size


def test_crashed_worker_requeues_its_task_and_attempt_is_counted(tmp_path: Path) -> None:
    from engine.plan import parse_plan
    from engine.sessions import RunnerOptions, SessionRunner, create_session, resolve_session
    from engine.store import Store

    store = Store(tmp_path / "br.db")
    plan = parse_plan('[[task]]\nid = "a"\nrun = "true"\n[[task]]\nid = "b"\nrun = "true"\n')
    sid = create_session(store, plan)
    store.flush()
    runner = SessionRunner(store, resolve_session(store, sid), plan.tasks, RunnerOptions(workers=2))
    orig = runner._execute
    crashes: list[str] = []

    async def execute(worker, tid):  # type: ignore[no-untyped-def]
        await orig(worker, tid) if tid != "a" or crashes else None
        if tid == "a" and not crashes:
            crashes.append(tid)
            raise RuntimeError("worker crashed mid-task")  # escapes the worker's loop

    runner._execute = execute  # type: ignore[method-assign]
    assert asyncio.run(runner.run()).value == "completed"
    store.flush()
    events = [r["type"] for r in store.query("SELECT type FROM events WHERE task_id='a'")]
    assert "task.requeued" in events and events[-1] == "task.succeeded"
    offline = store.query("SELECT data FROM events WHERE type='worker.offline'")
    assert any("worker crashed" in json.loads(r["data"])["reason"] for r in offline)
    assert store.query("SELECT attempts FROM tasks WHERE id='a'")[0]["attempts"] == 1
    store.close()


def test_scale_up_from_another_process(tmp_path: Path) -> None:
    db = tmp_path / "br.db"
    log = tmp_path / "spans.log"
    tasks = "".join(
        f'[[task]]\nid = "t{i}"\nrun = "echo $BR_TASK start $(date +%s.%N) >> {log}; sleep 0.6;'
        f' echo $BR_TASK end $(date +%s.%N) >> {log}"\n'
        for i in range(5)
    )
    owner = spawn_br("run", str(write_plan(tmp_path / "p.toml", tasks)), "--workers", "1", db=db)
    wait_for(lambda: query(db, "SELECT pid FROM attempts WHERE pid IS NOT NULL"), what="a start")
    sid = query(db, "SELECT id FROM sessions")[0]["id"]
    assert br_json("scale", sid, "3", "--wait", "60", db=db)["result"] == "scaled to 3"
    _, err = owner.communicate(timeout=30)
    assert owner.returncode == 0, err
    spans = sorted(_intervals(log).values())
    overlapping = sum(1 for (_, end), (start, _) in itertools.pairwise(spans)
                      if start < end)  # fmt: skip
    assert overlapping >= 2  # after scaling, tasks ran side by side
    assert len(query(db, "SELECT id FROM workers WHERE session_id=?", (sid,))) == 3
    assert query(db, "SELECT workers FROM sessions")[0]["workers"] == 3
