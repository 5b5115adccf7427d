"""Worktree administration is serialised per repository.

`git worktree add` writes a new worktree's `commondir` after creating the file, and any git
command walking `.git/worktrees/` in between dies on the empty file ("failed to read
.../commondir: Success"). Streams start in parallel, so br-tui holds one lock per repository
around every command that adds, prunes, removes or lists worktrees. These tests hold that lock
from outside and check that a stream's worktree waits for it, in a thread and in another
process, and that a holder killed with SIGKILL does not leave it held.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from engine.streams import git as engine_git
from engine.streams.worktrees import ensure_worktree, integration_worktree
from tests.streams_helpers import env as child_env
from tests.streams_helpers import git, make_repo

# Long enough for an unlocked `git worktree add` to finish many times over; the checks below
# can only pass wrongly on a machine slower than this, never fail wrongly.
BLOCKED_FOR_S = 1.0


def stream_row(repo: Path, name: str) -> dict[str, object]:
    return {
        "session_id": "s1",
        "id": name,
        "repo": str(repo),
        "branch": f"br/s1/{name}",
        "worktree": str(repo / ".buildrunner" / "worktrees" / "s1" / name),
        "base": git(repo, "rev-parse", "HEAD"),
        "spec": json.dumps({}),
        "setup_done": 0,
    }


def start(target, *args) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(target(*args))
        except Exception as exc:  # surfaced by the assertions below
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_a_stream_worktree_waits_for_the_repository_lock_held_in_this_process(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    row = stream_row(repo, "api")
    with engine_git.worktree_admin(repo):
        thread, result = start(ensure_worktree, row)
        thread.join(BLOCKED_FOR_S)
        assert thread.is_alive(), "the worktree was added while another holder had the lock"
        assert not Path(str(row["worktree"])).exists()
    thread.join(60)
    assert not thread.is_alive()
    (made,) = result
    assert not isinstance(made, Exception), made
    assert made.created and made.path.is_dir()
    assert git(made.path, "symbolic-ref", "--short", "HEAD") == "br/s1/api"


def test_the_lock_is_reentrant_so_listing_inside_it_does_not_deadlock(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    with engine_git.worktree_admin(repo), engine_git.worktree_admin(repo / "."):
        listed = engine_git.worktrees(repo)
        made = ensure_worktree(stream_row(repo, "cli"))
        tree = integration_worktree(repo, "s1", git(repo, "rev-parse", "HEAD"))
    assert Path(listed[0]["worktree"]) == repo.resolve()
    assert {Path(w["worktree"]) for w in engine_git.worktrees(repo)} >= {made.path, tree}


def test_the_lock_is_shared_with_other_processes_and_freed_when_its_holder_is_killed(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    worktree = repo / ".buildrunner" / "worktrees" / "s1" / "docs"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from engine.streams.git import worktree_admin\n"
         "with worktree_admin(sys.argv[1]):\n"
         "    print('held', flush=True)\n"
         "    time.sleep(600)\n",
         str(repo)],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        thread, result = start(ensure_worktree, stream_row(repo, "docs"))
        thread.join(BLOCKED_FOR_S)
        assert thread.is_alive(), "the worktree was added while another process had the lock"
        assert not worktree.exists()
        os.kill(holder.pid, signal.SIGKILL)  # the kernel drops an flock with its owner
        thread.join(60)
        assert not thread.is_alive()
        assert not isinstance(result[0], Exception), result[0]
        assert worktree.is_dir()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_streams_started_together_all_get_their_worktrees(tmp_path: Path) -> None:
    """The race that broke CI: several `git worktree add` at once in one repository."""
    repo = make_repo(tmp_path / "repo")
    rows = [stream_row(repo, f"s{i}") for i in range(6)]
    started = [start(ensure_worktree, row) for row in rows]
    for thread, _ in started:
        thread.join(120)
    outcomes = [result[0] for _, result in started]
    assert not [o for o in outcomes if isinstance(o, Exception)]
    registered = {Path(w["worktree"]) for w in engine_git.worktrees(repo)}
    assert {Path(str(r["worktree"])) for r in rows} <= registered
