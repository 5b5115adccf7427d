"""Soak: a plan of ~150 tasks whose owner is SIGKILLed 5-8 times at random moments and resumed.

Afterwards every task's work is done, no recorded success ran again, no two tasks with
overlapping globs ever ran at once, no task process is left and the database is intact.

Overlap is caught two ways, both by the tasks themselves: each task holds a non-blocking
`flock` on one file per glob group it declares while it works (the kernel refuses a second
holder and the task logs the conflict: exact, no clock involved), and each writes its own start
and end timestamps, whose intervals are compared afterwards.

`BR_SOAK_RUNS=N` repeats the whole soak N times, `BR_SOAK_TASKS` sets the plan size,
`BR_SOAK_SEED` replays one run, and `BR_SOAK_REPORT=FILE` appends one JSON line of figures per
run (runs, kills, reruns after a crash, failures): how docs/reliability.md was measured.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from engine_helpers import BR, child_pythonpath, query

from engine.locks import task_processes

RUNS = int(os.environ.get("BR_SOAK_RUNS", "1"))
TASKS = int(os.environ.get("BR_SOAK_TASKS", "150"))
GROUPS = 8
WORK = """\
echo "$BR_TASK start $(date +%s.%N) $$" >> "$D/spans"
if [ "$FLAKY" = 1 ] && [ ! -e "$D/flaky.$BR_TASK" ]; then : > "$D/flaky.$BR_TASK"; exit 3; fi
sleep "$NAP"
echo "$BR_TASK end $(date +%s.%N) $$" >> "$D/spans"
echo "$BR_TASK" >> "$D/done"
"""


def _plan(d: Path, rng: random.Random, n: int) -> tuple[str, dict[str, dict]]:
    """The plan text, and per task its groups and needs (what the checks compare against)."""
    (d / "work.sh").write_text(WORK)
    tasks: dict[str, dict] = {}
    out = []
    for i in range(n):
        tid = f"t{i:03d}"
        groups = sorted(rng.sample(range(GROUPS), rng.choice([0, 1, 1, 1, 2])))
        files = [f"g{g}/**" if rng.random() < 0.6 else f"g{g}/sub/*.txt" for g in groups]
        needs = sorted(
            {
                f"t{j:03d}"
                for j in rng.sample(range(max(0, i - 20), i), min(i, rng.choice([0, 1, 2])))
            }
        )
        flaky = rng.random() < 0.1
        nap = rng.choice([0.05, 0.1, 0.2, 0.3])
        tasks[tid] = {"groups": groups, "needs": needs, "flaky": flaky}
        guard = "".join(f"flock -n -E 99 {d}/g{g}.lock " for g in groups)
        run = (
            f"{guard}env D={d} FLAKY={int(flaky)} NAP={nap} sh {d}/work.sh;"
            f" rc=$?; [ $rc = 99 ] && echo $BR_TASK >> {d}/overlaps; exit $rc"
        )
        out.append(
            f'[[task]]\nid = "{tid}"\nrun = "{run}"\nfiles = {json.dumps(files)}\n'
            f"needs = {json.dumps(needs)}\nretries = 2\nretry_delay = 0.05\n"
        )
    return "".join(out), tasks


def _finished(db: Path) -> int:
    try:
        rows = query(db, "SELECT count(*) AS n FROM tasks WHERE state IN ('succeeded','failed')")
    except sqlite3.OperationalError:
        return 0
    return rows[0]["n"]


def _owner(db: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*BR, *args, "--db", str(db), "--quiet", "--workers", "4"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": child_pythonpath()},
    )


def soak(d: Path, seed: int, n: int) -> dict:
    rng = random.Random(seed)
    text, tasks = _plan(d, rng, n)
    (d / "plan.toml").write_text(text)
    db = d / "br.db"
    thresholds = sorted(rng.sample(range(3, n - 10), rng.randint(5, 8)))
    owner = _owner(db, "run", str(d / "plan.toml"))
    kills = owner_exits = 0
    for mark in thresholds:
        while _finished(db) < mark and owner.poll() is None:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.3))  # a random moment, not a chosen one
        if owner.poll() is not None:
            owner_exits += 1
            break
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        owner.stderr.close()
        kills += 1
        owner = _owner(db, "resume")
    _err = owner.communicate(timeout=600)[1].decode()
    assert owner.returncode == 0, f"seed {seed}: final owner exited {owner.returncode}: {_err}"
    sid = query(db, "SELECT id FROM sessions")[0]["id"]

    # every task's work done, and recorded so
    states = {r["id"]: r["state"] for r in query(db, "SELECT id, state FROM tasks")}
    assert set(states.values()) == {"succeeded"}, f"seed {seed}: {states}"
    done = (d / "done").read_text().split()
    assert set(done) == set(tasks)
    # none recorded finished twice; none started again after its success was recorded
    succ = query(db, "SELECT task_id, count(*) AS n, max(ended_at) AS e FROM attempts"
                     " WHERE status='succeeded' GROUP BY task_id")  # fmt: skip
    assert all(r["n"] == 1 for r in succ) and len(succ) == len(tasks), f"seed {seed}"
    after = query(db, "SELECT a.task_id FROM attempts a JOIN attempts s ON s.task_id=a.task_id"
                      " AND s.status='succeeded' WHERE a.started_at > s.ended_at")  # fmt: skip
    assert not after, f"seed {seed}: ran again after a recorded success: {after}"
    # no two tasks with overlapping globs at once: the kernel's word (flock) ...
    assert not (d / "overlaps").exists(), (d / "overlaps").read_text()
    # ... and the tasks' own timestamps (runs that reached their end line)
    starts: dict[tuple[str, str], float] = {}
    runs: list[tuple[str, float, float]] = []
    for line in (d / "spans").read_text().splitlines():
        tid, edge, stamp, pid = line.split()
        if edge == "start":
            starts[(tid, pid)] = float(stamp)
        else:
            runs.append((tid, starts.pop((tid, pid)), float(stamp)))
    for (a, a0, a1), (b, b0, b1) in itertools.combinations(runs, 2):
        shared = set(tasks[a]["groups"]) & set(tasks[b]["groups"]) or a == b
        if shared and a0 < b1 and b0 < a1:
            raise AssertionError(f"seed {seed}: {a} and {b} overlapped ({a0}-{a1}, {b0}-{b1})")
    # dependencies first: every start of a task follows a completed run of each need
    first_end = {}
    for tid, _s, e in runs:
        first_end[tid] = min(e, first_end.get(tid, e))
    for tid, s, _e in runs:
        for need in tasks[tid]["needs"]:
            assert first_end[need] <= s, f"seed {seed}: {tid} ran before its need {need}"
    # retried where the task failed on purpose: it started again after its failing run (the
    # attempts column may count one run fewer: an attempt its killed owner never recorded)
    runs_started = [ln.split()[0] for ln in (d / "spans").read_text().splitlines()
                    if ln.split()[1] == "start"]  # fmt: skip
    assert all(runs_started.count(t) >= 2 for t, spec in tasks.items() if spec["flaky"])
    assert task_processes(sid) == [], "task processes left behind"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    lost = query(db, "SELECT count(*) AS n FROM attempts WHERE status='lost'")[0]["n"]
    return {
        "seed": seed,
        "tasks": n,
        "kills": kills,
        "owner_finished_early": owner_exits,
        "reruns_after_crash": len(done) - len(set(done)),
        "lost_attempts": lost,
        "orphans_killed": sum(
            json.loads(r["data"])["killed"]
            for r in query(db, "SELECT data FROM events WHERE type='session.recovered'")
        ),
        "failures": 0,
    }


@pytest.mark.parametrize("run", range(RUNS))
def test_soak_owner_killed_and_resumed(tmp_path: Path, run: int) -> None:
    seed = int(os.environ.get("BR_SOAK_SEED", random.randrange(1 << 30)))
    print(f"soak seed {seed}")
    figures = soak(tmp_path, seed, TASKS)
    assert figures["kills"] >= 5, figures
    report = os.environ.get("BR_SOAK_REPORT")
    if report:
        with open(report, "a") as f:
            f.write(json.dumps({"run": run, **figures}) + "\n")
