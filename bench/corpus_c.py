"""br:allow-file -- Held-out corpus C: code and documentation no br-tui rule was chosen on.

Halves A and B of `scan_accuracy.py` come from this venv's site-packages and CPython's standard
library, and both have been looked at. C is fetched fresh, outside the repository, from packages
that are in neither half (none of them is installed in the dev venv):

- code: the wheels of sixteen popular packages, pinned (web frameworks, auth and crypto-adjacent
  libraries, clients of services that take credentials), unpacked, tests left out;
- documentation: the reStructuredText sources of CPython 3.11's and Celery 5.2's manuals (the
  `_sources` trees of Debian's `python3.11-doc` and `python-celery-doc`).

From C come also the **keyword-line negatives**: real lines where a credential-like name is
assigned or passed a literal value (`password="..."`, `token: ...`, `SECRET_KEY = '...'`,
`Authorization: Bearer ...`). They are the real-world kind of the judged negatives (placeholders,
identifiers, paths, references, UUIDs). A line flagged by any tool was reviewed by hand once; the
few that hold a real secret or a deliberate test fixture are listed, with reasons, in
`bench/corpus_c_review.txt` and are left out of both the false-alarm counts and the negatives.

The corpus and the extraction were fixed before br-tui's results on C were looked at; rules are
not tuned on C, which is an estimate, not a regression check.

    python bench/corpus_c.py [--dir DIR]     # fetch (once) and print sizes and line counts
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

WHEELS = (
    "django==5.2.19", "flask==3.1.3", "werkzeug==3.1.9", "sqlalchemy==2.1.9", "tornado==6.6.1",
    "paramiko==5.1.0", "celery==5.7.0", "kombu==5.7.0", "redis==8.1.0", "oauthlib==4.0.1",
    "authlib==1.9.10", "pyjwt==2.15.1", "google-auth==2.63.0", "docker==7.2.0",
    "alembic==1.20.1", "gunicorn==27.0.1",
)  # fmt: skip
DOC_DEBS = ("python3.11-doc", "python-celery-doc")
DEFAULT_DIR = Path.home() / ".cache" / "br-tui-bench" / "corpus-c"
REVIEW = Path(__file__).with_name("corpus_c_review.txt")

_EXT = {".py", ".md", ".rst", ".txt", ".toml", ".json", ".cfg", ".ini", ".yaml", ".yml"}
_SKIP = {"test", "tests", "testing", "__pycache__"}
_MAX_BYTES = 500_000


def fetch(root: Path) -> Path:
    """Download and unpack C under `root` (once); return the tree to scan (`root/tree`)."""
    tree = root / "tree"
    if (root / "done").exists():
        return tree
    if root.exists():
        shutil.rmtree(root)
    dl = root / "dl"
    dl.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dl), *WHEELS],
        check=True,
    )  # fmt: skip
    for wheel in sorted(dl.glob("*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(root / "unpacked" / wheel.name.split("-")[0].lower())
    debs = root / "debs"
    debs.mkdir()
    subprocess.run(["apt-get", "download", "-qq", *DOC_DEBS], cwd=debs, check=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root / "unpacked" / "docs")], check=True)
    _select(root / "unpacked", tree)
    (root / "done").write_text("ok\n")
    return tree


def _select(unpacked: Path, tree: Path) -> None:
    """Copy the text files the scanners read: code and config of the wheels (no tests, no
    .dist-info), and each manual's `_sources` tree."""
    for path in sorted(unpacked.rglob("*")):
        rel = path.relative_to(unpacked)
        if not path.is_file() or set(rel.parts) & _SKIP or path.stat().st_size > _MAX_BYTES:
            continue
        if any(p.endswith(".dist-info") for p in rel.parts):
            continue
        if rel.parts[0] == "docs":
            if "_sources" not in rel.parts:
                continue
            manual = rel.parts[rel.parts.index("doc") + 1]  # python3.11 / python-celery-doc
            rel = Path("docs", manual, *rel.parts[rel.parts.index("_sources") + 1 :])
        elif path.suffix not in _EXT:
            continue
        dest = tree / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


def files(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*") if p.is_file())


# A credential-like name, then an assignment, a keyword argument, a mapping key or a header
# colon, then a literal: a quoted string of 3+ characters, or (outside Python, where bare words
# are values: YAML, INI, shell, prose) a bare token of 3+ characters ending the line.
_NAME = (
    r"[\w.\-]*(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key"
    r"|private[_\-]?key|credential|auth(?:orization)?(?!or)|session[_\-]?key|signing[_\-]?key)[\w.\-]*"
)
_QUOTED = re.compile(
    rf"""(?i)(?<![\w.\-]){_NAME}["']?\s{{0,3}}(?::=|=>|==|=|:)\s{{0,3}}[bruf]{{0,2}}(["'])"""
    r"""(?P<val>(?:(?!\1).){3,400})\1"""
)
_BARE = re.compile(
    rf"""(?i)(?<![\w.\-:`]){_NAME}["']?\s{{0,3}}(?:=|:)\s{{0,3}}(?P<val>[^\s"'(\[{{]{{3,400}})\s*$"""
)


def keyword_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the lines where a credential-like name is given a literal."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    code = path.suffix == ".py"
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > 1000:
            continue
        if _QUOTED.search(line) or (not code and _BARE.search(line)):
            out.append((number, line))
    return out


def reviewed() -> dict[tuple[str, int], str]:
    """(path in C, line) -> why the line is a real secret or a deliberate fixture."""
    out: dict[tuple[str, int], str] = {}
    for raw in REVIEW.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        where, reason = raw.split(None, 1)
        path, line = where.rsplit(":", 1)
        out[(path, int(line))] = reason.strip()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = ap.parse_args()
    tree = fetch(args.dir)
    paths = files(tree)
    size = sum(p.stat().st_size for p in paths)
    docs = sum(p.stat().st_size for p in paths if p.relative_to(tree).parts[0] == "docs")
    lines = sum(len(keyword_lines(p)) for p in paths)
    print(f"C: {len(paths)} files, {size / 1e6:.1f} MB ({docs / 1e6:.1f} MB documentation)")
    print(f"keyword lines: {lines}; reviewed positives/fixtures: {len(reviewed())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
