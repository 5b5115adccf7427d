"""Session and task states, and which moves between them are legal."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED_SESSION


FINISHED_SESSION = {SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.CANCELLED}
ACTIVE_SESSION = {SessionStatus.RUNNING, SessionStatus.PAUSED}

SESSION_MOVES: dict[SessionStatus, set[SessionStatus]] = {
    SessionStatus.CREATED: {SessionStatus.RUNNING, SessionStatus.CANCELLED},
    SessionStatus.RUNNING: {SessionStatus.PAUSED, *FINISHED_SESSION},
    SessionStatus.PAUSED: {SessionStatus.RUNNING, SessionStatus.CANCELLED},
    SessionStatus.COMPLETED: set(),
    SessionStatus.FAILED: set(),
    SessionStatus.CANCELLED: set(),
}


class TaskState(StrEnum):
    QUEUED = "queued"
    WAITING_LOCK = "waiting_lock"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED_TASK


FINISHED_TASK = {TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED}


def can_move(src: SessionStatus, dst: SessionStatus) -> bool:
    return dst in SESSION_MOVES[src]
