"""br:allow-file -- Secret-scan accuracy beside detect-secrets and CredSweeper, before and after.

The data sets, every tool on the same files in the same run:
- the dev set (`../shared/eval/secrets-dev.jsonl`), one case per folder, scored as its README says;
- our own cases (`bench/secrets_corpus.py`: positives generated from providers' documented formats,
  negatives shaped like them), with a leave-provider-out recall for br-tui: each provider's cases
  scanned with its named rule switched off, i.e. as a provider the scanner has never seen;
- the blind snippet set (`bench/secrets_blind.py`: 700 positives over 315 providers outside the
  dev set, 400 negatives of the dev set's kinds, written by a helper who never saw the rules);
  blind for its first run only, since its misses were read after it;
- a second blind set (`bench/secrets_blind2.py`: 600 positives over 403 providers outside the
  dev set, 300 negatives, 44 contexts, by another helper who saw neither the rules nor the first
  blind set); first run at 98a39f9 and 90443c8, before any of its cases were read;
- a third blind set (`bench/secrets_blind3.py`: 600 positives over 389 providers, 300 negatives,
  54 contexts, by a third helper who saw none of the above); first run at 98a39f9 and 0e09a6b;
- clean code (CPython's standard library without its tests, and this venv's site-packages), where
  every finding is a false alarm: findings per MB, halves A (looked at) and B (held out once);
- held-out corpora C and D (`bench/corpora.py`: sixteen pinned wheels each, in neither half, and
  two manuals' sources, fetched outside the repository): findings per MB, and the false-positive
  rate on their keyword lines (a credential-like name given a literal), the held-out estimate.
  Lines reviewed as real secrets or fixtures (`bench/corpus_<x>_review.txt`) count for no tool.
  C's findings have been read while rules changed; D and E (defined later, larger) are blind.
"Before" is br-tui at `--before` (default 0ae3015, the main branch this work started from),
"after" is this working tree, or `--after REV`; a REV is exported with `git archive` and run by
the same interpreter.

    python bench/scan_accuracy.py [--before REV] [--after REV] [--clean-mb 20] [--no-baselines]
                                  [--only dev|own|blind|blind2|blind3|clean|c|d|e ...]
                                  [--list c|d ...]
    python bench/scan_accuracy.py --only d --before 8fd25db       # D: before vs this tree
"""

from __future__ import annotations

import argparse
import binascii
import json
import math
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
import corpora  # noqa: E402
import secrets_blind  # noqa: E402
import secrets_blind2  # noqa: E402
import secrets_blind3  # noqa: E402
import secrets_corpus  # noqa: E402
from secrets_eval import DEFAULT_SET, score, write_cases  # noqa: E402

# Rules that are no provider's: what is left when every provider rule is off.
STRUCTURAL = {
    "private-key", "jwt", "url-credentials", "connection-string-password", "basic-auth-cli",
    "authorization-header", "jenkins-credential", "prefixed-token", "npmrc-auth",
    "google-service-account", "url-path-credential",
}  # fmt: skip

# Runs inside the tool's own interpreter with PYTHONPATH at the code under test. `generic`: every
# provider rule off (only the STRUCTURAL rules and the generic detectors), i.e. every provider
# scanned as one the scanner has never seen.
_SNIPPET = r"""
import json, sys
from pathlib import Path
from engine.security import scan_paths
from engine.security.config import ScanConfig
from engine.security.rules import default_rules
target, out, generic = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
off = [r.id for r in default_rules().rules if r.id not in generic] if generic else []
cfg = ScanConfig(sqli=False, disable=off)
found = [(str(Path.cwd() / f.path), f.line) for f in scan_paths([target], cfg, baseline=False)]
Path(out).write_text(json.dumps(found))
"""


