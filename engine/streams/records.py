"""The rows of the streams tables: every read and write of them goes through here.

Writes go through the store's writer (masked, batched, committed before subscribers hear of
them); each state change carries its event in the same commit.
"""

from __future__ import annotations

import json
from typing import Any

from engine.events import Event, EventType
from engine.store import Store, now_iso

Op = tuple[str, tuple[Any, ...]]


class StreamState:
    PENDING = "pending"  # declared; no worktree yet (its first task makes it)
    ACTIVE = "active"
    CONFLICT = "conflict"
    GATE_FAILED = "gate_failed"
    MERGED = "merged"  # everything it committed is in the target
    REMOVED = "removed"  # worktree and branch cleaned up


def insert_stream_op(row: dict[str, Any]) -> Op:
    cols = list(row)
    return (
        f"INSERT INTO streams ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        tuple(row[c] for c in cols),
    )


def update_stream_op(session_id: str, stream_id: str, **changes: Any) -> Op:
    changes["updated_at"] = now_iso()
    sets = ", ".join(f"{k}=?" for k in changes)
    return (
        f"UPDATE streams SET {sets} WHERE session_id=? AND id=?",
        (*changes.values(), session_id, stream_id),
    )


def streams(store: Store, session_id: str) -> list[dict[str, Any]]:
    return store.query("SELECT * FROM streams WHERE session_id=? ORDER BY rowid", (session_id,))


def stream(store: Store, session_id: str, stream_id: str) -> dict[str, Any] | None:
    rows = store.query("SELECT * FROM streams WHERE session_id=? AND id=?", (session_id, stream_id))
    return rows[0] if rows else None


def all_streams(store: Store) -> list[dict[str, Any]]:
    return store.query(
        "SELECT st.*, s.status AS session_status FROM streams st"
        " LEFT JOIN sessions s ON s.id = st.session_id ORDER BY st.created_at"
    )


def session_row(store: Store, session_id: str) -> dict[str, Any] | None:
    rows = store.query("SELECT * FROM sessions WHERE id=?", (session_id,))
    return rows[0] if rows else None


def streams_config(session: dict[str, Any]) -> dict[str, Any]:
    """The plan's stream, checkpoint and gate tables, as stored with the session."""
    return json.loads(session.get("config") or "{}").get("streams") or {}


# -- checkpoints and gates ---------------------------------------------------------------------


def start_checkpoint(
    store: Store, session_id: str, name: str, repo: str, target: str, strategy: str
) -> int:
    def insert(db: Any) -> int:
        cur = db.execute(
            "INSERT INTO checkpoints (session_id, name, repo, target, strategy, status,"
            " started_at) VALUES (?,?,?,?,?,?,?)",
            (session_id, name, repo, target, strategy, "running", now_iso()),
        )
        return int(cur.lastrowid)

    cid = store.call(insert).result()
    store.write(
        events=[
            Event(EventType.CHECKPOINT_STARTED, session_id, None if name == "manual" else name,
                  data={"checkpoint": name, "target": target, "strategy": strategy})
        ]
    )  # fmt: skip
    return cid


def finish_checkpoint_op(
    checkpoint_id: int,
    status: str,
    *,
    target_before: str | None,
    merged_commit: str | None,
    streams: dict[str, str],
    conflicts: list[dict[str, Any]],
    message: str | None,
) -> Op:
    return (
        "UPDATE checkpoints SET status=?, target_before=?, merged_commit=?, streams=?,"
        " conflicts=?, message=?, ended_at=? WHERE id=?",
        (
            status,
            target_before,
            merged_commit,
            json.dumps(streams),
            json.dumps(conflicts),
            message,
            now_iso(),
            checkpoint_id,
        ),
    )


def gate_result_op(row: dict[str, Any]) -> Op:
    cols = list(row)
    return (
        f"INSERT INTO gate_results ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        tuple(row[c] for c in cols),
    )


def checkpoints(store: Store, session_id: str, limit: int = 50) -> list[dict[str, Any]]:
    return store.query(
        "SELECT * FROM checkpoints WHERE session_id=? ORDER BY id DESC LIMIT ?",
        (session_id, limit),
    )


def gate_results(store: Store, checkpoint_id: int) -> list[dict[str, Any]]:
    return store.query(
        "SELECT * FROM gate_results WHERE checkpoint_id=? ORDER BY id", (checkpoint_id,)
    )


def coverage_floor(store: Store, repo: str, target: str, gate: str) -> float | None:
    """The coverage of the last passing checkpoint's gate of this name on this target: the
    ratchet a new checkpoint may not drop below."""
    rows = store.query(
        "SELECT coverage FROM gate_results WHERE repo=? AND target=? AND name=? AND status='passed'"
        " AND coverage IS NOT NULL ORDER BY id DESC LIMIT 1",
        (repo, target, gate),
    )
    return rows[0]["coverage"] if rows else None


def merged_checkpoints_after(
    store: Store, session_id: str, stream_id: str, after_id: int | None
) -> list[dict[str, Any]]:
    """Merged checkpoints of the session that took this stream, newer than `after_id`."""
    rows = store.query(
        "SELECT * FROM checkpoints WHERE session_id=? AND status='merged' AND id>? ORDER BY id",
        (session_id, after_id or 0),
    )
    return [r for r in rows if stream_id in json.loads(r["streams"] or "{}")]


def latest_merge(store: Store, session_id: str, target: str | None) -> dict[str, Any] | None:
    """The session's newest merged checkpoint into `target`."""
    rows = store.query(
        "SELECT * FROM checkpoints WHERE session_id=? AND target=? AND status='merged'"
        " ORDER BY id DESC LIMIT 1",
        (session_id, target),
    )
    return rows[0] if rows else None


# -- decisions ---------------------------------------------------------------------------------


def decision_write(
    store: Store,
    session_id: str,
    text: str,
    *,
    author: str,
    task_id: str | None = None,
    stream_id: str | None = None,
) -> None:
    stamp = now_iso()
    store.write(
        [
            (
                "INSERT INTO decisions (session_id, ts, text, task_id, stream_id, author)"
                " VALUES (?,?,?,?,?,?)",
                (session_id, stamp, text, task_id, stream_id, author),
            )
        ],
        [
            Event(EventType.DECISION_ADDED, session_id, task_id,
                  data={"text": text, "author": author, "stream": stream_id})
        ],
    )  # fmt: skip


def decisions(store: Store, session_id: str) -> list[dict[str, Any]]:
    return store.query(
        "SELECT id, ts, text, task_id, stream_id, author FROM decisions WHERE session_id=?"
        " ORDER BY id",
        (session_id,),
    )
