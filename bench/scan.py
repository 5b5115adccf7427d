"""Scanner speed beside detect-secrets: full-tree MB/s, a 20-file hook run in ms, redact lines/s.

The tree is a copy of this virtualenv's site-packages sources (.py/.txt/.md/.toml/.json/.cfg...),
made once under a temp dir (never inside the repo); the full scan is timed as a median of `--runs`,
with the default worker pool and in one process (`jobs=1`). The hook run is a real git repo with
20 staged files, timed as the installed hook runs it, the console script `br-tui --scan --staged`
(and `python -m engine.security --staged`), in a fresh interpreter (bytecode allowed, as on
users' machines) against detect-secrets-hook on the same files.

`redact` is timed on the same source lines at this tree and at `--before` (default e1029bf, the
code before issue 16), exported with `git archive` and run by the same interpreter.

    python bench/scan.py [--mb 30] [--runs 3] [--no-baselines] [--before REV]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import site
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_LONG_RUN = re.compile(r"[A-Za-z0-9+/]{12}")
TEXT_EXT = {".py", ".txt", ".md", ".rst", ".toml", ".json", ".cfg", ".ini", ".yaml", ".yml", ".js"}


def make_tree(dest: Path, megabytes: float) -> int:
    """Copy text sources from site-packages until `megabytes`; returns bytes copied."""
    budget = int(megabytes * 1_000_000)
    total = 0
    for sp in site.getsitepackages():
        for path in sorted(Path(sp).rglob("*")):
            if path.suffix not in TEXT_EXT or not path.is_file() or "__pycache__" in path.parts:
                continue
            size = path.stat().st_size
            if size > 1_000_000:
                continue
            target = dest / path.relative_to(sp)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            total += size
            if total >= budget:
                return total
    return total


def time_br_full(tree: Path, runs: int, jobs: int | None = None) -> tuple[float, int]:
    """Median wall time of `runs` full scans, and the number of findings."""
    from engine.security import scan_paths

    samples = []
    count = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        count = len(scan_paths([tree], baseline=False, jobs=jobs))
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), count


def time_cmd(cmd: list[str], cwd: Path, runs: int, env: dict[str, str] | None = None) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, capture_output=True, check=False, env=env)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def hook_repo(tree: Path, dest: Path) -> Path:
    """A git repo with 20 staged source files taken from the tree."""
    files = [p for p in sorted(tree.rglob("*.py")) if 2_000 < p.stat().st_size < 40_000][:20]
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    for i, src in enumerate(files):
        shutil.copyfile(src, dest / f"f{i:02d}{src.suffix}")
    subprocess.run(["git", "add", "."], cwd=dest, check=True)
    return dest


_REDACT_TIMER = r"""
import json, sys, time
from engine.security.masking import redact
lines = json.loads(open(sys.argv[1]).read())
best = 0.0
for _ in range(3):  # best of 3 passes; the memo is cleared so every pass does the work
    import engine.security.masking as m
    m._memo.clear()
    t0 = time.perf_counter()
    for line in lines:
        redact(line)
    best = max(best, len(lines) / (time.perf_counter() - t0))
print(best)
"""


def redact_rate(lines: list[str], code: Path, tmp: Path) -> float:
    """Lines/s of `redact` from the code at `code`, in a fresh interpreter (best of 3)."""
    import json

    sample = tmp / "redact-lines.json"
    sample.write_text(json.dumps(lines))
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, "-c", _REDACT_TIMER, str(sample)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(done.stdout)


def export_rev(rev: str, dest: Path) -> Path:
    """The engine at git revision `rev`, unpacked under `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "engine"], capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=arch.stdout, check=True)
    return dest


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--before", default="e1029bf")
    ap.add_argument("--redact-only", action="store_true", help="time redact only")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        size = make_tree(tree, args.mb)
        mb = size / 1e6
        if args.redact_only:
            print_redact(tree, Path(tmp), args.before)
            return 0
        secs, count = time_br_full(tree, args.runs)
        one, _ = time_br_full(tree, args.runs, jobs=1)
        print(
            f"full scan: {mb:.1f} MB of site-packages text, {count} findings, median of {args.runs}"
        )
        print(f"  br-tui          {secs:7.2f} s  {mb / secs:7.1f} MB/s  ({os.cpu_count()} cores)")
        print(f"  br-tui, 1 proc  {one:7.2f} s  {mb / one:7.1f} MB/s")
        ds = shutil.which("detect-secrets") or str(Path(sys.executable).with_name("detect-secrets"))
        if not args.no_baselines and Path(ds).exists():
            small = Path(tmp) / "small"
            small_mb = make_tree(small, min(args.mb, 3.0)) / 1e6  # it is ~100x slower
            t = time_cmd([ds, "scan", "--all-files", "."], small, 1)
            print(
                f"  detect-secrets  {t:7.2f} s  {small_mb / t:7.2f} MB/s"
                f" (on a {small_mb:.1f} MB subset)"
            )
        repo = hook_repo(tree, Path(tmp) / "repo")
        staged = sorted(p.name for p in repo.iterdir() if p.is_file())
        script = shutil.which("br-tui") or str(Path(sys.executable).with_name("br-tui"))
        hook_cmd = [script, "--scan", "--staged"]
        module_cmd = [sys.executable, "-m", "engine.security", "--staged"]
        for cmd in (hook_cmd, module_cmd):  # warm bytecode and the rules cache, like a 2nd commit
            subprocess.run(cmd, cwd=repo, env=env, capture_output=True, check=False)
        hook = time_cmd(hook_cmd, repo, 11, env)
        module = time_cmd(module_cmd, repo, 11, env)
        bare = time_cmd([sys.executable, "-c", "pass"], repo, 11, env)
        print(f"hook run on {len(staged)} staged files (interpreter start included, median of 11)")
        print(f"  br-tui --scan --staged         {hook * 1000:5.0f} ms")
        print(f"  python -m engine.security      {module * 1000:5.0f} ms")
        print(f"  python -c pass                 {bare * 1000:5.0f} ms")
        dsh = Path(sys.executable).with_name("detect-secrets-hook")
        if not args.no_baselines and dsh.exists():
            t = time_cmd([str(dsh), *staged], repo, 3, env)
            print(f"  detect-secrets-hook            {t * 1000:5.0f} ms")
        print_redact(tree, Path(tmp), args.before)
    return 0


def print_redact(tree: Path, tmp: Path, before: str) -> None:
    sample: list[str] = []
    for p in sorted(tree.rglob("*.py"))[:200]:
        sample += p.read_text("utf-8", "replace").splitlines()
    sample = sample[:200_000]
    # lines a shape detector must look at: a run of 12+ alphanumerics (hashes, ids, long names)
    runs = [line for line in sample if _LONG_RUN.search(line)]
    old = export_rev(before, tmp / "before")
    print(f"redact, lines/s (best of 3): {len(sample):,} source lines / {len(runs):,} of them with"
          " a 12+ alphanumeric run")  # fmt: skip
    for name, code in ((f"before ({before})", old), ("after", ROOT)):
        print(
            f"  {name:18} {redact_rate(sample, code, tmp):10,.0f}"
            f" {redact_rate(runs, code, tmp):10,.0f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
