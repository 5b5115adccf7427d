"""Scanner speed beside detect-secrets: full-tree MB/s, a 20-file hook run in ms, redact lines/s.

The tree is a copy of this virtualenv's site-packages sources (.py/.txt/.md/.toml/.json/.cfg...),
made once under a temp dir (never inside the repo). The full scan and the hook are timed for this
tree ("after") and for the engine at `--speed-before` (default 0ae3015, before the speed work of
issue 16; exported with `git archive`, run by the same interpreter) in the same run, alternating
one sample of each so both see the same machine load; medians. The full scan runs in a fresh
process per sample (a warm-up scan of one file first, so imports are not timed), with the default
worker pool and in one process (`jobs=1`). The hook is a real git repo with 20 staged files,
timed as the installed hook runs it, the console script `br-tui --scan --staged` (and `python -m
engine.security --staged`), in a fresh interpreter (bytecode allowed, as on users' machines)
against detect-secrets-hook on the same files. The load average is printed with each figure:
this machine is shared.

`redact` is timed on the same source lines at this tree and at `--before` (default e1029bf, the
code before issue 16), exported with `git archive` and run by the same interpreter.

    python bench/scan.py [--mb 30] [--runs 5] [--no-baselines] [--before REV] [--speed-before REV]
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


_FULL_TIMER = r"""
import os, sys, time
from engine.security import scan_paths
tree, jobs = sys.argv[1], None if sys.argv[2] == "default" else int(sys.argv[2])
first = next(os.path.join(d, f) for d, _, fs in os.walk(tree) for f in fs if f.endswith(".py"))
scan_paths([first], baseline=False)  # imports and the first rules compiled: not timed
t0 = time.perf_counter()
count = len(scan_paths([tree], baseline=False, jobs=jobs))
print(time.perf_counter() - t0, count)
"""


def time_full(
    tree: Path, runs: int, variants: dict[str, Path], jobs: str = "default"
) -> dict[str, tuple[float, int]]:
    """Per variant (engine code at a path), the median wall time of `runs` full scans, each in
    a fresh process, the variants alternating; and the number of findings."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    counts: dict[str, int] = {}
    for i in range(runs):
        names = list(variants) if i % 2 == 0 else list(reversed(variants))
        for name in names:
            env = {**os.environ, "PYTHONPATH": str(variants[name])}
            done = subprocess.run(  # not in the repo: `-c` puts the cwd first on sys.path
                [sys.executable, "-c", _FULL_TIMER, str(tree), jobs],
                env=env, capture_output=True, text=True, check=True, cwd=tree.parent,
            )  # fmt: skip
            secs, count = done.stdout.split()
            samples[name].append(float(secs))
            counts[name] = int(count)
    return {name: (statistics.median(samples[name]), counts[name]) for name in variants}


def time_cmd(cmd: list[str], cwd: Path, runs: int, env: dict[str, str] | None = None) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, capture_output=True, check=False, env=env)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def time_cmds(
    cmds: dict[str, tuple[list[str], dict[str, str]]], cwd: Path, runs: int
) -> dict[str, float]:
    """Median wall time of each command over `runs` rounds, one run of each per round."""
    samples: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, (cmd, env) in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=cwd, capture_output=True, check=False, env=env)
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(samples[name]) for name in cmds}


def load() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


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
    done = subprocess.run(  # cwd outside the repo: `-c` puts the cwd first on sys.path, and
        [sys.executable, "-c", _REDACT_TIMER, str(sample)],  # the repo's engine would shadow
        env=env, capture_output=True, text=True, check=True, cwd=tmp,  # `code`'s
    )  # fmt: skip
    return float(done.stdout)


#: One 1 MB line of each shape: repeated keywords, separators, quotes and every anchor of the
#: anchored rules, packed closer than their windows (tests/test_security_robustness.py scans
#: the same shapes for crashes; the time is measured here).
SHAPES = ("token=", "aaaaaaa-", "'A1A1A1A1A1A1A1A1", "key key ", "://u:", "==========", "://",
          "-u ", "-us", "bearer ")  # fmt: skip
_SHAPES_TIMER = r"""
import json, sys, time
from engine.security import scan_text
from engine.security.config import ScanConfig
out = {}
for chunk in json.loads(sys.argv[1]):
    line = (chunk * (1_000_000 // len(chunk)))[:1_000_000]
    t0 = time.perf_counter()
    scan_text(line, "big.txt", ScanConfig(sqli=False))
    out[chunk] = time.perf_counter() - t0
print(json.dumps(out))
"""


