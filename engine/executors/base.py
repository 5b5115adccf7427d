"""What a worker hands an executor, and what it gets back.

An executor runs one attempt of one task. It reports output lines through `ctx.on_line`, tells
the worker which process group it started (so pause / resume / cancel reach it without the worker
knowing how it runs), and returns an `Outcome`. Agent executors add `usage` to the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class RunContext:
    session_id: str
    task_id: str
    attempt: int
    worker_id: str
    argv: list[str] | None  # shell tasks: ["/bin/sh", "-c", cmd]; agents build their own
    cwd: str
    env: Mapping[str, str]
    timeout: float | None  # seconds of running time (paused time doesn't count)
    on_line: Callable[[str, str], None]  # (stream, line)
    on_spawn: Callable[[int], None] = lambda pgid: None  # a process group is now running
    prompt: str | None = None
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # plan/routing hints for agent backends


class ExecutorUnavailable(Exception):
    """The executor cannot run anything (a cluster that cannot be reached): one line for the
    user; the session is left as it was, to be resumed once the cause is fixed."""


@dataclass(slots=True)
class Outcome:
    #: "succeeded" | "failed" | "timeout" | "cancelled", or "lost": the machine running the
    #: attempt went away, so the attempt counts but the task goes back to the queue (as for a
    #: local worker that died) instead of spending a retry.
    status: str
    exit_code: int | None = None
    reason: str | None = None
    wall_s: float = 0.0
    cpu_s: float | None = None
    peak_rss_kb: int | None = None
    usage: dict[str, Any] | None = None  # agent calls: model, tokens, cost_usd, failure class
    retryable: bool = True  # False: don't spend retries on it (e.g. authentication errors)
    retry_after: float | None = None  # seconds the backend asked us to wait


class Control(Protocol):
    """The handle a running attempt gives its worker."""

    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def cancel(self) -> None: ...


class Executor(Protocol):
    async def run(self, ctx: RunContext, control: ControlSlot) -> Outcome: ...


class ControlSlot:
    """Where an executor registers its running attempt so the worker can steer it.

    A pause or cancel may arrive before the process exists; the slot remembers it and applies
    it the moment a control is attached.
    """

    def __init__(self) -> None:
        self.current: Control | None = None
        self.paused = False
        self.cancelled = False

    def attach(self, control: Control) -> None:
        self.current = control
        if self.cancelled:
            control.cancel()
        elif self.paused:
            control.pause()

    def detach(self) -> None:
        self.current = None

    def pause(self) -> None:
        self.paused = True
        if self.current:
            self.current.pause()

    def resume(self) -> None:
        self.paused = False
        if self.current:
            self.current.resume()

    def cancel(self) -> None:
        self.cancelled = True
        if self.current:
            self.current.cancel()
