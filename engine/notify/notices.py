"""What a notification says: one `Notice` per transition, built from its event, masked.

A session ends once, an alert is raised once per episode (and again when it gets worse), a
budget stops agent tasks once per session and budget: `Seen` keeps a notice from repeating when
the same transition is published more than once (every refused task of an exhausted budget, say).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.notify.config import KINDS, NotifyConfig
from engine.security.masking import redact
from engine.store.queryable import Queryable
from engine.telemetry.metrics import rows


@dataclass(frozen=True)
class Notice:
    kind: str  # session_failed, budget_stop, ...
    session: str  # the session id ("" for an alert about no one session)
    name: str  # the session's name, when there is one
    status: str  # the session's status, the alert's level, "exhausted", ...
    summary: str  # one line, masked
    severity: str  # information | warning | error (Textual's toast severities)

    @property
    def title(self) -> str:
        who = f"{self.name} ({self.session})" if self.name else self.session
        return f"br-tui: {who} {self.kind.replace('_', ' ')}".replace("  ", " ")

    def fields(self) -> dict[str, str]:
        """The command's placeholders."""
        return {
            "session": self.session,
            "name": self.name,
            "event": self.kind,
            "status": self.status,
            "summary": self.summary,
        }


def _data(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        out = json.loads(raw or "{}")
    except (TypeError, json.JSONDecodeError):
        return {}
    return out if isinstance(out, dict) else {}


def _session(db: Queryable, session_id: str | None) -> dict[str, Any]:
    if not session_id:
        return {}
    found = rows(
        db,
        "SELECT id, name, status, reason, total, succeeded, failed, cancelled FROM sessions"
        " WHERE id = ?",
        (session_id,),
    )
    return found[0] if found else {}


def describe(
    db: Queryable, kind: str, session_id: str | None, data: dict[str, Any] | str | None
) -> Notice:
    """The notice for one event of `kind` (reads the session's row for its counts)."""
    data = _data(data)
    row = _session(db, session_id)
    name = str(row.get("name") or "")
    if kind.startswith("session_"):
        status = str(row.get("status") or KINDS[kind].split(".", 1)[1])
        summary = (
            f"{row.get('succeeded', 0)} succeeded, {row.get('failed', 0)} failed,"
            f" {row.get('cancelled', 0)} cancelled of {row.get('total', 0)}"
        )
        if row.get("reason") and kind != "session_failed":
            summary += f" ({row['reason']})"
        severity = {"session_finished": "information", "session_failed": "error"}.get(
            kind, "warning"
        )
    elif kind == "budget_stop":
        status = str(data.get("state") or "exhausted")
        spent, limit = float(data.get("spent_usd") or 0), float(data.get("limit_usd") or 0)
        summary = (
            f"{data.get('budget', '?')} budget exhausted (${spent:.2f} of ${limit:.2f});"
            " agent tasks stopped"
        )
        severity = "error"
    elif kind == "alert_raised":
        status = str(data.get("level") or data.get("to") or "warning")
        summary = str(data.get("message") or data.get("key") or "alert raised")
        severity = "error" if status in ("error", "critical") else "warning"
    else:  # checkpoint_failed and kinds to come: their own message
        status = str(data.get("status") or "failed")
        summary = str(data.get("message") or data.get("reason") or kind.replace("_", " "))
        severity = "error"
    one_line = " ".join(redact(summary).split())
    return Notice(
        kind=kind,
        session=redact(str(session_id or "")),
        name=redact(name),
        status=redact(status),
        summary=one_line[:300],
        severity=severity,
    )


class Seen:
    """Transitions already told: a session's end once, a budget's stop once per session."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, ...]] = set()

    def first(self, kind: str, session_id: str | None, data: dict[str, Any]) -> bool:
        if kind == "alert_raised":  # every raise is a transition (an episode, or a worse level)
            return True
        key: tuple[str, ...] = (kind, str(session_id or ""))
        if kind == "budget_stop":
            key += (str(data.get("budget")),)
        elif kind == "checkpoint_failed":
            key += (str(data.get("stream")), str(data.get("checkpoint") or data.get("id")))
        if key in self._keys:
            return False
        self._keys.add(key)
        return True


def notices_between(
    db: Queryable, config: NotifyConfig, after_id: int, upto_id: int, seen: Seen
) -> list[Notice]:
    """Notices for stored events with `after_id < id <= upto_id` (for a process that follows
    the database, such as the app, rather than owning the sessions)."""
    types: Iterable[str] = sorted(config.types)
    if not types:
        return []
    marks = ",".join("?" * len(config.types))
    found = rows(
        db,
        "SELECT type, level, session_id, data FROM events WHERE id > ? AND id <= ?"
        f" AND type IN ({marks}) ORDER BY id",
        (after_id, upto_id, *types),
    )
    out = []
    for r in found:
        kind = config.kind_of(r["type"])
        data = _data(r["data"])
        data.setdefault("level", r["level"])
        if kind and seen.first(kind, r["session_id"], data):
            out.append(describe(db, kind, r["session_id"], data))
    return out