def _br(code: Path, target: Path, tmp: Path, generic: bool = False) -> list:
    out = tmp / f"out-{os.getpid()}-{time.monotonic_ns()}.json"
    env = {**os.environ, "PYTHONPATH": str(code)}
    keep = json.dumps(sorted(STRUCTURAL) if generic else [])
    subprocess.run(
        [sys.executable, "-c", _SNIPPET, str(target), str(out), keep],
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


_CLEAN_EXT = {".py", ".md", ".rst", ".txt", ".toml", ".json", ".cfg", ".ini", ".yaml", ".yml"}
# Packages that hold secret-shaped test data on purpose (scanners' own fixtures and rule files).
_FIXTURE_PACKAGES = {"detect_secrets", "credsweeper", "bandit", "pip", "setuptools"}
_SKIP_DIRS = {"test", "tests", "SelfTest", "idlelib", "site-packages", "__pycache__", "lib2to3"}


def packages() -> list[tuple[str, Path, list[Path]]]:
    """(name, base, files) for each top-level module or package of the stdlib (no tests) and of
    site-packages, scanner packages left out (their fixtures are secrets on purpose)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    bases = [stdlib, *[Path(p) for p in sys.path if p.endswith("site-packages")]]
    out = []
    for base in bases:
        for top in sorted(base.iterdir()):
            name = top.name.split(".")[0].split("-")[0]
            if (
                top.name in _SKIP_DIRS
                or name in _FIXTURE_PACKAGES
                or top.name.endswith(".dist-info")
            ):
                continue
            files = [top] if top.is_file() else sorted(top.rglob("*"))
            files = [
                f for f in files
                if f.is_file() and f.suffix in _CLEAN_EXT and f.stat().st_size <= 500_000
                and not set(f.relative_to(base).parts) & _SKIP_DIRS
            ]  # fmt: skip
            if files:
                out.append((f"{base.name}/{top.name}", base, files))
    return out


def half_of(package: str) -> str:
    """`A` (used while choosing rules) or `B` (held out), by a hash of the package's name."""
    return "AB"[binascii.crc32(package.encode()) % 2]


def clean_tree(dest: Path, megabytes: float, half: str = "AB") -> int:
    """Copy whole packages of the given half(s), in hash order, until `megabytes`."""
    budget, total = int(megabytes * 1e6), 0
    chosen = [p for p in packages() if half_of(p[0]) in half]
    chosen.sort(key=lambda p: binascii.crc32(p[0].encode()))
    for _, base, files in chosen:
        for path in files:
            target = dest / base.name / path.relative_to(base)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            total += path.stat().st_size
        if total >= budget:
            break
    return total


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


def interval(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"[{lo:.3f}, {hi:.3f}]"


def _relative(found: list, tree: Path) -> set[tuple[str, int]]:
    root = tree.resolve()
    return {(str(Path(p).resolve().relative_to(root)), int(line)) for p, line in found}


def _first(text: str, seen: set[str]) -> bool:
    """True the first time `text` is seen (and remember it)."""
    if text in seen:
        return False
    seen.add(text)
    return True


def keyword_tree(tree: Path, dest: Path) -> dict[tuple[str, int], tuple[str, int]]:
    """Write each file's keyword lines (only those, in order, same name) under `dest`; return
    (path, line in dest) -> (path, line in the corpus). Every tool reads the same lines.

    A line whose text (stripped) came earlier in the corpus is left out: generated code repeats
    one line hundreds of times (`token="YOUR_TOKEN",` in every docstring of a client), and a
    negative counted 900 times would weigh one placeholder as 900 estimates."""
    where: dict[tuple[str, int], tuple[str, int]] = {}
    seen: set[str] = set()
    for path in corpora.files(tree):
        lines = [(n, t) for n, t in corpora.keyword_lines(path) if _first(t.strip(), seen)]
        if not lines:
            continue
        rel = str(path.relative_to(tree))
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(text for _, text in lines) + "\n", encoding="utf-8")
        for i, (number, _) in enumerate(lines, 1):
            where[(rel, i)] = (rel, number)
    return where


def corpus_report(
    corpus: corpora.Corpus, args: argparse.Namespace, codes: dict[str, Path], tmp: Path
) -> None:
    """Findings per MB on all of a held-out corpus, and the FPR on its keyword lines, for every
    tool; with `--list X`, every line each tool flagged (what the hand review reads)."""
    name = corpus.name.upper()
    tree = corpora.fetch(corpus, args.cache_root / f"corpus-{corpus.name}")
    mb = sum(p.stat().st_size for p in corpora.files(tree)) / 1e6
    known = corpora.reviewed(corpus)
    kw_tree = tmp / f"{corpus.name}-keyword-lines"
    where = keyword_tree(tree, kw_tree)
    negatives = {loc for loc in where.values() if loc not in known}
    tools: dict[str, tuple[list, list]] = {
        tool: (_br(code, tree, tmp), _br(code, kw_tree, tmp)) for tool, code in codes.items()
    }
    if not args.no_baselines:
        tools["detect-secrets"] = (detect_secrets(tree), detect_secrets(kw_tree))
        tools["CredSweeper"] = (credsweeper(tree, tmp), credsweeper(kw_tree, tmp))
    left_out = len(where) - len(negatives)
    blind = "held out, not tuned on" if corpus.name != "c" else "read while rules changed"
    print(f"corpus {name} ({blind}): {mb:.1f} MB; {len(where)} keyword lines, "
          f"{left_out} of them reviewed as real/fixture and left out")  # fmt: skip
    print(f"  {'tool':16} {'findings':>8} {'per MB':>7}   keyword-line FP/n      FPR interval")
    for tool, (full, kw) in tools.items():
        false = _relative(full, tree) - set(known)
        flagged = {where[loc] for loc in _relative(kw, kw_tree) if loc in where} & negatives
        k, n = len(flagged), len(negatives)
        print(f"  {tool:16} {len(false):8d} {len(false) / mb:7.2f}   {k:4d}/{n:<4d}"
              f"  {k / max(n, 1):8.3f} {interval(k, n)}")  # fmt: skip
        if corpus.name in args.list:
            for rel, line in sorted(false):
                print(f"    finding {rel}:{line}")
            for rel, line in sorted(flagged):
                print(f"    keyword {rel}:{line}")


def export(rev: str, dest: Path) -> Path:
    """`engine/` of commit `rev`, unpacked under `dest` (one clear error if `rev` is unknown)."""
    dest.mkdir()
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "engine"], capture_output=True)
    if arch.returncode:
        raise SystemExit(f"scan_accuracy: cannot export engine/ at {rev!r}: "
                         f"{arch.stderr.decode().strip()}")  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(dest)], input=arch.stdout, check=True)
    return dest


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default="0ae3015", help="br-tui 'before' (a git revision)")
    ap.add_argument("--after", help="br-tui 'after' (a git revision; default: this tree)")
    ap.add_argument("--no-after", action="store_true", help="run br-tui 'before' only")
    ap.add_argument("--cache-root", type=Path, default=corpora.CACHE, help="corpus-<x> caches")
    ap.add_argument(
        "--only",
        choices=["dev", "own", "blind", "blind2", "blind3", "clean", *corpora.CORPORA],
        action="append",
    )
    ap.add_argument(
        "--list",
        choices=sorted(corpora.CORPORA),
        action="append",
        default=[],
        help="print every line each tool flags on this corpus (for the review)",
    )
    ap.add_argument("--list-c", action="store_true", help="same as --list c")
    ap.add_argument("--clean-mb", type=float, default=10.0, help="per half of the clean corpus")
    ap.add_argument("--baseline-clean-mb", type=float, default=1.5, help="per half, for the others")
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    if args.list_c:
        args.list.append("c")
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        codes = {"br-tui before": export(args.before, tmp / "before")}
        if not args.no_after:
            codes["br-tui after"] = export(args.after, tmp / "after") if args.after else ROOT
        sets = {
            "dev": [json.loads(x) for x in DEFAULT_SET.read_text().splitlines() if x],
            "own": secrets_corpus.cases(),
            "blind": secrets_blind.generate(),
            "blind2": secrets_blind2.generate(),
            "blind3": secrets_blind3.generate(),
        }
        print("recall and FPR with 95 % Wilson intervals; 'generic' = every provider rule off")
        print(f"{'set':4} {'tool':23} {'recall':>6} {'interval':16} {'FPR':>6} {'interval':16}"
              "  tp/fn/fp/tn")  # fmt: skip
        only = set(
            args.only or ["dev", "own", "blind", "blind2", "blind3", "clean", *corpora.CORPORA]
        )
        for corpus in corpora.CORPORA.values():
            if corpus.name in only:
                corpus_report(corpus, args, codes, tmp)
        for name, cases in sets.items():
            if name not in only:
                continue
            tree = tmp / name
            write_cases(cases, tree)
            results = {}
            for tool, code in codes.items():
                results[tool] = by_case(_br(code, tree, tmp), tree)
                results[tool + ", generic"] = by_case(_br(code, tree, tmp, generic=True), tree)
            if not args.no_baselines:
                results["detect-secrets"] = by_case(detect_secrets(tree), tree)
                results["CredSweeper"] = by_case(credsweeper(tree, tmp), tree)
            for tool, hits in results.items():
                s = score(cases, hits)
                pos, neg = s["tp"] + s["fn"], s["fp"] + s["tn"]
                print(
                    f"{name:4} {tool:23} {s['recall']:6.3f} {interval(s['tp'], pos):16}"
                    f" {s['fpr']:6.3f} {interval(s['fp'], neg):16}"
                    f"  {s['tp']}/{s['fn']}/{s['fp']}/{s['tn']}"
                )
        if "clean" not in only:
            return 0
        print("clean code, findings per MB; halves by package (A: looked at while choosing rules,")
        print("B: held out); stdlib without tests + site-packages without scanners' own fixtures")
        for half in "AB":
            clean = tmp / f"clean-{half}"
            mb = clean_tree(clean, args.clean_mb, half) / 1e6
            for tool, code in codes.items():
                n = len(_br(code, clean, tmp))
                print(f"  {half} {tool:16} {n:6d} findings  {n / mb:7.2f} per MB  ({mb:.1f} MB)")
            if args.no_baselines:
                continue
            small = tmp / f"clean-small-{half}"
            smb = clean_tree(small, args.baseline_clean_mb, half) / 1e6
            counts = {
                "detect-secrets": len(detect_secrets(small)),
                "CredSweeper": len(credsweeper(small, tmp)),
                **{t: len(_br(c, small, tmp)) for t, c in codes.items()},
            }
            for tool, n in counts.items():
                print(f"  {half} {tool:16} {n:6d} findings  {n / smb:7.2f} per MB  ({smb:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
