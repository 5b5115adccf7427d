"""Throughput of `br-tui routing estimate --batch` (the learned estimate), start-up included.

    python bench/routing_batch.py [--n 5000]

Writes N issue texts (the labelled train + dev texts, repeated) as JSON lines, runs
`python -m engine.routing estimate --batch FILE` three times on them with no database (so no
level shifts are read), and prints the median texts/s, the start-up alone (an empty batch), and
the in-process rate of `estimate()`. Target (issue 17): >= 1,000 texts/s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EVAL = ROOT.parent / "shared" / "eval"


def texts(n: int) -> list[str]:
    found = []
    for name in ("complexity-train.jsonl", "complexity-dev.jsonl"):
        with (EVAL / name).open(encoding="utf-8") as fh:
            found += [json.loads(line)["text"] for line in fh if line.strip()]
    return [found[i % len(found)] for i in range(n)]


def run_cli(path: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "engine.routing", "estimate", "--batch", str(path)],
        check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args()
    items = texts(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BR_DB": str(Path(tmp) / "absent.db")}
        path, empty = Path(tmp) / "batch.jsonl", Path(tmp) / "empty.jsonl"
        path.write_text(
            "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(items))
        )
        empty.write_text("")
        startup = statistics.median(run_cli(empty, env) for _ in range(3))
        wall = statistics.median(run_cli(path, env) for _ in range(3))
    from engine.routing.estimate import estimate

    start = time.perf_counter()
    for t in items:
        estimate(t)
    in_proc = len(items) / (time.perf_counter() - start)
    print(f"{len(items):,} texts: estimate --batch {len(items) / wall:,.0f} texts/s "
          f"(wall {wall:.2f} s incl. start-up {startup:.2f} s); "
          f"in process {in_proc:,.0f} texts/s")  # fmt: skip


if __name__ == "__main__":
    main()
