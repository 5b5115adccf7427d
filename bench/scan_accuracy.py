"""br:allow-file -- Secret-scan accuracy beside detect-secrets and CredSweeper, before and after.

Three data sets, every tool on the same files in the same run:
- the dev set (`../shared/eval/secrets-dev.jsonl`), one case per folder, scored as its README says;
- our own cases (`bench/secrets_corpus.py`: positives generated from providers' documented formats,
  negatives shaped like them), with a leave-provider-out recall for br-tui: each provider's cases
  scanned with its named rule switched off, i.e. as a provider the scanner has never seen;
- clean code (CPython's standard library without its tests, and this venv's site-packages), where
  every finding is a false alarm: findings per MB.
"Before" is br-tui at `--before` (default e1029bf, the main branch this work started from),
exported with `git archive` and run by the same interpreter.

    python bench/scan_accuracy.py [--before REV] [--clean-mb 20] [--no-baselines]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import secrets_corpus  # noqa: E402
from secrets_eval import DEFAULT_SET, score, write_cases  # noqa: E402

# Rules that are no provider's: what is left when every provider rule is off.
STRUCTURAL = {
    "private-key", "jwt", "url-credentials", "connection-string-password", "basic-auth-cli",
    "authorization-header", "jenkins-credential", "prefixed-token", "npmrc-auth",
    "google-service-account",
}  # fmt: skip

# Runs inside the tool's own interpreter with PYTHONPATH at the code under test.
_SNIPPET = r"""
import json, sys
from pathlib import Path
from engine.security import scan_paths
from engine.security.config import ScanConfig
from engine.security.rules import default_rules
mode, target, out = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = ScanConfig(sqli=False)
if mode == "tree":
    found = [(str(Path.cwd() / f.path), f.line) for f in scan_paths([target], cfg, baseline=False)]
    Path(out).write_text(json.dumps(found))
else:  # cases with a rule list to switch off each: [(text, filename, [rule ids])]
    from engine.security import scan_text
    ids = [r.id for r in default_rules().rules]
    res = []
    for text, name, off in json.loads(Path(target).read_text()):
        off = [i for i in ids if i not in set(off)] if off == ["*providers*"] else off
        c = ScanConfig(sqli=False, disable=[i for i in off if i in ids])
        res.append(sorted({f.line for f in scan_text(text, name, c)}))
    Path(out).write_text(json.dumps(res))
