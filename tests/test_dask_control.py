"""Control and failure on a real Dask cluster: pause / resume / cancel reach the task's process
group on its worker; a worker killed mid-task has its task requeued to the other; `kill -9` of
the owner, then `resume`, finishes the session on the cluster."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from dask_cluster import DaskCluster
from engine_helpers import br, br_json, proc_state, query, spawn_br, wait_for, write_plan


def _session_pids(session_id: str) -> list[int]:
    """Processes anywhere on this host that belong to the session's tasks."""
    found = []
    needle = f"BR_SESSION={session_id}".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env and proc_state(int(name)) not in (None, "Z"):
            found.append(int(name))
    return found


def _worker_of(pid: int, cluster: DaskCluster) -> str:
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    wpid = int(env[b"BR_DASK_WORKER"].split(b":")[0])
    return next(name for name, pids in cluster.worker_pids().items() if wpid in pids)


def _started_pid(db: Path) -> int:
    return wait_for(
        lambda: query(db, "SELECT pid FROM attempts WHERE pid IS NOT NULL AND ended_at IS NULL")[0][
            "pid"
        ],
        timeout=60,
        what="the task to start on the cluster",
    )


def test_pause_resume_cancel_reach_the_process_group_on_the_worker(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    db = tmp_path / "br.db"
    plan = write_plan(
        tmp_path / "p.toml",
        '[[task]]\nid = "long"\nrun = "sleep 30 & sleep 30; wait"\n'
        '[[task]]\nid = "next"\nrun = "true"\nneeds = ["long"]\n',
    )
    owner = spawn_br("run", str(plan), "--dask", dask_cluster.address, db=db)
    try:
        pid = _started_pid(db)
        sid = query(db, "SELECT id FROM sessions")[0]["id"]
        group = wait_for(lambda: len(pids := _session_pids(sid)) == 3 and pids,
                         what="the task's three processes")  # fmt: skip
        assert _worker_of(pid, dask_cluster) in ("w0", "w1")
        assert br_json("pause", sid, "--wait", "60", db=db)["result"] == "paused"
        wait_for(lambda: all(proc_state(p) == "T" for p in group), what="SIGSTOP on the worker")
        assert br_json("resume", sid, "--wait", "60", db=db)["result"] == "resumed"
        wait_for(lambda: all(proc_state(p) in ("S", "R") for p in group), what="SIGCONT")
        assert br_json("cancel", sid, "--wait", "60", db=db)["result"] == "cancelling"
        _out, err = owner.communicate(timeout=60)
    finally:
        if owner.poll() is None:
            owner.kill()
    assert owner.returncode == 1, err
    assert _session_pids(sid) == []  # nothing left behind on any worker
    status = br_json("status", sid, db=db)
    assert status["status"] == "cancelled"
    assert {t["id"]: t["state"] for t in status["tasks"]} == {"long": "cancelled",
                                                              "next": "cancelled"}  # fmt: skip
    attempt = query(db, "SELECT status, wall_s FROM attempts")[0]
    assert attempt["status"] == "cancelled"


def test_timeout_on_the_worker_counts_running_time_only(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    db = tmp_path / "br.db"
    plan = write_plan(
        tmp_path / "p.toml", '[[task]]\nid = "slow"\nrun = "sleep 30"\ntimeout = 0.5\n'
    )
    out = br("run", str(plan), "--dask", dask_cluster.address, "--json", db=db, timeout=120)
    assert out.returncode == 1, out.stderr
    row = query(db, "SELECT status, reason FROM attempts")[0]
    assert row["status"] == "timeout" and row["reason"] == "timed out after 0.5s"
    sid = query(db, "SELECT id FROM sessions")[0]["id"]
    assert _session_pids(sid) == []


def test_killed_worker_mid_task_requeues_it_to_the_other(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    db = tmp_path / "br.db"
    done, first = tmp_path / "done", tmp_path / "first"
    # The first attempt would outlive its worker by half a minute: only the sweep ends it.
    run = f"if [ -e {first} ]; then sleep 1; else touch {first}; sleep 30; fi;"
    plan = write_plan(
        tmp_path / "p.toml",
        f'[[task]]\nid = "work"\nrun = "{run} echo $BR_DASK_WORKER > {done}"\n',
    )
    owner = spawn_br("run", str(plan), "--dask", dask_cluster.address, db=db)
    try:
        pid = _started_pid(db)
        victim = _worker_of(pid, dask_cluster)
        dask_cluster.kill_worker(victim)
        _out, err = owner.communicate(timeout=90)
    finally:
        if owner.poll() is None:
            owner.kill()
    assert owner.returncode == 0, err
    attempts = query(db, "SELECT attempt, status, reason FROM attempts ORDER BY attempt")
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "lost"), (2, "succeeded")]
    assert victim in attempts[0]["reason"] or "tcp://" in attempts[0]["reason"]
    survivor = {"w0": "w1", "w1": "w0"}[victim]
    wpid = int(done.read_text().split(":")[0])
    assert wpid in dask_cluster.worker_pids()[survivor]
    kinds = [r["type"] for r in query(db, "SELECT type FROM events ORDER BY id")]
    assert "task.requeued" in kinds
    wait_for(lambda: proc_state(pid) in (None, "Z"), timeout=10,
             what="the dead worker's orphan swept")  # fmt: skip


def test_kill_9_owner_then_resume_finishes_on_the_cluster(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    db = tmp_path / "br.db"
    log = tmp_path / "ran.log"
    tasks = "".join(
        f'[[task]]\nid = "t{i}"\nrun = "echo start $BR_TASK >> {log}; sleep {0.2 if i < 3 else 4};'
        f' echo end $BR_TASK >> {log}"\n'
        for i in range(6)
    )
    plan = write_plan(tmp_path / "p.toml", tasks)
    owner = spawn_br("run", str(plan), "--dask", dask_cluster.address, db=db)
    wait_for(
        lambda: (
            len(query(db, "SELECT id FROM tasks WHERE state='succeeded'")) >= 3
            and len(query(db, "SELECT id FROM tasks WHERE state='running'")) >= 1
        ),
        timeout=60,
        what="some tasks done and some running",
    )
    sid = query(db, "SELECT id FROM sessions")[0]["id"]
    before = {r["id"] for r in query(db, "SELECT id FROM tasks WHERE state='succeeded'")}
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    out = br("resume", "--json", db=db, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "completed"
    starts = [ln.split()[1] for ln in log.read_text().splitlines() if ln.startswith("start")]
    for tid in before:
        assert starts.count(tid) == 1, f"{tid} finished before the crash but ran again"
    assert {r["state"] for r in query(db, "SELECT state FROM tasks")} == {"succeeded"}
    assert query(db, "SELECT count(*) AS n FROM attempts WHERE status='lost'")[0]["n"] >= 1
    assert _session_pids(sid) == []
    members = br_json("workers", db=db)
    assert {m["status"] for m in members} == {"offline"}
