"""The plan as the engine sees it: validated, defaults applied, paths resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class PlanError(Exception):
    """A plan that can't run, with the file and line a user should look at."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class TaskSpec:
    id: str
    run: str | None = None
    prompt: str | None = None
    needs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    timeout: float | None = None
    retries: int = 0
    retry_delay: float = 1.0
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "."
    priority: int = 0
    model: str | None = None
    complexity: str | None = None
    line: int | None = None
    #: What a task needs of the worker that runs it (`{ gpu = 1 }`): Dask worker resources.
    resources: dict[str, float] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "agent" if self.prompt is not None else "shell"

    def to_json(self) -> dict[str, Any]:
        """The spec as stored with its session, without the keys `from_json` would default.

        Every session start serialises, masks and writes one spec per task; most keys of most
        tasks are at their defaults, and leaving them out makes a 2,000-task plan's specs a
        third the size (and the masking prefilter scans a third of the text).
        """
        spec = {
            "run": self.run,
            "prompt": self.prompt,
            "needs": list(self.needs),
            "files": list(self.files),
            "timeout": self.timeout,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "env": self.env,
            "cwd": self.cwd,
            "priority": self.priority,
            "model": self.model,
            "complexity": self.complexity,
            "line": self.line,
            "resources": self.resources,
        }
        return {k: v for k, v in spec.items() if k not in _DEFAULTS or v != _DEFAULTS[k]}

    @classmethod
    def from_json(cls, task_id: str, data: dict[str, Any]) -> TaskSpec:
        get = {**_DEFAULTS, **data}.get
        return cls(
            id=task_id,
            run=get("run"),
            prompt=get("prompt"),
            needs=tuple(get("needs") or ()),
            files=tuple(get("files") or ()),
            timeout=get("timeout"),
            retries=int(get("retries") or 0),
            retry_delay=float(get("retry_delay")),
            env=dict(get("env") or {}),
            cwd=get("cwd") or ".",
            priority=int(get("priority") or 0),
            model=get("model"),
            complexity=get("complexity"),
            line=get("line"),
            resources=dict(get("resources") or {}),
        )


#: A stored spec's keys at their defaults (as JSON values), left out by `to_json`.
_DEFAULTS: dict[str, Any] = {
    "run": None,
    "prompt": None,
    "needs": [],
    "files": [],
    "timeout": None,
    "retries": 0,
    "retry_delay": 1.0,
    "env": {},
    "priority": 0,
    "model": None,
    "complexity": None,
    "line": None,
    "resources": {},
}


@dataclass(slots=True)
class Plan:
    path: Path
    name: str
    tasks: list[TaskSpec]
    digest: str
    workers: int | None = None
    agent: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    #: Where tasks run: empty for this machine, or `{kind = "dask", address = ...}`.
    executor: dict[str, Any] = field(default_factory=dict)

    def task(self, task_id: str) -> TaskSpec:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)

    @property
    def config(self) -> dict[str, Any]:
        """The session-wide tables an agent backend (and a remote executor) reads."""
        config = {"agent": self.agent, "budget": self.budget, "models": self.models}
        if self.executor:
            config["executor"] = self.executor
        return config