"""


def _br(code: Path, mode: str, target: Path, tmp: Path) -> object:
    out = tmp / f"out-{os.getpid()}-{time.monotonic_ns()}.json"
    env = {**os.environ, "PYTHONPATH": str(code)}
    subprocess.run(
        [sys.executable, "-c", _SNIPPET, mode, str(target), str(out)],
        env=env, cwd=tmp, check=True, capture_output=True,
    )  # fmt: skip
    return json.loads(out.read_text())


def by_case(found: list, tree: Path) -> dict[int, set[int]]:
    hits: dict[int, set[int]] = {}
    for path, line in found:
        rel = Path(path).resolve().relative_to(tree.resolve())
        hits.setdefault(int(rel.parts[0][1:]), set()).add(line)
    return hits


def detect_secrets(tree: Path) -> list:
    exe = Path(sys.executable).with_name("detect-secrets")
    done = subprocess.run(
        [str(exe), "scan", "--all-files", "."], cwd=tree, capture_output=True, text=True
    )
    out = []
    for name, results in json.loads(done.stdout or "{}").get("results", {}).items():
        out += [(str(tree / name), r["line_number"]) for r in results]
    return out


def credsweeper(tree: Path, tmp: Path) -> list:
    exe = Path(sys.executable).with_name("credsweeper")
    report = tmp / f"cs-{time.monotonic_ns()}.json"
    subprocess.run(
        [str(exe), "--path", str(tree), "--save-json", str(report), "--jobs", "2"],
        capture_output=True, check=False,
    )  # fmt: skip
    out = []
    for cand in json.loads(report.read_text()) if report.exists() else []:
        for loc in cand.get("line_data_list", []):
            out.append((loc["path"], loc["line_num"]))
    return out


def clean_tree(dest: Path, megabytes: float) -> int:
    """Source and docs of the stdlib (no tests) and of site-packages, up to `megabytes`."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    skip = {"test", "tests", "SelfTest", "idlelib", "site-packages", "__pycache__", "lib2to3"}
    sources = [stdlib, *[Path(p) for p in sys.path if p.endswith("site-packages")]]
    budget, total = int(megabytes * 1e6), 0
    for base in sources:
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base)
            if set(rel.parts) & skip or not path.is_file() or path.suffix not in {
                ".py", ".md", ".rst", ".txt", ".toml", ".json", ".cfg", ".ini", ".yaml", ".yml"
            }:  # fmt: skip
                continue
            size = path.stat().st_size
            if size > 500_000:
                continue
            target = dest / base.name / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            total += size
            if total >= budget:
                return total
    return total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default="e1029bf")
    ap.add_argument("--clean-mb", type=float, default=20.0)
    ap.add_argument("--baseline-clean-mb", type=float, default=3.0)
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        before = tmp / "before"
        before.mkdir()
        arch = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.before, "engine"], capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(before)], input=arch.stdout, check=True)
        codes = {"br-tui before": before, "br-tui after": ROOT}
        sets = {
            "dev": [json.loads(x) for x in DEFAULT_SET.read_text().splitlines() if x],
            "own": secrets_corpus.cases(),
        }
        print(f"{'set':6} {'tool':16} {'recall':>7} {'FPR':>7} {'LPO recall':>10}  tp/fn/fp/tn")
        for name, cases in sets.items():
            tree = tmp / name
            write_cases(cases, tree)
            results = {t: by_case(_br(c, "tree", tree, tmp), tree) for t, c in codes.items()}
            if not args.no_baselines:
                results["detect-secrets"] = by_case(detect_secrets(tree), tree)
                results["CredSweeper"] = by_case(credsweeper(tree, tmp), tree)
            for tool, hits in results.items():
                s = score(cases, hits)
                lpo = ""
                if tool in codes:  # each positive with its provider's rule(s) off
                    pos = [c for c in cases if c["label"]]
                    off = [[c["rule"]] if name == "own" else ["*providers*"] for c in pos]
                    spec = tmp / "lpo.json"
                    spec.write_text(
                        json.dumps(
                            [[c["text"], c["filename"], o] for c, o in zip(pos, off, strict=True)]
                        )
                    )
                    lines = _br(codes[tool], "cases", spec, tmp)
                    lpo = f"{sum(bool(x) for x in lines) / len(pos):10.3f}"  # type: ignore[arg-type]
                counts = f"{s['tp']}/{s['fn']}/{s['fp']}/{s['tn']}"
                print(f"{name:6} {tool:16} {s['recall']:7.3f} {s['fpr']:7.3f} {lpo:>10}  {counts}")
        clean = tmp / "clean"
        mb = clean_tree(clean, args.clean_mb) / 1e6
        print(f"clean code: {mb:.1f} MB (stdlib without tests, site-packages); findings per MB")
        for tool, code in codes.items():
            n = len(_br(code, "tree", clean, tmp))  # type: ignore[arg-type]
            print(f"  {tool:16} {n:6d} findings  {n / mb:7.2f} per MB")
        if not args.no_baselines:
            small = tmp / "clean-small"
            smb = clean_tree(small, args.baseline_clean_mb) / 1e6
            for tool, fn in (("detect-secrets", detect_secrets), ("CredSweeper", None)):
                n = len(fn(small) if fn else credsweeper(small, tmp))
                print(f"  {tool:16} {n:6d} findings  {n / smb:7.2f} per MB (first {smb:.1f} MB)")
            for tool, code in codes.items():
                n = len(_br(code, "tree", small, tmp))  # type: ignore[arg-type]
                print(f"  {tool:16} {n:6d} findings  {n / smb:7.2f} per MB (first {smb:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
