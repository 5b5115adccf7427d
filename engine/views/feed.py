"""A session's event log and a task's output, read incrementally: what the Feed screen shows,
and how the app notices that any process wrote something."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.store.queryable import Queryable
from engine.views import sessions as _sessions

Row = dict[str, Any]
_EVENT_COLUMNS = "id, ts, type, level, task_id, worker_id, data"


@dataclass(slots=True)
class Feed:
    """A session, its tasks, and its events after a cursor (or the most recent ones)."""

    session: Row | None
    tasks: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)


def feed(
    db: Queryable, session_id: str | None, *, after_event: int, cap: int, recent: int = 50
) -> Feed:
    """`session_id` None: the current session (`sessions.current_session_id`). Events after
    id `after_event`, at most `cap`; with `after_event` 0, the last `cap` of them."""
    ids = _sessions.session_ids(db, recent)
    sid = session_id or _sessions.current_session_id(db)
    if sid is None:
        return Feed(None)
    session = _sessions.find_session(db, sid)
    if session is None:
        return Feed(None)
    tasks = list(
        db.query(
            "SELECT id, state, started_at, ended_at, duration_s FROM tasks WHERE session_id=?"
            " ORDER BY seq",
            (sid,),
        )
    )
    if after_event == 0:  # first read: the recent past, not the whole history
        events = db.query(
            f"SELECT * FROM (SELECT {_EVENT_COLUMNS} FROM events"
            " WHERE session_id=? ORDER BY id DESC LIMIT ?) ORDER BY id",
            (sid, cap),
        )
    else:
        events = db.query(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE session_id=? AND id>? ORDER BY id LIMIT ?",
            (sid, after_event, cap),
        )
    return Feed(session, tasks, list(events), ids)


def output_tail(db: Queryable, session_id: str, task_id: str, lines: int) -> list[Row]:
    """The last `lines` output rows (seq, line) of a task, oldest first."""
    return list(
        db.query(
            "SELECT * FROM (SELECT seq, line FROM output WHERE session_id=? AND task_id=?"
            " ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            (session_id, task_id, lines),
        )
    )


def output_after(
    db: Queryable, session_id: str, task_id: str, after_seq: int, limit: int
) -> list[Row]:
    """A task's output rows (seq, line) after `after_seq`, at most `limit`."""
    return list(
        db.query(
            "SELECT seq, line FROM output WHERE session_id=? AND task_id=? AND seq>?"
            " ORDER BY seq LIMIT ?",
            (session_id, task_id, after_seq, limit),
        )
    )


def activity(db: Queryable) -> tuple[int, int]:
    """The newest event id and output id: two primary-key max()es, to notice writes."""
    for row in db.query(
        "SELECT (SELECT max(id) FROM events) AS e, (SELECT max(id) FROM output) AS o"
    ):
        return row["e"] or 0, row["o"] or 0
    return 0, 0


def event_types_between(db: Queryable, after: int, upto: int) -> list[str]:
    """The distinct types of events with ids in (after, upto]."""
    return [
        r["type"]
        for r in db.query(
            "SELECT DISTINCT type FROM events WHERE id > ? AND id <= ?", (after, upto)
        )
    ]
