"""Sessions, their tasks and their cost: what the Sessions and Feed screens and the `list` /
`status` verbs show. Rows are the stored columns by name (dicts straight from SQLite: the app
re-reads them several times a second, and a dataclass per row would double the cost)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.store.queryable import Queryable

Row = dict[str, Any]

#: The task columns the screens show.
_TASK_COLUMNS = (
    "id, state, worker_id, attempts, duration_s, started_at, ended_at, exit_code, reason"
)


def recent_sessions(db: Queryable, limit: int | None = None) -> list[Row]:
    """Every column of the newest sessions, newest first."""
    sql = "SELECT * FROM sessions ORDER BY created_at DESC, rowid DESC"
    return list(db.query(sql + " LIMIT ?", (limit,)) if limit else db.query(sql))


def session_ids(db: Queryable, limit: int) -> list[str]:
    return [
        r["id"]
        for r in db.query(
            "SELECT id FROM sessions ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        )
    ]


def current_session_id(db: Queryable) -> str | None:
    """The session a screen shows when none was picked: the newest active one, else the
    newest."""
    for r in db.query(
        "SELECT id FROM sessions ORDER BY (status IN ('running','paused')) DESC,"
        " created_at DESC, rowid DESC LIMIT 1"
    ):
        return str(r["id"])
    return None


def find_session(db: Queryable, session_id: str) -> Row | None:
    for r in db.query("SELECT * FROM sessions WHERE id=?", (session_id,)):
        return r
    return None


def session_costs(db: Queryable) -> dict[str, float]:
    """Agent spend per session (sessions without agent calls are absent)."""
    return {
        r["session_id"]: r["c"]
        for r in db.query(
            "SELECT session_id, sum(cost_usd) AS c FROM agent_calls"
            " WHERE session_id IS NOT NULL GROUP BY session_id"
        )
    }


def tasks(db: Queryable, session_id: str) -> list[Row]:
    """A session's tasks in plan order: state, worker, tries, times, exit, reason."""
    return list(
        db.query(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE session_id=? ORDER BY seq", (session_id,)
        )
    )


@dataclass(slots=True)
class SessionsPage:
    """The Sessions screen: the newest sessions with their cost, and one session's tasks."""

    sessions: list[Row]
    costs: dict[str, float]
    tasks_of: str | None = None
    tasks: list[Row] = field(default_factory=list)


def sessions_page(db: Queryable, selected: str | None, limit: int) -> SessionsPage:
    rows = recent_sessions(db, limit)
    page = SessionsPage(rows, session_costs(db))
    sid = selected or (rows[0]["id"] if rows else None)
    if sid is not None:
        page.tasks_of = sid
        page.tasks = tasks(db, sid)
    return page


def sessions_since(db: Queryable, since: str) -> list[str]:
    """Sessions that ended at or after `since`, or are still active, oldest first."""
    return [
        r["id"]
        for r in db.query(
            "SELECT id FROM sessions WHERE coalesce(ended_at, '') >= ? OR status IN"
            " ('running', 'paused') ORDER BY created_at",
            (since,),
        )
    ]


def session_config(db: Queryable, session_id: str | None) -> tuple[str, str] | None:
    """(id, stored plan config JSON) of that session, or of the newest when None."""
    for r in db.query(
        "SELECT id, config FROM sessions WHERE id=? OR ? IS NULL ORDER BY created_at DESC LIMIT 1",
        (session_id, session_id),
    ):
        return r["id"], r["config"] or "{}"
    return None
