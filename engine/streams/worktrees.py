"""One git worktree and branch per stream, under `<repo>/.buildrunner/worktrees/<session>/`.

Created with `git worktree add -b BRANCH PATH BASE` from the base commit recorded when the
session was created (so a stream never starts from whatever HEAD has moved to since), its
`setup` command run once, gitignored files named by `include` / `.worktreeinclude` copied in.
A resumed or recovered session finds the row and reuses the same directory and branch: the
decision is made from the row, never from the current checkout.

Nothing here writes to the user's checkout except `.buildrunner/worktrees/` itself, which
ignores itself (its `.gitignore` is `*`) so `git status` there stays as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.plan import Plan, PlanError, StreamSpec
from engine.streams import git
from engine.streams.records import Op, StreamState, insert_stream_op

WORKTREES_DIR = Path(".buildrunner") / "worktrees"
INTEGRATION = "_integration"
SETUP_TIMEOUT_S = 1800.0


class StreamError(Exception):
    """A stream's worktree can't be made or used; one line for the user."""


def worktrees_root(repo: str | Path) -> Path:
    """`.buildrunner/worktrees/` in the repository, private, ignoring itself."""
    root = Path(repo) / WORKTREES_DIR
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    ignore = root / ".gitignore"
    if not ignore.exists():
        # written whole under a private name, then renamed into place: never seen half-written,
        # and streams starting at once each put the same text there
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".gitignore.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write("# br-tui's stream worktrees: never part of the repository\n*\n")
            os.replace(tmp, ignore)
        except BaseException:
            os.unlink(tmp)
            raise
    return root


def session_dir(repo: str | Path, session_id: str) -> Path:
    path = worktrees_root(repo) / session_id
    path.mkdir(exist_ok=True, mode=0o700)
    return path


def stream_rows(plan: Plan, session_id: str, stamp: str) -> list[Op]:
    """The `streams` rows of a new session, written in the session's own commit.

    Records the base commit and the default target (the branch checked out now), which is
    what "when the session was created" means for every later task and checkpoint.
    """
    if not plan.streams:
        return []
    repo = git.toplevel(plan.base_dir)
    if repo is None:
        raise PlanError(plan.path, plan.streams[0].line, "streams need a git repository")
    head = git.rev(repo, "HEAD")
    if head is None:
        raise PlanError(plan.path, plan.streams[0].line, "streams need a commit to start from")
    target = git.current_branch(repo)
    ops = []
    for spec in plan.streams:
        base = head
        if spec.base:
            base = git.rev(repo, spec.base)
            if base is None:
                raise PlanError(
                    plan.path, spec.line, f"stream {spec.id}: base '{spec.base}' is not a commit"
                )
        branch = spec.branch or f"br/{session_id}/{spec.id}"
        if git.rev(repo, f"refs/heads/{branch}") is not None:
            raise PlanError(plan.path, spec.line, f"stream {spec.id}: branch '{branch}' exists")
        worktree = repo / WORKTREES_DIR / session_id / spec.id
        ops.append(
            insert_stream_op(
                {
                    "session_id": session_id,
                    "id": spec.id,
                    "repo": str(repo),
                    "branch": branch,
                    "worktree": str(worktree),
                    "base": base,
                    "target": target,
                    "state": StreamState.PENDING,
                    "spec": _spec_json(spec),
                    "created_at": stamp,
                }
            )
        )
    return ops


def _spec_json(spec: StreamSpec) -> str:
    import json

    return json.dumps(spec.to_json())


@dataclass(slots=True)
class Prepared:
    path: Path
    created: bool  # a new worktree (else an existing one reused)
    setup_ran: bool
    copied: list[str]


def ensure_worktree(row: dict[str, Any]) -> Prepared:
    """The stream's worktree, made if missing; the same directory on every resume."""
    import json

    repo, path, branch = Path(row["repo"]), Path(row["worktree"]), row["branch"]
    spec = StreamSpec.from_json(json.loads(row["spec"] or "{}") | {"id": row["id"]})
    created = False
    with git.worktree_admin(repo):
        registered = {Path(w.get("worktree", "")) for w in git.worktrees(repo)}
        if path in registered and path.exists():
            pass  # resume: same worktree, same branch, whatever the user's checkout is doing
        else:
            session_dir(repo, row["session_id"])
            if path in registered:  # registered but its directory is gone: forget it first
                git.run(repo, "worktree", "prune")
            if git.rev(repo, f"refs/heads/{branch}") is not None:
                git.run(repo, "worktree", "add", "-q", str(path), branch)  # keep its commits
            else:
                git.run(repo, "worktree", "add", "-q", "-b", branch, str(path), row["base"])
            created = True
    copied = copy_includes(repo, path, spec.include) if created else []
    setup_ran = False
    if spec.setup and not row.get("setup_done"):
        run_setup(path, spec.setup)
        setup_ran = True
    return Prepared(path, created, setup_ran, copied)


