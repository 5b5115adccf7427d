"""Score br-tui's SQL-injection analysis on ../shared/eval/sqli-dev.jsonl, beside bandit.

Scoring follows ../shared/eval/README.md: each finding line credits the labelled line it is, else
the one whose `span` contains it, else the one whose `flow` contains it (positives first).

    python bench/sqli_eval.py [--set PATH] [--no-baselines] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_SET = ROOT.parent / "shared" / "eval" / "sqli-dev.jsonl"


def credit(case: dict, line: int) -> tuple[str, int] | None:
    """The labelled line a finding at `line` is credited to, with its label."""
    pos, neg = set(case["positive_lines"]), set(case["negative_lines"])
    amb = set(case["ambiguous_lines"])
    if line in pos:
        return "pos", line
    if line in neg:
        return "neg", line
    if line in amb:
        return "amb", line
    ctx = case["line_context"]
    for step in ("span", "flow"):
        hits = []
        for labelled, c in ctx.items():
            lo_hi = c.get(step) or []
            if step == "span":
                inside = bool(lo_hi) and lo_hi[0] <= line <= lo_hi[1]
            else:
                inside = any(lo <= line <= hi for lo, hi in lo_hi)
            if inside:
                n = int(labelled)
                kind = "pos" if n in pos else "neg" if n in neg else "amb"
                hits.append((kind, n))
        if hits:
            hits.sort(key=lambda h: h[0] != "pos")
            return hits[0]
    return None


def score(cases: list[dict], flagged: dict[int, set[int]], lang: set[str]) -> dict[str, float]:
    tp = pos_total = fp = 0
    for i, case in enumerate(cases):
        if case["language"] not in lang:
            continue
        pos_total += len(case["positive_lines"])
        credited_pos: set[int] = set()
        credited_neg: set[int] = set()
        for line in flagged.get(i, set()):
            c = credit(case, line)
            if c is None:
                continue
            (credited_pos if c[0] == "pos" else credited_neg if c[0] == "neg" else set()).add(c[1])
        tp += len(credited_pos)
        fp += len(credited_neg)
    recall = tp / max(pos_total, 1)
    precision = tp / max(tp + fp, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {
        "recall": recall,
        "precision": precision,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "pos": pos_total,
    }


def run_br(cases: list[dict]) -> dict[int, set[int]]:
    from engine.security import scan_text
    from engine.security.config import ScanConfig

    cfg = ScanConfig(secrets=False)
    return {
        i: {f.line for f in scan_text(c["text"], c["filename"], cfg) if f.kind == "sqli"}
        for i, c in enumerate(cases)
    }


def run_bandit(cases: list[dict]) -> dict[int, set[int]] | None:
    exe = shutil.which("bandit") or str(Path(sys.executable).with_name("bandit"))
    if not Path(exe).exists():
        return None
    out: dict[int, set[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, c in enumerate(cases):
            if c["language"] == "python":
                (Path(tmp) / f"c{i:03d}.py").write_text(c["text"])
        done = subprocess.run(
            [exe, "-q", "-r", tmp, "-f", "json", "-t", "B608,B611,B610"],
            capture_output=True,
            text=True,
            check=False,
        )
        for r in json.loads(done.stdout or "{}").get("results", []):
            i = int(Path(r["filename"]).stem[1:])
            out.setdefault(i, set()).update(r.get("line_range") or [r["line_number"]])
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default=str(DEFAULT_SET))
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    cases = [json.loads(line) for line in Path(args.set).read_text().splitlines() if line]
    tools = {"br-tui": run_br(cases)}
    if args.verbose:
        for i, c in enumerate(cases):
            got = tools["br-tui"].get(i, set())
            print(
                c["id"],
                "flagged",
                sorted(got),
                "pos",
                c["positive_lines"],
                "neg",
                c["negative_lines"],
            )
    if not args.no_baselines:
        b = run_bandit(cases)
        if b is not None:
            tools["bandit"] = b
    print(f"{'tool':10} {'lang':8} {'recall':>7} {'prec':>7} {'F1':>7} {'tp/pos fp':>12}")
    for tool, flagged in tools.items():
        for name, lang in (("python", {"python"}), ("js/ts", {"javascript", "typescript"})):
            if tool == "bandit" and name != "python":
                continue
            s = score(cases, flagged, lang)
            print(
                f"{tool:10} {name:8} {s['recall']:7.3f} {s['precision']:7.3f} {s['f1']:7.3f}"
                f" {s['tp']:>5}/{s['pos']:<3} {s['fp']:>3}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
