"""The read model: every question the app, the command line and the exit summary ask about
sessions, answered by name with typed results. Nothing outside the engine reads the schema.

Each function takes anything that answers `query(sql, params)` (a `Store`, or a sqlite-utils
`Database`) and runs where it is called: the app calls them on its reader thread.
"""

from engine.views.base import NotFound, Queryable
from engine.views.feed import Feed, activity, event_types_between, feed, output_after, output_tail
from engine.views.sessions import (
    SessionsPage,
    current_session_id,
    find_session,
    recent_sessions,
    session_costs,
    session_ids,
    sessions_page,
    sessions_since,
    tasks,
)
from engine.views.spend import Spend, spend
from engine.views.summary import FailedTask, RunSummary, run_summary
from engine.views.totals import SessionTotals, overall, session_totals
from engine.views.workers import Pools, pools, session_workers, utilization

__all__ = [
    "FailedTask",
    "Feed",
    "NotFound",
    "Pools",
    "Queryable",
    "RunSummary",
    "SessionTotals",
    "SessionsPage",
    "Spend",
    "activity",
    "current_session_id",
    "event_types_between",
    "feed",
    "find_session",
    "output_after",
    "output_tail",
    "overall",
    "pools",
    "recent_sessions",
    "run_summary",
    "session_costs",
    "session_ids",
    "session_totals",
    "session_workers",
    "sessions_page",
    "sessions_since",
    "spend",
    "tasks",
    "utilization",
]
