"""Opening the database: one place that sets pragmas and applies migrations.

WAL and `synchronous=NORMAL` are set once here, outside any transaction: WAL survives a killed
process without losing commits, and NORMAL makes a commit ~10x cheaper than FULL (FIELD-NOTES).
"""

from __future__ import annotations

import fcntl
import math
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

from engine import clock
from engine.store.health import CHEAP_CHECK_BYTES, DamagedDatabase, check_intact
from engine.store.private import open_private, private_dir, private_file

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 10.0
DEFAULT_DB = Path(".buildrunner") / "br.db"


class StoreError(Exception):
    """The database can't be opened or used (corrupt, not a database, unwritable)."""


def now_iso() -> str:
    """ISO-8601 UTC with microseconds: sortable as text, exact enough to order attempts."""
    return iso_from_ts(clock.now())


#: (whole second, its "YYYY-MM-DDTHH:MM:SS" text): one tuple, swapped whole, so threads never
#: pair a second with another second's text.
_second: tuple[int, str] = (0, "1970-01-01T00:00:00")
#: Seconds of 1000-01-01 and 10000-01-01 UTC: outside them, `datetime` formats (or refuses).
_FOUR_DIGIT_YEARS = (-30_610_224_000, 253_402_300_800)


def iso_from_ts(ts: float) -> str:
    """`datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")`, same rounding, at
    a third of the cost: every event, output line and state change carries one, and most of
    them fall in the same second as the one before."""
    global _second
    frac, whole = math.modf(ts)
    us, sec = round(frac * 1e6), int(whole)
    if us >= 1_000_000:
        sec, us = sec + 1, us - 1_000_000
    elif us < 0:
        sec, us = sec - 1, us + 1_000_000
    if not _FOUR_DIGIT_YEARS[0] <= sec < _FOUR_DIGIT_YEARS[1]:  # strftime won't pad or refuse
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")
    cached = _second
    if cached[0] != sec:
        cached = _second = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
    return f"{cached[1]}.{us:06d}+00:00"


def resolve_db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--db PATH` beats `BR_DB`, which beats `./.buildrunner/br.db`."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("BR_DB")
    return Path(env) if env else DEFAULT_DB


def _split_statements(sql: str) -> list[str]:
    """Split a script at statement ends SQLite itself recognises (safe for triggers)."""
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf)
            buf = ""
    if buf.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()
    ):
        out.append(buf)
    return out


def _migration_set() -> Migrations:
    migrations = Migrations("br")
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        statements = _split_statements(path.read_text())

        def apply(db: sqlite_utils.Database, statements: list[str] = statements) -> None:
            for statement in statements:
                db.execute(statement)

        migrations(name=path.stem)(apply)
    return migrations


def connect(path: str | os.PathLike[str], *, readonly: bool = False) -> sqlite_utils.Database:
    """A new connection for the calling thread (sqlite-utils connections are thread-bound)."""
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S)
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        if readonly:
            conn.execute("PRAGMA query_only=ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open database: {exc}") from exc
    return sqlite_utils.Database(conn, execute_plugins=False)


def open_db(path: str | os.PathLike[str]) -> sqlite_utils.Database:
    """Create or open the database, switch it to WAL and bring its schema up to date."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise StoreError(f"{path}: is a directory, not a database file")
    existed = path.exists()
    if not existed:  # 0600 before SQLite opens it: its -wal and -shm take this file's mode
        private_file(private_dir(path.parent) / path.name)
    db = connect(path)
    try:
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            db.execute("PRAGMA journal_mode=WAL")
        check_intact(db.conn, path, CHEAP_CHECK_BYTES)
        migrations = _migration_set()
        if migrations.pending(db):
            # One migrator at a time across processes; the loser re-checks and finds nothing to do.
            with open_private(f"{path}.migrate.lock", "a") as lockfile:
                fcntl.flock(lockfile, fcntl.LOCK_EX)
                migrations.apply(db)
    except DamagedDatabase as exc:
        db.close()
        raise StoreError(str(exc)) from exc
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StoreError(f"{path}: not a usable br-tui database ({exc})") from exc
    if existed:  # ours, as proven above: made private if an older version left it readable
        private_dir(path.parent)  # tightens `.buildrunner` only; creates nothing
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if p.exists():
                private_file(p)
    return db
