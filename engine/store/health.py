"""Is the database intact? A damaged page must end a command with one line, not partial numbers.

SQLite reports a damaged page only when a query walks into it: `list` may pass while `status`
fails with a traceback, and an aggregate can silently skip what it can't read. `PRAGMA
quick_check` walks every page (without cross-checking indexes against tables: the cheap half
of `integrity_check`), ~0.7 ms per MB here with the file in the page cache. Opening a database
checks it when that is cheap (up to `CHEAP_CHECK_BYTES`); readers that aggregate the whole file
anyway (`telemetry summary`) check it whatever its size.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

CHEAP_CHECK_BYTES = 8 * 1024 * 1024  # ~6 ms at most, against ~100 ms of interpreter start


class DamagedDatabase(sqlite3.DatabaseError):
    """quick_check found damage; the message is one line naming the file and what to do."""


def describe(path: str | os.PathLike[str], detail: str) -> str:
    first = " ".join(detail.split())[:160]
    return (
        f"{path}: the database is damaged ({first}); `sqlite3 {path} .recover` salvages what"
        " is readable"
    )


def check_intact(
    conn: sqlite3.Connection, path: str | os.PathLike[str], max_bytes: int | None = None
) -> None:
    """Raise DamagedDatabase unless `PRAGMA quick_check` says ok (skipped above `max_bytes`)."""
    if max_bytes is not None:
        try:
            size = Path(path).stat().st_size
        except OSError:
            size = 0
        if size > max_bytes:
            return
    try:
        row = conn.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DamagedDatabase(describe(path, str(exc))) from exc
    if row is None or row[0] != "ok":
        raise DamagedDatabase(describe(path, str(row[0] if row else "no answer")))