def clear_stale_lock(path: Path) -> bool:
    """Remove the worktree's `index.lock` left by a git command killed with its owner (kill -9
    mid-commit). Called once per owner per stream, while it holds the stream: no br-tui git
    command can be running there."""
    gitdir = Path(git.out(path, "rev-parse", "--absolute-git-dir"))
    lock = gitdir / "index.lock"
    if lock.exists():
        lock.unlink()
        return True
    return False


def run_setup(path: Path, command: str) -> None:
    try:
        proc = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=SETUP_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise StreamError(f"setup timed out after {SETUP_TIMEOUT_S:.0f}s: {command}") from None
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise StreamError(
            f"setup failed (exit {proc.returncode}): {command}"
            + (f": {' '.join(tail)}" if tail else "")
        )


def include_patterns(repo: Path, include: tuple[str, ...] | list[str]) -> list[str]:
    patterns = list(include)
    wi = repo / ".worktreeinclude"
    if wi.is_file():
        for line in wi.read_text(errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line)
    return patterns


def copy_includes(repo: Path, dest: Path, include: tuple[str, ...] | list[str]) -> list[str]:
    """Copy the gitignored files that `include` or `.worktreeinclude` name (gitignore syntax,
    matched by git itself) from the user's checkout into a new worktree."""
    patterns = include_patterns(repo, include)
    if not patterns:
        return []
    with tempfile.NamedTemporaryFile("w", suffix=".include", delete=False) as fh:
        fh.write("\n".join(patterns) + "\n")
        listing = fh.name
    try:  # one walk of the tree: the untracked files the patterns name...
        named = git.run(
            repo, "ls-files", "-z", "--others", "--ignored", f"--exclude-from={listing}"
        ).stdout
    finally:
        os.unlink(listing)
    if not named:
        return []
    # ...of which the repository ignores these (only the named paths are checked)
    ignored = set(git.z_paths(git.run(repo, "check-ignore", "-z", "--stdin", input=named,
                                      check=False).stdout))  # fmt: skip
    copied = []
    for rel in sorted(ignored):
        if rel.startswith(".buildrunner/"):
            continue
        src, dst = repo / rel, dest / rel
        if not src.is_file() or dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        copied.append(rel)
    return copied


def integration_worktree(repo: Path, session_id: str, commit: str) -> Path:
    """The session's integration worktree, detached at `commit` and clean: where checkpoints
    merge and gates run, never in anyone's checkout."""
    path = session_dir(repo, session_id) / INTEGRATION
    with git.worktree_admin(repo):
        registered = {Path(w.get("worktree", "")) for w in git.worktrees(repo)}
        if path not in registered or not path.exists():
            if path in registered:
                git.run(repo, "worktree", "prune")
            if path.exists():
                shutil.rmtree(path)
            git.run(repo, "worktree", "add", "-q", "--detach", str(path), commit)
            return path
    for abort in (("merge", "--abort"), ("rebase", "--abort"), ("cherry-pick", "--abort")):
        git.run(path, *abort, check=False)
    git.run(path, "checkout", "-q", "--detach", "-f", commit)
    git.run(path, "reset", "-q", "--hard", commit)
    git.run(path, "clean", "-q", "-fdx")
    return path
