"""Typed events: the one vocabulary the engine speaks to the store, the app and alerts.

The bottom layer, beside the store (which imports it): nothing here imports the engine.

Every event has a type, a level, a timestamp, and the session / task / worker it concerns; its
payload is a small dict of JSON-able values. `SCHEMA_VERSION` is stored with each row so readers
can cope with old rows after the payloads evolve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine import clock

SCHEMA_VERSION = 1


class Level(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class EventType(StrEnum):
    SESSION_CREATED = "session.created"
    SESSION_STARTED = "session.started"
    SESSION_PAUSED = "session.paused"
    SESSION_RESUMED = "session.resumed"
    SESSION_COMPLETED = "session.completed"
    SESSION_FAILED = "session.failed"
    SESSION_CANCELLED = "session.cancelled"
    SESSION_RECOVERED = "session.recovered"
    TASK_QUEUED = "task.queued"
    TASK_STARTED = "task.started"
    TASK_RETRIED = "task.retried"
    TASK_SUCCEEDED = "task.succeeded"
    TASK_FAILED = "task.failed"
    TASK_TIMED_OUT = "task.timed_out"
    TASK_CANCELLED = "task.cancelled"
    TASK_REQUEUED = "task.requeued"
    WORKER_ONLINE = "worker.online"
    WORKER_OFFLINE = "worker.offline"
    WORKER_SCALED = "worker.scaled"
    LOCK_WAITED = "lock.waited"
    LOCK_ACQUIRED = "lock.acquired"
    LOCK_VIOLATION = "lock.violation"
    AGENT_CALL = "agent.call"
    ROUTING_DECISION = "routing.decision"
    BUDGET_WARNING = "budget.warning"
    BUDGET_EXCEEDED = "budget.exceeded"
    SECURITY_FINDING = "security.finding"
    ALERT_RAISED = "alert.raised"
    ALERT_CLEARED = "alert.cleared"
    CONTROL_RECEIVED = "control.received"
    STREAM_CREATED = "stream.created"
    STREAM_COMMITTED = "stream.committed"
    STREAM_SYNCED = "stream.synced"
    CHECKPOINT_STARTED = "checkpoint.started"
    CHECKPOINT_MERGED = "checkpoint.merged"
    CHECKPOINT_CONFLICT = "checkpoint.conflict"
    CHECKPOINT_GATE_FAILED = "checkpoint.gate_failed"
    GATE_RESULT = "gate.result"
    DECISION_ADDED = "decision.added"


#: The level an event gets unless its publisher says otherwise.
DEFAULT_LEVELS: dict[EventType, Level] = {
    EventType.TASK_FAILED: Level.ERROR,
    EventType.TASK_TIMED_OUT: Level.ERROR,
    EventType.SESSION_FAILED: Level.ERROR,
    EventType.WORKER_OFFLINE: Level.WARNING,
    EventType.LOCK_VIOLATION: Level.WARNING,
    EventType.BUDGET_WARNING: Level.WARNING,
    EventType.BUDGET_EXCEEDED: Level.ERROR,
    EventType.SECURITY_FINDING: Level.WARNING,
    EventType.TASK_RETRIED: Level.WARNING,
    EventType.TASK_REQUEUED: Level.WARNING,
    EventType.LOCK_WAITED: Level.DEBUG,
    EventType.LOCK_ACQUIRED: Level.DEBUG,
    EventType.CHECKPOINT_CONFLICT: Level.WARNING,
    EventType.CHECKPOINT_GATE_FAILED: Level.WARNING,
}


@dataclass(slots=True)
class Event:
    type: EventType
    session_id: str | None = None
    task_id: str | None = None
    worker_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    level: Level | None = None
    ts: float = field(default_factory=clock.now)

    def __post_init__(self) -> None:
        if self.level is None:
            self.level = DEFAULT_LEVELS.get(self.type, Level.INFO)


@dataclass(slots=True)
class OutputLine:
    """One line a task printed; stored bounded per task, streamed to subscribers."""

    session_id: str
    task_id: str
    attempt: int
    stream: str  # "stdout" | "stderr"
    line: str
    ts: float = field(default_factory=clock.now)
    seq: int = 0  # assigned by the writer, per task, increasing
