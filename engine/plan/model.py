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

    @property
    def kind(self) -> str:
        return "agent" if self.prompt is not None else "shell"

    def to_json(self) -> dict[str, Any]:
        return {
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
        }

    @classmethod
    def from_json(cls, task_id: str, data: dict[str, Any]) -> TaskSpec:
        return cls(
            id=task_id,
            run=data.get("run"),
            prompt=data.get("prompt"),
            needs=tuple(data.get("needs") or ()),
            files=tuple(data.get("files") or ()),
            timeout=data.get("timeout"),
            retries=int(data.get("retries") or 0),
            retry_delay=float(data.get("retry_delay", 1.0)),
            env=dict(data.get("env") or {}),
            cwd=data.get("cwd") or ".",
            priority=int(data.get("priority") or 0),
            model=data.get("model"),
            complexity=data.get("complexity"),
            line=data.get("line"),
        )


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

    def task(self, task_id: str) -> TaskSpec:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)

    @property
    def config(self) -> dict[str, Any]:
        """The session-wide tables an agent backend reads."""
        return {"agent": self.agent, "budget": self.budget, "models": self.models}
