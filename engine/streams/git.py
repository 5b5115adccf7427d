"""Git as a subprocess: one small wrapper so every call has the same environment and errors.

Every call runs with `--no-optional-locks` semantics where git offers them (GIT_OPTIONAL_LOCKS=0):
reading the user's checkout must never rewrite its index (a plain `git status` refreshes it).
Commits br-tui makes use the repository's configured identity, or "br-tui" when it has none.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "br-tui",
    "GIT_AUTHOR_EMAIL": "br-tui@localhost",
    "GIT_COMMITTER_NAME": "br-tui",
    "GIT_COMMITTER_EMAIL": "br-tui@localhost",
}


class GitError(Exception):
    """A git command failed; the message is git's own last line(s) of stderr."""

    def __init__(self, args: Sequence[str], code: int, stderr: str) -> None:
        self.args_ = list(args)
        self.code = code
        self.stderr = stderr.strip()
        tail = " ".join(self.stderr.splitlines()[-3:]) or f"exit {code}"
        super().__init__(f"git {' '.join(args[:2])}: {tail}")


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("LC_ALL", "C")
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):  # a hook's env must not leak in
        env.pop(key, None)
    if extra:
        env.update(extra)
    return env


def run(
    cwd: str | Path,
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        ["git", *args],
        cwd=str(cwd),
        env=_env(env),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
    )
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc


def out(cwd: str | Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """stdout of a successful call, stripped."""
    return run(cwd, *args, env=env).stdout.decode("utf-8", "replace").strip()


def ok(cwd: str | Path, *args: str) -> bool:
    return run(cwd, *args, check=False).returncode == 0


def toplevel(path: str | Path) -> Path | None:
    """The root of the work tree holding `path`, or None outside git."""
    p = run(path, "rev-parse", "--show-toplevel", check=False)
    if p.returncode != 0:
        return None
    return Path(p.stdout.decode().strip())


def rev(cwd: str | Path, ref: str) -> str | None:
    """The commit `ref` names, or None."""
    p = run(cwd, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
    return p.stdout.decode().strip() if p.returncode == 0 else None


def current_branch(cwd: str | Path) -> str | None:
    p = run(cwd, "symbolic-ref", "-q", "--short", "HEAD", check=False)
    return p.stdout.decode().strip() if p.returncode == 0 else None


def is_ancestor(cwd: str | Path, a: str, b: str) -> bool:
    return ok(cwd, "merge-base", "--is-ancestor", a, b)


def identity(cwd: str | Path) -> dict[str, str]:
    """Environment for a commit: empty when the repository has an identity configured."""
    if run(cwd, "config", "user.email", check=False).returncode == 0:
        return {}
    return dict(_FALLBACK_IDENTITY)


def ahead_behind(cwd: str | Path, target: str, branch: str) -> tuple[int, int]:
    """(commits on `branch` not on `target`, commits on `target` not on `branch`)."""
    p = run(cwd, "rev-list", "--left-right", "--count", f"{target}...{branch}", check=False)
    if p.returncode != 0:
        return 0, 0
    behind, ahead = (int(x) for x in p.stdout.split())
    return ahead, behind


def z_paths(data: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in data.split(b"\0") if p]


def dirty_paths(worktree: str | Path) -> list[str]:
    """Paths with uncommitted changes (staged, unstaged or untracked), without touching the
    index (`--no-optional-locks`). Renames report both names."""
    data = run(
        worktree, "--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all"
    ).stdout
    paths: list[str] = []
    parts = data.split(b"\0")
    i = 0
    while i < len(parts):
        entry = parts[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:].decode("utf-8", "surrogateescape"))
        if entry[:1] in (b"R", b"C"):  # the source name follows as its own field
            if i < len(parts) and parts[i]:
                paths.append(parts[i].decode("utf-8", "surrogateescape"))
            i += 1
    return paths


WORKTREE_LOCK = "br-tui-worktrees.lock"
_held = threading.local()


@lru_cache(maxsize=64)
def _common_dir(cwd: str) -> Path:
    return Path(out(cwd, "rev-parse", "--path-format=absolute", "--git-common-dir"))


@contextmanager
def worktree_admin(cwd: str | Path) -> Iterator[None]:
    """Hold the repository's worktree lock: `git worktree add` is not safe beside another
    command that walks `.git/worktrees/` (it writes a worktree's `commondir` after creating it,
    and a reader in between dies on the empty file). Every br-tui command that adds, removes,
    prunes or lists worktrees, or deletes a branch (which walks them too), runs inside this.

    An flock on a file in the common git dir: one per repository, shared by every worktree,
    thread and br-tui process, and released by the kernel when its holder dies. Re-entrant
    within a thread, so a helper that lists worktrees can be called while holding it.
    """
    key = str(_common_dir(str(Path(cwd).resolve())))
    held: set[str] = _held.__dict__.setdefault("keys", set())
    if key in held:
        yield
        return
    try:
        fd = os.open(Path(key) / WORKTREE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:  # a read-only .git: say so in git's terms, one line
        why = f"cannot open {key}/{WORKTREE_LOCK}: {exc.strerror}"
        raise GitError(("worktree", "lock"), 1, why) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
    finally:
        os.close(fd)  # closing releases the flock


def worktrees(cwd: str | Path) -> list[dict[str, str]]:
    """`git worktree list --porcelain` as dicts (worktree, HEAD, branch, detached, prunable)."""
    with worktree_admin(cwd):
        proc = run(cwd, "worktree", "list", "--porcelain", "-z")
    text = proc.stdout.decode("utf-8", "replace")
    entries: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for field in text.split("\0"):
        if not field:
            if current:
                entries.append(current)
                current = {}
            continue
        key, _, value = field.partition(" ")
        current[key] = value
    if current:
        entries.append(current)
    return entries
