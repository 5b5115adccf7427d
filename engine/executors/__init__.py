"""How a task runs: a local subprocess in its own process group, or an agent backend."""

from engine.executors.base import Control, ControlSlot, Executor, Outcome, RunContext
from engine.executors.subprocess import SubprocessExecutor

__all__ = ["Control", "ControlSlot", "Executor", "Outcome", "RunContext", "SubprocessExecutor"]
