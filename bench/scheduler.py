"""2,000 trivial tasks through the full engine vs `xargs -P 8`, interpreter start included.

Both sides run every command as `sh -c true`; the engine persists every state change (task
rows, attempts, events) to a fresh SQLite file. Prints wall times and the ratio.

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
        engine, xargs = [], []
        for i in range(args.repeat):
            print(f"run {i + 1}/{args.repeat}")
            xargs.append(time_xargs(args.tasks, args.workers))
            engine.append(time_engine(work, args.tasks, args.workers))
    e, x = statistics.median(engine), statistics.median(xargs)
    print(
        f"\n{args.tasks} tasks, {args.workers} workers, median of {args.repeat}:\n"
        f"  xargs -P {args.workers}: {x:.3f}s ({x / args.tasks * 1e3:.3f} ms/task)\n"
        f"  br-tui run: {e:.3f}s ({e / args.tasks * 1e3:.3f} ms/task)\n"
        f"  ratio engine/xargs: {e / x:.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
