"""Which files did a task actually change? Compare `git status` before and after it.

Only tasks that declare `files` are watched (the declaration is the contract a lock enforces),
and only inside a git work tree. Status entries are keyed by path with their mtime and size, so
a file that was already dirty and got rewritten still shows up as changed.
"""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path

Snapshot = dict[str, tuple[str, int, int]]


@lru_cache(maxsize=256)
def git_root(cwd: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def snapshot(root: str) -> Snapshot:
    out = subprocess.run(
        ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"],
        cwd=root,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    snap: Snapshot = {}
    entries = out.stdout.decode("utf-8", "surrogateescape").split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":  # renames carry the old path as the next entry
            i += 1
        try:
            st = os.stat(os.path.join(root, path))
            snap[path] = (code, st.st_mtime_ns, st.st_size)
        except OSError:
            snap[path] = (code, 0, -1)
    return snap


def changed(before: Snapshot, after: Snapshot) -> list[str]:
    paths = {p for p in after if before.get(p) != after[p]}
    paths |= {p for p in before if p not in after}  # reverted or deleted since
    return sorted(paths)


def relative_to(path: str, root: str, cwd: str) -> str:
    """A repo-relative path re-expressed relative to the task's cwd (where its globs live)."""
    return os.path.relpath(Path(root, path), cwd)
