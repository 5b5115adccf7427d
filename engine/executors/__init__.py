"""How a task runs: a local subprocess in its own process group, an agent backend, or a Dask
cluster (`engine.executors.dask`, imported only when a plan asks for it)."""

from engine.executors.base import (
    Control,
    ControlSlot,
    Executor,
    ExecutorUnavailable,
    Outcome,
    RunContext,
)
from engine.executors.subprocess import SubprocessExecutor

__all__ = [
    "Control",
    "ControlSlot",
    "Executor",
    "ExecutorUnavailable",
    "Outcome",
    "RunContext",
    "SubprocessExecutor",
]
