"""Worktree administration is serialised per repository.

`git worktree add` writes a new worktree's `commondir` after creating the file, and any git
command walking `.git/worktrees/` in between dies on the empty file ("failed to read
.../commondir: Success"). Streams start in parallel, so br-tui holds one lock per repository
around every command that adds, prunes, removes or lists worktrees. These tests stop a
`git worktree add` half way and try the lock from outside (no waiting on the clock), take it
from another process, and check that a holder killed with SIGKILL leaves it free.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.streams import git as engine_git
from engine.streams.worktrees import ensure_worktree, integration_worktree
from tests.streams_helpers import env as child_env
from tests.streams_helpers import git, make_repo


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


def start(target: Callable[..., object], *args: object) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(target(*args))
        except Exception as exc:  # surfaced by the assertions below
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def lock_is_free(repo: Path) -> bool:
    """Try the repository's worktree lock from a descriptor of our own, without waiting."""
    fd = os.open(repo / ".git" / engine_git.WORKTREE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also drops the lock if we got it
    return True


def test_a_worktree_is_added_while_the_repository_lock_is_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    inside, release = threading.Event(), threading.Event()
    real_run = engine_git.run

    def paused_run(cwd, *args, **kwargs):  # type: ignore[no-untyped-def]
        if args[:2] == ("worktree", "add"):
            inside.set()
            release.wait(60)
        return real_run(cwd, *args, **kwargs)

    monkeypatch.setattr(engine_git, "run", paused_run)
    row = stream_row(repo, "api")
    thread, result = start(ensure_worktree, row)
    try:
        assert inside.wait(60)
        assert not lock_is_free(repo), "git worktree add ran outside the lock"
    finally:
        release.set()
        thread.join(60)
    (made,) = result
    assert not isinstance(made, Exception), made
    assert made.created and made.path.is_dir()
    assert git(made.path, "symbolic-ref", "--short", "HEAD") == "br/s1/api"
    assert lock_is_free(repo)


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
        assert not lock_is_free(repo), "another process's lock did not exclude this one"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(60)
        assert lock_is_free(repo), "the lock outlived its killed holder"
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    made = ensure_worktree(stream_row(repo, "docs"))
    assert made.created and made.path.is_dir()


def test_a_lock_file_that_cannot_be_opened_is_one_git_error(tmp_path: Path) -> None:
    """A read-only `.git` (or anything in the lock's place) fails as git would, in one line."""
    repo = make_repo(tmp_path / "repo")
    (repo / ".git" / engine_git.WORKTREE_LOCK).mkdir()  # unopenable even for root
    with pytest.raises(engine_git.GitError, match=r"cannot open .*br-tui-worktrees\.lock"):  # noqa: SIM117
        with engine_git.worktree_admin(repo):
            pass


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
