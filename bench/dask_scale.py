"""The engine on a Dask cluster: its overhead on top of Dask, and how a plan scales with workers.

One run of this script measures, on a 2-worker `LocalCluster` (separate processes, one thread
each) that all cluster runs share:

1. 2,000 trivial tasks (`sh -c true`) through the full engine (`br-tui run --dask ADDRESS`, a
   fresh SQLite file, everything persisted), interpreter start included;
2. the same 2,000 commands submitted with `client.submit` directly (each a subprocess with its
   output captured, results gathered): what Dask alone costs — the engine's overhead is 1 / 2;
3. the same plan on the local pool (`br-tui run --workers 2`), for scale;
4. a sleep-bound plan (tasks of `sleep S`) on a 1-worker and on a 2-worker cluster: scaling.

Prints wall times and ratios; medians of `--repeat` runs.

    python bench/dask_scale.py [--tasks 2000] [--repeat 3] [--sleep-tasks 16] [--sleep 0.25]
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

# This file is named like the `dask` package: keep its directory off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def write_plan(path: Path, n: int, run: str) -> None:
    path.write_text("".join(f'[[task]]\nid = "t{i}"\nrun = "{run}"\n' for i in range(n)))


def time_engine(workdir: Path, n: int, extra: list[str]) -> float:
    db = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    br = shutil.which("br-tui") or f"{sys.executable} -m br_tui"
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' machines write bytecode
    t0 = time.perf_counter()
    subprocess.run(
        [*br.split(), "run", str(workdir / "plan.toml"), *extra, "--db", str(db), "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
        cwd=workdir,
    )
    wall = time.perf_counter() - t0
    with sqlite3.connect(db) as conn:
        done = conn.execute("SELECT count(*) FROM tasks WHERE state='succeeded'").fetchone()[0]
    assert done == n, f"engine finished {done} of {n}"
    return wall


DIRECT = """
import subprocess, sys
from distributed import Client

def run_command(cmd):
    done = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout, done.stderr

if __name__ == "__main__":
    with Client(sys.argv[1]) as client:
        futures = [client.submit(run_command, "true", pure=False) for _ in range(int(sys.argv[2]))]
        assert all(code == 0 for code, _, _ in client.gather(futures))
"""


def time_direct(workdir: Path, address: str, n: int) -> float:
    """A script that submits the commands itself: interpreter start, import and connection
    included, as they are for `br-tui run`."""
    script = workdir / "direct.py"
    script.write_text(DIRECT)
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(script), address, str(n)], check=True, env=env,
                   cwd=workdir)  # fmt: skip
    return time.perf_counter() - t0


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sleep-tasks", type=int, default=16)
    ap.add_argument("--sleep", type=float, default=0.25)
    ap.add_argument("--in-flight", type=int, help="--workers for the engine on Dask (default:"
                    " the engine's choice from the cluster's threads)")  # fmt: skip
    args = ap.parse_args()
    from distributed import LocalCluster

    work = Path(tempfile.mkdtemp(prefix="br-bench-dask-"))
    try:
        write_plan(work / "plan.toml", args.tasks, "true")
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            address = cluster.scheduler_address
            engine, direct, local = [], [], []
            for r in range(args.repeat):
                direct.append(time_direct(work, address, args.tasks))
                flight = ["--workers", str(args.in_flight)] if args.in_flight else []
                engine.append(time_engine(work, args.tasks, ["--dask", address, *flight]))
                local.append(time_engine(work, args.tasks, ["--workers", "2"]))
                print(f"  run {r + 1}: client.submit {direct[-1]:.3f}s, engine on Dask"
                      f" {engine[-1]:.3f}s, engine local pool {local[-1]:.3f}s")  # fmt: skip
        d, e, lo = median(direct), median(engine), median(local)
        n = args.tasks
        print(f"\n{n} trivial tasks, 2 Dask workers (1 thread each), median of {args.repeat}:")
        print("| runner | wall | per task | vs client.submit |")
        print("| --- | --- | --- | --- |")
        print(f"| `client.submit` + `gather` directly | {d:.3f} s | {d / n * 1e3:.2f} ms"
              " | 1.00× |")  # fmt: skip
        print(f"| **`br-tui run --dask`** | **{e:.3f} s** | {e / n * 1e3:.2f} ms"
              f" | **{e / d:.2f}×** |")  # fmt: skip
        print(f"| `br-tui run --workers 2` (local pool) | {lo:.3f} s | {lo / n * 1e3:.2f} ms"
              f" | {lo / d:.2f}× |")  # fmt: skip

        write_plan(work / "plan.toml", args.sleep_tasks, f"sleep {args.sleep}")
        ideal = args.sleep_tasks * args.sleep
        scaling = {}
        for workers in (1, 2):
            with LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster:
                runs = [
                    time_engine(work, args.sleep_tasks, ["--dask", cluster.scheduler_address])
                    for _ in range(args.repeat)
                ]
            scaling[workers] = median(runs)
        print(f"\n{args.sleep_tasks} tasks of `sleep {args.sleep}` (work: {ideal:.1f} s):")
        print("| Dask workers | wall | ideal | speed-up |")
        print("| --- | --- | --- | --- |")
        for workers, wall in scaling.items():
            print(f"| {workers} | {wall:.3f} s | {ideal / workers:.2f} s"
                  f" | {scaling[1] / wall:.2f}× |")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
