"""Sessions: the state machine, the runner that owns a live session, control and recovery."""

from engine.sessions.claim import claim_session
from engine.sessions.control import cancel_unowned, owner_alive, recover, request
from engine.sessions.repo import (
    SessionError,
    check_agent_config,
    cleanup,
    create_session,
    list_sessions,
    load_specs,
    resolve_session,
    session_tasks,
)
from engine.sessions.runner import RunnerOptions, SessionRunner
from engine.sessions.scheduler import Scheduler
from engine.sessions.states import SessionStatus, TaskState

__all__ = [
    "RunnerOptions",
    "Scheduler",
    "SessionError",
    "SessionRunner",
    "SessionStatus",
    "TaskState",
    "cancel_unowned",
    "check_agent_config",
    "claim_session",
    "cleanup",
    "create_session",
    "list_sessions",
    "load_specs",
    "owner_alive",
    "recover",
    "request",
    "resolve_session",
    "session_tasks",
]
