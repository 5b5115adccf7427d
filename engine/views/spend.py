"""Agent spend by model, session and day, and a session's budgets: the Costs screen."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.store.queryable import Queryable
from engine.views.sessions import session_config

#: Sessions listed by spend at most.
SESSIONS_SHOWN = 50


@dataclass(slots=True)
class Spend:
    by_model: list[dict[str, Any]]
    by_session: list[dict[str, Any]]
    by_day: list[dict[str, Any]]
    budgets: list[Any] = field(default_factory=list)  # routing.BudgetState, per budget set
    budget_session: str | None = None  # whose budgets (the session asked for, or the newest)
    routing: Any = None  # engine.routing.RoutingNotes: levels routed up, recent escalations


def spend(db: Queryable, session_id: str | None, now: datetime) -> Spend:
    from engine.routing import Budgets, budget_status, routing_notes, spend_by

    out = Spend(
        spend_by(db, "model"),
        spend_by(db, "session")[:SESSIONS_SHOWN],
        spend_by(db, "day", now=now),
        routing=routing_notes(db, now=now),
    )
    found = session_config(db, session_id)
    if found is not None:
        sid, config = found
        try:
            budgets = Budgets.from_config(json.loads(config).get("budget"))
        except ValueError:
            budgets = Budgets()
        out.budgets = budget_status(db, budgets, session_id=sid, now=now)
        out.budget_session = sid
    return out
