"""The streams read model: what the CLI and the app show, answered by name.

Rows come from the database; branch heads, ahead/behind and diffs come from git at the moment
of asking (a stream's branch moves on every commit; the row keeps what br-tui last did).
Everything here blocks: the app calls it from a thread worker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.store import Store
from engine.streams import git, records

DIFF_CAP = 400_000


@dataclass(slots=True)
class StreamView:
    id: str
    branch: str
    worktree: str
    base: str
    head: str | None
    ahead: int
    behind: int
    state: str
    target: str | None
    last_commit: str  # subject of the branch's newest commit
    tasks_total: int
    tasks_done: int
    tasks_failed: int
    notice: str | None

    def to_json(self) -> dict[str, Any]:
        keys = ("id", "branch", "worktree", "base", "head", "ahead", "behind", "state")
        return {k: getattr(self, k) for k in keys}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _task_counts(store: Store, session_id: str) -> dict[str, tuple[int, int, int]]:
    counts: dict[str, list[int]] = {}
    rows = store.query(
        "SELECT json_extract(spec, '$.stream') AS stream, state, count(*) AS n FROM tasks"
        " WHERE session_id=? AND json_extract(spec, '$.stream') IS NOT NULL GROUP BY 1, 2",
        (session_id,),
    )
    for r in rows:
        c = counts.setdefault(r["stream"], [0, 0, 0])
        c[0] += r["n"]
        if r["state"] == "succeeded":
            c[1] += r["n"]
        elif r["state"] in ("failed", "cancelled"):
            c[2] += r["n"]
    return {k: (v[0], v[1], v[2]) for k, v in counts.items()}


def stream_views(store: Store, session_id: str) -> list[StreamView]:
    views = []
    counts = _task_counts(store, session_id)
    for row in records.streams(store, session_id):
        repo = Path(row["repo"])
        head = git.rev(repo, f"refs/heads/{row['branch']}") if repo.exists() else None
        ahead = behind = 0
        subject = ""
        if head and row["target"] and git.rev(repo, f"refs/heads/{row['target']}"):
            ahead, behind = git.ahead_behind(repo, row["target"], row["branch"])
        if head:
            subject = git.out(repo, "log", "-1", "--format=%h %s", head)
        total, done, failed = counts.get(row["id"], (0, 0, 0))
        state = row["state"]
        if state == "merged" and ahead:
            state = "active"  # new commits since the last checkpoint took it
        views.append(
            StreamView(
                row["id"], row["branch"], row["worktree"], row["base"], head, ahead, behind,
                state, row["target"], subject, total, done, failed, row["notice"],
            )
        )  # fmt: skip
    return views


def stream_diff(store: Store, session_id: str, stream_id: str) -> tuple[list[str], str]:
    """(files changed with their status letter, the diff) of a stream against its target's
    merge base: what a checkpoint would bring in."""
    row = records.stream(store, session_id, stream_id)
    if row is None:
        return [], ""
    repo = Path(row["repo"])
    head = git.rev(repo, f"refs/heads/{row['branch']}")
    if head is None:
        return [], "(no worktree yet: the stream's first task makes it)"
    against = row["target"] if row["target"] and git.rev(repo, row["target"]) else row["base"]
    spec = f"{against}...{head}"
    files = git.out(repo, "diff", "--name-status", spec).splitlines()
    text = git.run(repo, "diff", "--no-color", "--stat", "-p", spec).stdout.decode(
        "utf-8", "replace"
    )
    if len(text) > DIFF_CAP:
        text = text[:DIFF_CAP] + "\n…(diff cut)"
    return files, text


def decision_views(store: Store, session_id: str) -> list[dict[str, Any]]:
    return records.decisions(store, session_id)


def checkpoint_views(store: Store, session_id: str) -> list[dict[str, Any]]:
    """Checkpoints newest first, each with its gates (without their output)."""
    out = []
    for c in records.checkpoints(store, session_id):
        gates = [
            {k: g[k] for k in ("id", "name", "kind", "status", "exit_code", "coverage", "floor")}
            for g in records.gate_results(store, c["id"])
        ]
        out.append({**c, "gates": gates})
    return out


def gate_output(store: Store, gate_result_id: int) -> str:
    rows = store.query("SELECT output FROM gate_results WHERE id=?", (gate_result_id,))
    return rows[0]["output"] if rows else ""


def sessions_with_streams(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    return store.query(
        "SELECT s.id, s.name, s.status, s.created_at FROM sessions s WHERE EXISTS"
        " (SELECT 1 FROM streams st WHERE st.session_id = s.id)"
        " ORDER BY s.created_at DESC LIMIT ?",
        (limit,),
    )


@dataclass(slots=True)
class Overview:
    """Everything the Streams screen shows for one session."""

    session: dict[str, Any] | None
    streams: list[StreamView]
    decisions: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]
    sessions: list[dict[str, Any]]  # sessions that have streams, newest first


def overview(store: Store, session_id: str | None = None) -> Overview:
    """One session's streams, decisions and checkpoints: `session_id`, else the newest
    session that has streams."""
    sessions = sessions_with_streams(store)
    session = next((s for s in sessions if s["id"] == session_id), None)
    if session is None and sessions:
        session = sessions[0]
    if session is None:
        return Overview(None, [], [], [], sessions)
    sid = session["id"]
    return Overview(
        session, stream_views(store, sid), decision_views(store, sid),
        checkpoint_views(store, sid), sessions,
    )  # fmt: skip
