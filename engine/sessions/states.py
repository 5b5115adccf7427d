"""Session and task states, and which of them are finished."""

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
