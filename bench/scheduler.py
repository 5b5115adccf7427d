"""2,000 trivial tasks through the full engine vs `xargs -P 8`, interpreter start included.

Every runner runs each command as `sh -c true`, 8 at a time. The engine persists every state
change (task rows, attempts, events) to a fresh SQLite file and captures output. For scale, a
bare asyncio runner (no persistence, no scheduling) is timed too, once discarding output and
once capturing it as the engine does, and the engine's own executor with nothing stored or
scheduled (what persistence and scheduling add is the gap to the full engine). Prints wall
times and ratios to xargs.

    python bench/scheduler.py [--tasks 2000] [--workers 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_plan(path: Path, n: int) -> None:
    path.write_text("".join(f'[[task]]\nid = "t{i}"\nrun = "true"\n' for i in range(n)))


def time_engine(workdir: Path, n: int, workers: int) -> float:
    db = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    plan = workdir / "plan.toml"
    br = shutil.which("br-tui") or f"{sys.executable} -m br_tui"
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' machines write bytecode
    t0 = time.perf_counter()
    subprocess.run(
        [*br.split(), "run", str(plan), "--workers", str(workers), "--db", str(db), "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
        cwd=workdir,  # as a user runs a plan: from its directory
    )
    wall = time.perf_counter() - t0
    with sqlite3.connect(db) as conn:
        done = conn.execute("SELECT count(*) FROM tasks WHERE state='succeeded'").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert done == n, f"engine finished {done} of {n}"
    print(f"  engine: {wall:.3f}s ({done} tasks succeeded, {events} events persisted)")
    return wall


def time_xargs(n: int, workers: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        ["xargs", "-P", str(workers), "-I{}", "sh", "-c", "{}"],
        input=("true\n" * n).encode(),
        check=True,
    )
    wall = time.perf_counter() - t0
    print(f"  xargs:  {wall:.3f}s")
    return wall


BARE = """
import asyncio, sys
async def main(n, k, capture):
    sem = asyncio.Semaphore(k)
    out = asyncio.subprocess.PIPE if capture else asyncio.subprocess.DEVNULL
    async def one():
        async with sem:
            p = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", "true", stdin=asyncio.subprocess.DEVNULL, stdout=out,
                stderr=out, start_new_session=True)
            await p.communicate()
    await asyncio.gather(*(one() for _ in range(n)))
asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "capture"))
"""


EXECUTOR_ONLY = """
import asyncio, os, sys
from engine.executors import ControlSlot, RunContext, SubprocessExecutor
async def main(n, k):
    ex, env, cwd, todo = SubprocessExecutor(), dict(os.environ), os.getcwd(), iter(range(n))
    async def worker():
        for i in todo:
            ctx = RunContext("s", f"t{i}", 1, "w", ["/bin/sh", "-c", "true"], cwd,
                             {**env, "BR_TASK": f"t{i}"}, None, lambda stream, line: None)
            await ex.run(ctx, ControlSlot())
    await asyncio.gather(*(worker() for _ in range(k)))
asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


def time_executor_only(n: int, workers: int) -> float:
    """The engine's own executor (spawn, pipes, reaping) with nothing stored or scheduled."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", EXECUTOR_ONLY, str(n), str(workers)], check=True)
    wall = time.perf_counter() - t0
    print(f"  engine executor alone: {wall:.3f}s")
    return wall


def time_bare(n: int, workers: int, capture: bool) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", BARE, str(n), str(workers), "capture" if capture else "discard"],
        check=True,
    )
    wall = time.perf_counter() - t0
    print(f"  bare asyncio ({'capture' if capture else 'discard'}): {wall:.3f}s")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_plan(work / "plan.toml", 50)
        time_engine(work, 50, args.workers)  # warm caches (bytecode, page cache), untimed
        write_plan(work / "plan.toml", args.tasks)
        engine, xargs, bare, bare_cap, executor = [], [], [], [], []
        for i in range(args.repeat):
            print(f"run {i + 1}/{args.repeat}")
            xargs.append(time_xargs(args.tasks, args.workers))
            bare.append(time_bare(args.tasks, args.workers, capture=False))
            bare_cap.append(time_bare(args.tasks, args.workers, capture=True))
            executor.append(time_executor_only(args.tasks, args.workers))
            engine.append(time_engine(work, args.tasks, args.workers))
    x = statistics.median(xargs)
    print(f"\n{args.tasks} tasks, {args.workers} workers, median of {args.repeat}:")
    for label, times in (
        (f"xargs -P {args.workers}", xargs),
        ("bare asyncio, output discarded", bare),
        ("bare asyncio, output captured", bare_cap),
        ("engine executor alone", executor),
        ("br-tui run (full engine)", engine),
    ):
        m = statistics.median(times)
        print(f"  {label:32s} {m:.3f}s  {m / args.tasks * 1e3:.3f} ms/task  {m / x:.2f}x xargs")
    print("  target: br-tui run <= 1.5x xargs")


if __name__ == "__main__":
    main()
