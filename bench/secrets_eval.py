"""Score br-tui's secret scanner on ../shared/eval/secrets-dev.jsonl, beside detect-secrets.

Each case is written as one file in its own folder; every tool scans the whole tree once and its
findings are mapped back by folder. A positive counts as found when a finding sits on a line that
holds (part of) an expected secret; a negative with any finding is a false positive.

    python bench/secrets_eval.py [--set PATH] [--no-baselines] [--misses]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_SET = ROOT.parent / "shared" / "eval" / "secrets-dev.jsonl"


def secret_lines(text: str, secrets: list[str]) -> set[int]:
    """1-based lines covered by any expected secret (secrets may span lines)."""
    lines: set[int] = set()
    for s in secrets:
        start = text.find(s)
        while start >= 0:
            first = text.count("\n", 0, start) + 1
            lines.update(range(first, first + s.count("\n") + 1))
            start = text.find(s, start + 1)
        if not any(True for _ in [start]) or s not in text:
            for i, line in enumerate(text.splitlines(), 1):  # partial/normalised secrets
                if line.strip() and (line.strip() in s or s[:20] in line):
                    lines.add(i)
    return lines


def write_cases(cases: list[dict], tree: Path) -> None:
    for i, case in enumerate(cases):
        folder = tree / f"c{i:04d}"
        folder.mkdir(parents=True)
        path = folder / case["filename"]  # may name a folder too: `.github/workflows/ci.yml`
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(case["text"], encoding="utf-8")


def score(cases: list[dict], hits: dict[int, set[int]]) -> dict[str, float]:
    """hits: case index -> lines flagged."""
    tp = fn = fp = tn = 0
    for i, case in enumerate(cases):
        flagged = hits.get(i, set())
        if case["label"]:
            want = secret_lines(case["text"], case["secrets"])
            if flagged & want or (flagged and not want):
                tp += 1
            else:
                fn += 1
        elif flagged:
            fp += 1
        else:
            tn += 1
    recall = tp / max(tp + fn, 1)
    fpr = fp / max(fp + tn, 1)
    precision = tp / max(tp + fp, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {
        "recall": recall,
        "fpr": fpr,
        "precision": precision,
        "f1": f1,
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "tn": tn,
    }


def run_br(tree: Path) -> tuple[dict[int, set[int]], float]:
    from engine.security import scan_paths

    t0 = time.perf_counter()
    findings = scan_paths([tree], baseline=False)
    elapsed = time.perf_counter() - t0
    hits: dict[int, set[int]] = {}
    for f in findings:
        idx = int(Path(f.path).parts[-2][1:])
        hits.setdefault(idx, set()).add(f.line)
    return hits, elapsed


def run_detect_secrets(tree: Path) -> tuple[dict[int, set[int]], float] | None:
    exe = shutil.which("detect-secrets") or str(Path(sys.executable).with_name("detect-secrets"))
    if not Path(exe).exists():
        return None
    t0 = time.perf_counter()
    out = subprocess.run(
        [exe, "scan", "--all-files", "."], cwd=tree, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - t0
    hits: dict[int, set[int]] = {}
    for name, results in json.loads(out.stdout or "{}").get("results", {}).items():
        idx = int(Path(name).parts[0][1:])
        hits.setdefault(idx, set()).update(r["line_number"] for r in results)
    return hits, elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default=str(DEFAULT_SET))
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--misses", action="store_true", help="print missed positives and FPs")
    args = ap.parse_args()
    cases = [json.loads(line) for line in Path(args.set).read_text().splitlines() if line]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "cases"
        write_cases(cases, tree)
        results = {}
        hits, secs = run_br(tree)
        results["br-tui"] = (score(cases, hits), secs)
        if args.misses:
            for i, case in enumerate(cases):
                flagged = hits.get(i, set())
                want = secret_lines(case["text"], case["secrets"])
                bad = (case["label"] and not (flagged & want or (flagged and not want))) or (
                    not case["label"] and flagged
                )
                if bad:
                    kind = "MISS" if case["label"] else "FP"
                    print(f"--- {kind} c{i:04d} {case['provider']} {case['filename']} {flagged}")
                    print("   ", case["text"][:300].replace("\n", "\n    "))
        if not args.no_baselines:
            ds = run_detect_secrets(tree)
            if ds:
                results["detect-secrets"] = (score(cases, ds[0]), ds[1])
    n_pos = sum(c["label"] for c in cases)
    print(f"secrets: {len(cases)} cases ({n_pos} positive, {len(cases) - n_pos} negative)")
    print(
        f"{'tool':16} {'recall':>7} {'FPR':>7} {'prec':>7} {'F1':>7} {'tp/fn/fp/tn':>16} {'s':>6}"
    )
    for tool, (s, secs) in results.items():
        counts = f"{s['tp']}/{s['fn']}/{s['fp']}/{s['tn']}"
        print(
            f"{tool:16} {s['recall']:7.3f} {s['fpr']:7.3f} {s['precision']:7.3f} {s['f1']:7.3f}"
            f" {counts:>16} {secs:6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
