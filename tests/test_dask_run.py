"""A plan on a real Dask cluster: dependencies, shared file globs, resources, output streaming
and masking, the cluster's workers as the session's pool (see dask_cluster.py)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from dask_cluster import DaskCluster
from engine_helpers import br, br_json, query, raw_bytes, spawn_br, wait_for, write_plan

SECRET = "sk-ant-api03-" + "Zq8xK2mN7pL4vR9tW3yB6cF1hJ5dG0sA"  # pragma: allowlist secret


def _spans(log: Path) -> dict[str, tuple[float, float, str]]:
    """task -> (start, end, worker mark) from lines `task edge stamp mark`."""
    seen: dict[str, dict[str, str]] = {}
    for line in log.read_text().splitlines():
        task, edge, stamp, mark = line.split()
        seen.setdefault(task, {})[edge] = stamp
        seen[task]["mark"] = mark
    return {t: (float(v["start"]), float(v["end"]), v["mark"]) for t, v in seen.items()}


def test_fifty_tasks_with_deps_and_shared_globs_across_both_workers(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    log = tmp_path / "spans.log"
    edge = f"echo $BR_TASK {{}} $(date +%s.%N) $BR_DASK_WORKER >> {log}"
    groups = {0: '["shared/a/**"]', 1: '["shared/b/*.txt", "shared/a/x.txt"]', 2: "[]"}
    tasks = []
    for i in range(50):
        needs = f'needs = ["t{i - 10}"]\n' if i >= 10 else ""
        run = f"{edge.format('start')}; sleep 0.05; {edge.format('end')}"
        tasks.append(f'[[task]]\nid = "t{i}"\nrun = "{run}"\nfiles = {groups[i % 3]}\n{needs}')
    plan = write_plan(tmp_path / "plan.toml", "".join(tasks))
    db = tmp_path / "br.db"
    out = br("run", str(plan), "--dask", dask_cluster.address, "--json", db=db, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "completed"
    spans = _spans(log)
    assert len(spans) == 50
    for i in range(10, 50):  # a task starts only after what it needs has ended
        assert spans[f"t{i}"][0] >= spans[f"t{i - 10}"][1]
    # Globs overlap within group 0, within group 1, and between them (shared/a/x.txt):
    # none of those 34 tasks may have run at the same time as another.
    locked = sorted(spans[f"t{i}"][:2] for i in range(50) if i % 3 != 2)
    for (_, end), (start, _) in itertools.pairwise(locked):
        assert start >= end, "tasks with overlapping file globs overlapped"
    assert len({mark for *_, mark in spans.values()}) == 2  # both workers ran tasks
    members = br_json("workers", db=db)
    assert len(members) == 2
    assert sum(m["done"] for m in members) == 50
    assert all(m["done"] > 0 and m["threads"] == 1 and m["memory_limit"] for m in members)
    assert query(db, "SELECT count(*) AS n FROM attempts WHERE pid IS NULL")[0]["n"] == 0
    stats = query(db, "SELECT wall_s, cpu_s, peak_rss_kb, exit_code FROM attempts")
    assert all(r["wall_s"] >= 0.05 and r["cpu_s"] is not None and r["peak_rss_kb"] > 0
               and r["exit_code"] == 0 for r in stats)  # fmt: skip
    assert not query(db, "SELECT * FROM locks")


def test_resources_place_a_task_on_a_worker_that_has_them(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    log = tmp_path / "where.log"
    tasks = "".join(
        f'[[task]]\nid = "gpu{i}"\nrun = "echo $BR_DASK_WORKER >> {log}"\n'
        "resources = { gpu = 1 }\n"
        for i in range(6)
    )
    plan = write_plan(tmp_path / "plan.toml", tasks)
    db = tmp_path / "br.db"
    out = br("run", str(plan), "--dask", dask_cluster.address, "--json", db=db, timeout=120)
    assert out.returncode == 0, out.stderr
    marks = set(log.read_text().split())
    gpu_worker = dask_cluster.worker_pids()["w0"]
    assert len(marks) == 1
    assert int(marks.pop().split(":")[0]) in gpu_worker


def test_output_streams_in_order_and_masked_while_the_task_runs(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    run = (
        "for i in $(seq 0 299); do echo line-$i; done; echo TOKEN=" + SECRET + " >&2;"
        f" while [ ! -e {gate} ]; do sleep 0.05; done; echo last"
    )
    plan = write_plan(tmp_path / "plan.toml", f'[[task]]\nid = "talk"\nrun = "{run}"\n')
    db = tmp_path / "br.db"
    owner = spawn_br("run", str(plan), "--dask", dask_cluster.address, db=db)
    try:
        # Output is stored while the task still runs (it waits for the gate): streamed.
        wait_for(lambda: query(db, "SELECT count(*) AS n FROM output")[0]["n"] >= 301,
                 timeout=60, what="streamed output")  # fmt: skip
        assert query(db, "SELECT ended_at FROM attempts")[0]["ended_at"] is None
        gate.touch()
        _out, err = owner.communicate(timeout=60)
    finally:
        if owner.poll() is None:
            owner.kill()
    assert owner.returncode == 0, err
    lines = [r["line"] for r in query(db, "SELECT line FROM output ORDER BY seq")]
    assert lines[:300] == [f"line-{i}" for i in range(300)]
    assert lines[-1] == "last"
    secret_line = lines[300]
    assert secret_line.startswith("TOKEN=") and SECRET not in secret_line
    assert SECRET.encode() not in raw_bytes(db)


def test_unreachable_cluster_is_one_line_and_leaves_the_session_resumable(
    tmp_path: Path,
) -> None:
    plan = write_plan(
        tmp_path / "plan.toml",
        '[executor]\nkind = "dask"\naddress = "tcp://127.0.0.1:9"\nconnect_timeout = 1\n'
        '[[task]]\nid = "a"\nrun = "true"\n',
    )
    db = tmp_path / "br.db"
    out = br("run", str(plan), db=db)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "cannot use the Dask cluster at tcp://127.0.0.1:9" in out.stderr
    assert query(db, "SELECT status FROM sessions")[0]["status"] == "created"


def test_bad_dask_address_is_a_usage_error(tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.toml", '[[task]]\nid = "a"\nrun = "true"\n')
    out = br("run", str(plan), "--dask", "nowhere", db=tmp_path / "br.db")
    assert out.returncode == 2
    assert "not a scheduler address" in out.stderr


def test_agent_task_runs_its_cli_on_a_worker_with_costs_kept_by_the_owner(
    dask_cluster: DaskCluster, tmp_path: Path
) -> None:
    fake = Path(__file__).parent / "standins" / "fake_claude.py"
    log = tmp_path / "where.log"
    command = (
        f"sh -c 'echo $BR_DASK_WORKER >> {log}; exec python3 {fake} \\\"$@\\\"' sh"
        " -p {prompt} --model {model} --output-format json"
    )
    plan = write_plan(
        tmp_path / "plan.toml",
        f'[agent]\nbackend = "command"\ncommand = "{command}"\n'
        '[[task]]\nid = "typo"\nprompt = "Fix the typo in the README."\n',
    )
    db = tmp_path / "br.db"
    out = br("run", str(plan), "--dask", dask_cluster.address, "--json", db=db, timeout=120)
    assert out.returncode == 0, out.stderr
    wpid = int(log.read_text().split(":")[0])
    assert any(wpid in pids for pids in dask_cluster.worker_pids().values())
    calls = query(db, "SELECT backend, task_id, input_tokens FROM agent_calls")
    assert [(c["backend"], c["task_id"]) for c in calls] == [("command", "typo")]
    assert calls[0]["input_tokens"] > 0
