"""Event listing and export (CSV or JSON lines, chosen by the file's extension).

Stored events are masked already; every string is masked again on the way out anyway, so an
export from a database written by an older version (or by hand) can't leak what it holds.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.events import Level
from engine.security.masking import redact
from engine.store.private import open_private
from engine.store.queryable import Queryable
from engine.telemetry.collector import LEVEL_ORDER

COLUMNS = ("id", "ts", "type", "level", "session_id", "task_id", "worker_id", "data", "v")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def event_query(
    *,
    type: str | None = None,
    session: str | None = None,
    since: str | None = None,
    min_level: Level | str | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> tuple[str, list[Any]]:
    """SQL for events matching the CLI's filters. `type` without a dot is a family
    (`task` = every `task.*`); `session` may be an id prefix."""
    sql = f"SELECT {', '.join(COLUMNS)} FROM events WHERE 1=1"
    params: list[Any] = []
    if type:
        if "." in type:
            sql += " AND type = ?"
            params.append(type)
        else:
            sql += " AND type >= ? AND type < ?"  # a range the type index can serve
            params += [f"{type}.", f"{type}/"]
    if session:
        sql += " AND session_id >= ? AND session_id < ?"
        params += [session, session + "\U0010ffff"]
    if since:
        sql += " AND ts >= ?"
        params.append(since)
    if min_level:
        floor = LEVEL_ORDER[Level(min_level)]
        wanted = [str(lv) for lv, rank in LEVEL_ORDER.items() if rank >= floor]
        sql += f" AND level IN ({', '.join('?' * len(wanted))})"
        params += wanted
    sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def clean(row: dict[str, Any]) -> dict[str, Any]:
    """One event as it leaves the database: strings masked, `data` parsed."""
    out = {k: redact(v) if isinstance(v, str) else v for k, v in row.items()}
    try:
        out["data"] = json.loads(out.get("data") or "{}")
    except json.JSONDecodeError:
        pass
    return out


def iter_events(db: Queryable, **filters: Any) -> Iterator[dict[str, Any]]:
    sql, params = event_query(**filters)
    for row in db.query(sql, params):
        yield clean(row)


def export_events(db: Queryable, path: str | Path, **filters: Any) -> int:
    """Write matching events to `path` (.csv or .jsonl); returns how many were written."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown export format (use .csv or .jsonl)")
    n = 0
    with open_private(path, "w") as fh:
        if fmt == "csv":
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            for ev in iter_events(db, **filters):
                writer.writerow({**ev, "data": json.dumps(ev["data"], sort_keys=True)})
                n += 1
        else:
            for ev in iter_events(db, **filters):
                fh.write(json.dumps(ev, sort_keys=True) + "\n")
                n += 1
    return n
