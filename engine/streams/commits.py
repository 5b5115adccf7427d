"""A commit per stream task that changed files: a crash loses at most the running task.

The subject names the task (and its outcome when it did not succeed); the body carries the
agent's summary (its last output lines, already masked by the store) and trailers that tie the
commit to the session. Commits skip the repository's hooks (`--no-verify`): the checkpoint's
gates are where work is judged, and a hook that refused would strand the work uncommitted.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.streams import git

SUMMARY_LINES = 20


@dataclass(slots=True)
class TaskCommit:
    sha: str
    files: list[str]
    subject: str


def commit_message(
    task_id: str, status: str, summary: str, session_id: str, stream_id: str, title: str = ""
) -> str:
    subject = f"br-tui: task {task_id}"
    if title:
        subject += f" — {title}"
    if status != "succeeded":
        subject += f" ({status})"
    if len(subject) > 120:
        subject = subject[:117] + "..."
    body = summary.strip()
    trailers = f"BR-Session: {session_id}\nBR-Stream: {stream_id}\nBR-Task: {task_id}"
    return f"{subject}\n\n{body}\n\n{trailers}\n" if body else f"{subject}\n\n{trailers}\n"


def commit_task(
    worktree: str | Path,
    *,
    session_id: str,
    stream_id: str,
    task_id: str,
    status: str = "succeeded",
    summary: str = "",
    title: str = "",
) -> TaskCommit | None:
    """Commit everything the task changed in the worktree; None when it changed nothing."""
    git.run(worktree, "add", "-A")
    files = git.z_paths(git.run(worktree, "diff", "--cached", "--name-only", "-z").stdout)
    if not files:
        return None
    message = commit_message(task_id, status, summary, session_id, stream_id, title)
    with tempfile.NamedTemporaryFile("w", suffix=".msg", encoding="utf-8") as fh:
        fh.write(message)
        fh.flush()
        git.run(
            worktree,
            "commit",
            "-q",
            "--no-verify",
            "--no-gpg-sign",
            "-F",
            fh.name,
            env=git.identity(worktree),
        )
    sha = git.out(worktree, "rev-parse", "HEAD")
    return TaskCommit(sha, files, message.splitlines()[0])


def title_of(text: str | None, limit: int = 60) -> str:
    """A one-line title from a task's prompt or command."""
    if not text:
        return ""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
