"""The read model: every question the app, the command line and the exit summary ask about
sessions, answered by name with typed results. Nothing outside the engine reads the schema."""

from engine.views.base import NotFound, Queryable
from engine.views.summary import FailedTask, RunSummary, run_summary

__all__ = ["FailedTask", "NotFound", "Queryable", "RunSummary", "run_summary"]
