"""A Dask worker that falls silent mid-task (frozen, not dead) on a real cluster: its attempt
ends `lost` after `--heartbeat-timeout`, the task is requeued with the attempt counted and
finished by the other worker, and when the frozen worker wakes it kills its stale run, so
nothing runs to its end twice.

The freeze is SIGSTOP of the `dask worker` process group (nanny and worker) and of the task's
own process group, as when the whole host is suspended: the scheduler keeps the worker (its
connection stays open, its `worker-ttl` is minutes), so only the owner's silence check can
notice. That would disturb other tests, so this module starts its own cluster.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from dask_cluster import DaskCluster, start_scheduler
from engine_helpers import proc_state, query, spawn_br, wait_for, write_plan

HEARTBEAT_TIMEOUT = "2"


@pytest.fixture
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """A scheduler for this test only (the test starts its workers), all killed afterwards."""
    pytest.importorskip("distributed")
    cluster = start_scheduler(tmp_path_factory.mktemp("dask-silent-logs"))
    try:
        yield cluster
    finally:
        for proc in [*cluster.workers.values(), cluster.scheduler]:
            _signal_group(proc.pid, signal.SIGCONT)  # a stopped group dies as well, but wake it
        cluster.close()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _start_workers(cluster: DaskCluster, *names: str) -> None:
    """Start `names` and wait until the scheduler knows exactly the cluster's workers."""
    from distributed import Client

    for name in names:
        cluster.start_worker(name)
    with Client(cluster.address, timeout=60, set_as_default=False) as client:
        wait_for(
            lambda: (
                {w["name"] for w in client.scheduler_info()["workers"].values()}
                == set(cluster.workers)
            ),
            timeout=60,
            what=f"Dask workers {names} to join; logs in {cluster.logs}",
        )


def _env_of(pid: int) -> dict[bytes, bytes]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)


def _worker_of(pid: int, cluster: DaskCluster) -> str:
    wpid = int(_env_of(pid)[b"BR_DASK_WORKER"].split(b":")[0])
    return next(name for name, pids in cluster.worker_pids().items() if wpid in pids)


def _alive(pid: int) -> bool:
    return proc_state(pid) not in (None, "Z")


def _session_pids(session_id: str) -> list[int]:
    """Live processes on this host that belong to the session's tasks."""
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = _env_of(int(name))
        except OSError:
            continue
        if env.get(b"BR_SESSION") == session_id.encode() and _alive(int(name)):
            found.append(int(name))
    return found


@pytest.mark.parametrize("victim", ["w0", "w1"])  # both sides of the scheduler's tie-break
def test_silent_worker_mid_task_loses_the_attempt_and_the_other_worker_finishes_it(
    own_cluster: DaskCluster, tmp_path: Path, victim: str
) -> None:
    survivor = {"w0": "w1", "w1": "w0"}[victim]
    _start_workers(own_cluster, victim)  # the first attempt can only start there
    db = tmp_path / "br.db"
    first, runs = tmp_path / "first", tmp_path / "runs.log"
    # The first run would go on for five minutes: only a kill ends it within the test.
    run = (
        f"echo start $BR_DASK_WORKER >> {runs};"
        f" if [ -e {first} ]; then sleep 0.5; else touch {first}; sleep 300; fi;"
        f" echo end $BR_DASK_WORKER >> {runs}"
    )
    plan = write_plan(
        tmp_path / "p.toml",
        f'[[task]]\nid = "work"\nrun = "{run}"\n'
        # Submitted while the frozen worker looks idle to the scheduler: must go elsewhere.
        f'[[task]]\nid = "after"\nrun = "echo after $BR_DASK_WORKER >> {runs}"\nneeds = ["work"]\n',
    )
    owner = spawn_br("run", str(plan), "--dask", own_cluster.address,
                     "--heartbeat-timeout", HEARTBEAT_TIMEOUT, db=db)  # fmt: skip
    frozen: list[int] = []
    try:
        pid = wait_for(
            lambda: query(db, "SELECT pid FROM attempts WHERE pid IS NOT NULL")[0]["pid"],
            timeout=60,
            what="the first attempt to start on the cluster",
        )
        wait_for(first.exists, timeout=30, what="the first run to reach its sleep")
        assert _worker_of(pid, own_cluster) == victim
        _start_workers(own_cluster, survivor)
        frozen = [own_cluster.workers[victim].pid, os.getpgid(pid)]
        for pgid in frozen:
            _signal_group(pgid, signal.SIGSTOP)
        _out, err = owner.communicate(timeout=120)
        assert owner.returncode == 0, err
        assert _alive(pid), "the frozen run ended while its worker was stopped"

        attempts = query(
            db, "SELECT attempt, status, reason FROM attempts WHERE task_id='work' ORDER BY attempt"
        )
        assert [(a["attempt"], a["status"]) for a in attempts] == [(1, "lost"), (2, "succeeded")]
        assert attempts[0]["reason"].startswith("no word from Dask worker tcp://")
        assert {r["state"] for r in query(db, "SELECT state FROM tasks")} == {"succeeded"}
        kinds = [r["type"] for r in query(db, "SELECT type FROM events ORDER BY id")]
        assert "task.requeued" in kinds
        lines = [line.split() for line in runs.read_text().splitlines()]
        survivor_pids = own_cluster.worker_pids()[survivor]
        for edge in ("end", "after"):
            marks = [mark for kind, mark in lines if kind == edge]
            assert len(marks) == 1
            assert int(marks[0].split(":")[0]) in survivor_pids, f"{edge} ran on {victim}"

        # The frozen worker wakes: its stale run is killed, not left to finish a second time.
        for pgid in frozen:
            _signal_group(pgid, signal.SIGCONT)
        frozen = []
        wait_for(lambda: not _alive(pid), timeout=60, what="the stale run killed on waking")
        assert runs.read_text().count("end ") == 1
        sid = query(db, "SELECT id FROM sessions")[0]["id"]
        # nothing of the session left on any worker (a killed group's last member may take a
        # moment to be reaped)
        wait_for(lambda: _session_pids(sid) == [], timeout=60, what="no process of the session")
    finally:
        for pgid in frozen:
            _signal_group(pgid, signal.SIGCONT)
        if owner.poll() is None:
            owner.kill()
            owner.wait()