def print_pathological(tmp: Path, before: str) -> None:
    """Seconds to scan a 1 MB line of each shape, before and after, fresh interpreters."""
    import json

    old = export_rev(before, tmp / "shapes-before")
    print(f"1 MB pathological lines, seconds ({load()})")
    print(f"  {'shape':20} {'before (' + before + ')':>18} {'after':>8}")
    rows = {}
    for name, code in (("before", old), ("after", ROOT)):
        done = subprocess.run(
            [sys.executable, "-c", _SHAPES_TIMER, json.dumps(SHAPES)],
            env={**os.environ, "PYTHONPATH": str(code)}, cwd=tmp,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows[name] = json.loads(done.stdout)
    for chunk in SHAPES:
        print(f"  {chunk!r:20} {rows['before'][chunk]:18.2f} {rows['after'][chunk]:8.2f}")


def export_rev(rev: str, dest: Path) -> Path:
    """The engine at git revision `rev`, unpacked under `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "engine"], capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=arch.stdout, check=True)
    return dest


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--before", default="e1029bf", help="redact's before")
    ap.add_argument("--speed-before", default="0ae3015", help="full scan's and hook's before")
    ap.add_argument("--redact-only", action="store_true", help="time redact only")
    ap.add_argument("--shapes-only", action="store_true", help="time the 1 MB lines only")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        if args.shapes_only:
            print_pathological(Path(tmp), args.speed_before)
            return 0
        tree = Path(tmp) / "tree"
        size = make_tree(tree, args.mb)
        mb = size / 1e6
        if args.redact_only:
            print_redact(tree, Path(tmp), args.before)
            return 0
        old = export_rev(args.speed_before, Path(tmp) / "speed-before")
        variants = {f"before ({args.speed_before})": old, "after": ROOT}
        print(f"full scan: {mb:.1f} MB of site-packages text, median of {args.runs}, {load()}")
        for jobs, label in (("default", f"{os.cpu_count()} cores"), ("1", "1 process")):
            for name, (secs, count) in time_full(tree, args.runs, variants, jobs).items():
                print(
                    f"  br-tui {name:16} {label:9} {secs:6.2f} s {mb / secs:6.1f} MB/s"
                    f"  {count} findings"
                )
        print(f"  ({load()})")
        ds = shutil.which("detect-secrets") or str(Path(sys.executable).with_name("detect-secrets"))
        if not args.no_baselines and Path(ds).exists():
            small = Path(tmp) / "small"
            small_mb = make_tree(small, min(args.mb, 3.0)) / 1e6  # it is ~100x slower
            t = time_cmd([ds, "scan", "--all-files", "."], small, 1)
            print(
                f"  detect-secrets  {t:7.2f} s  {small_mb / t:7.2f} MB/s"
                f" (on a {small_mb:.1f} MB subset; {load()})"
            )
        repo = hook_repo(tree, Path(tmp) / "repo")
        staged = sorted(p.name for p in repo.iterdir() if p.is_file())
        script = shutil.which("br-tui") or str(Path(sys.executable).with_name("br-tui"))
        hook_cmd = [script, "--scan", "--staged"]
        module_cmd = [sys.executable, "-m", "engine.security", "--staged"]
        old_env = {**env, "PYTHONPATH": str(old)}
        cmds = {
            f"br-tui --scan --staged, before ({args.speed_before})": (hook_cmd, old_env),
            "br-tui --scan --staged": (hook_cmd, env),
            "python -m engine.security --staged": (module_cmd, env),
            "python -c pass": ([sys.executable, "-c", "pass"], env),
        }
        for cmd, cmd_env in cmds.values():  # warm bytecode and the rules cache, like a 2nd commit
            subprocess.run(cmd, cwd=repo, env=cmd_env, capture_output=True, check=False)
        times = time_cmds(cmds, repo, 11)
        print(
            f"hook run on {len(staged)} staged files (interpreter start included, median of 11,"
            f" alternating; {load()})"
        )
        for name, secs in times.items():
            print(f"  {name:48} {secs * 1000:5.0f} ms")
        dsh = Path(sys.executable).with_name("detect-secrets-hook")
        if not args.no_baselines and dsh.exists():
            t = time_cmd([str(dsh), *staged], repo, 3, env)
            print(f"  {'detect-secrets-hook':48} {t * 1000:5.0f} ms")
        print_redact(tree, Path(tmp), args.before)
        print_pathological(Path(tmp), args.speed_before)
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
