"""File locks on globs, atomic in SQLite across sessions and processes."""

from engine.locks.globs import any_overlap, globs_overlap, path_matches
from engine.locks.liveness import TaskProcess, task_alive, task_processes
from engine.locks.table import HOST, Holder, claim, pid_alive, release_sql

__all__ = [
    "HOST",
    "Holder",
    "TaskProcess",
    "any_overlap",
    "claim",
    "globs_overlap",
    "path_matches",
    "pid_alive",
    "release_sql",
    "task_alive",
    "task_processes",
]
