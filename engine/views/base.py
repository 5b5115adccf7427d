"""What every view reads through: anything that answers `query(sql, params)` with dicts."""

from __future__ import annotations

from typing import Any

from engine.store.queryable import Queryable

__all__ = ["NotFound", "Queryable", "session_row"]


class NotFound(LookupError):
    """The session asked for is not in the database (deleted meanwhile)."""


def session_row(db: Queryable, session_id: str) -> dict[str, Any]:
    for row in db.query("SELECT * FROM sessions WHERE id=?", (session_id,)):
        return row
    raise NotFound(f"unknown session '{session_id}'")
