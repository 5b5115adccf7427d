"""`br-tui cleanup` for streams: remove merged worktrees and branches, sweep orphans.

Only streams of sessions that are no longer running are touched. A stream is removed when all
its commits are in its target (or were merged by a squash/rebase checkpoint, recorded as its
`merged_head`), or when it never committed anything, and its worktree holds no uncommitted
change. Anything else is kept and reported, unless `force`: an unmerged branch is never deleted
without it. Integration worktrees are scratch space and always go. Then `git worktree prune`
forgets worktrees whose directories are gone.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from engine.store import Store
from engine.streams import git, records
from engine.streams.records import StreamState
from engine.streams.worktrees import INTEGRATION, WORKTREES_DIR

#: Session statuses whose worktrees are in use (engine.sessions.states.SessionStatus values).
LIVE = {"created", "running", "paused"}


def _merged(repo: Path, row: dict[str, Any]) -> tuple[bool, str]:
    head = git.rev(repo, f"refs/heads/{row['branch']}")
    if head is None:
        return True, "branch gone"
    if head in (row["merged_head"], row["base"]):
        return True, "merged" if head == row["merged_head"] else "no commits"
    if row["target"] and git.rev(repo, f"refs/heads/{row['target']}"):
        if git.is_ancestor(repo, head, f"refs/heads/{row['target']}"):
            return True, "merged"
        ahead, _ = git.ahead_behind(repo, row["target"], row["branch"])
        return False, f"unmerged: {ahead} commit(s) not in {row['target']}"
    return False, "unmerged: no target to compare with"


def cleanup_worktrees(
    store: Store, *, force: bool = False, dry_run: bool = False
) -> dict[str, Any]:
    removed: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    repos: set[Path] = set()
    live_sessions: dict[Path, set[str]] = {}
    ops = []
    for row in records.all_streams(store):
        repo = Path(row["repo"])
        if not (repo / ".git").exists():
            continue
        repos.add(repo)
        if row["session_status"] in LIVE:
            live_sessions.setdefault(repo, set()).add(row["session_id"])
            continue
        if row["state"] == StreamState.REMOVED:
            continue
        item = {"session_id": row["session_id"], "stream": row["id"], "branch": row["branch"],
                "worktree": row["worktree"]}  # fmt: skip
        merged, why = _merged(repo, row)
        path = Path(row["worktree"])
        dirty = path.exists() and bool(git.dirty_paths(path))
        if dirty and not merged:
            why += "; uncommitted changes in the worktree"
        elif dirty:
            merged, why = False, "uncommitted changes in the worktree"
        if not merged and not force:
            kept.append({**item, "reason": why})
            continue
        removed.append({**item, "reason": why if merged else f"forced ({why})"})
        if dry_run:
            continue
        with git.worktree_admin(repo):
            if path.exists():
                git.run(repo, "worktree", "remove", "--force", str(path), check=False)
                if path.exists():
                    shutil.rmtree(path)
            if git.rev(repo, f"refs/heads/{row['branch']}") is not None:
                git.run(repo, "branch", "-q", "-D", row["branch"])
        ops.append(
            records.update_stream_op(row["session_id"], row["id"], state=StreamState.REMOVED)
        )
    if ops:
        store.write(ops)
        store.flush()
    for repo in sorted(repos):
        _sweep(repo, live_sessions.get(repo, set()), dry_run, removed)
    return {"removed": removed, "kept": kept, "pruned": [str(r) for r in sorted(repos)]}


def _sweep(repo: Path, live: set[str], dry_run: bool, removed: list[dict[str, Any]]) -> None:
    """Integration worktrees of sessions no longer running, then `git worktree prune`."""
    root = repo / WORKTREES_DIR
    if root.is_dir():
        for session in sorted(p for p in root.iterdir() if p.is_dir()):
            if session.name in live:
                continue
            integration = session / INTEGRATION
            if integration.exists():
                removed.append(
                    {"session_id": session.name, "stream": None, "branch": None,
                     "worktree": str(integration), "reason": "integration worktree"}
                )  # fmt: skip
                if not dry_run:
                    with git.worktree_admin(repo):
                        git.run(repo, "worktree", "remove", "--force", str(integration),
                                check=False)  # fmt: skip
                        if integration.exists():
                            shutil.rmtree(integration)
            if not dry_run:
                lock = session / ".checkpoint.lock"
                if lock.exists() and len(list(session.iterdir())) == 1:
                    lock.unlink()
                try:
                    session.rmdir()  # only when nothing (no kept worktree) is left in it
                except OSError:
                    pass
    if not dry_run:
        with git.worktree_admin(repo):
            git.run(repo, "worktree", "prune", check=False)
