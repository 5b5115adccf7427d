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
    stream: str | None = None  # a stream's task: cwd and files are relative to its worktree

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
            "stream": self.stream,
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
            stream=get("stream"),
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
    "stream": None,
}


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A `[[stream]]`: a branch worked on in its own git worktree."""

    id: str
    branch: str | None = None  # default br/<session>/<id>
    base: str | None = None  # branch or commit; default the commit HEAD is at on creation
    setup: str | None = None  # run once in a new worktree
    include: tuple[str, ...] = ()  # gitignored files to copy in (besides .worktreeinclude)
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "branch": self.branch, "base": self.base, "setup": self.setup,
                "include": list(self.include), "line": self.line}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StreamSpec:
        return cls(id=data["id"], branch=data.get("branch"), base=data.get("base"),
                   setup=data.get("setup"), include=tuple(data.get("include") or ()),
                   line=data.get("line"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class GateSpec:
    """A `[[gate]]`: a check the merged tree must pass before the target moves."""

    name: str
    kind: str = "command"  # command | coverage | diff-cover | scan
    run: str | None = None
    fail_under: float | None = None
    timeout: float | None = None
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        keys = ("name", "kind", "run", "fail_under", "timeout", "line")
        return {k: getattr(self, k) for k in keys}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GateSpec:
        return cls(name=data["name"], kind=data.get("kind") or "command", run=data.get("run"),
                   fail_under=data.get("fail_under"), timeout=data.get("timeout"),
                   line=data.get("line"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class CheckpointSpec:
    """A `[[checkpoint]]`: merge streams into a target once `after` tasks are done."""

    id: str
    after: tuple[str, ...] = ()
    streams: tuple[str, ...] = ()  # empty: every stream
    target: str | None = None  # default: the branch checked out when the session was created
    strategy: str = "merge"  # merge | squash | rebase
    gates: tuple[str, ...] | None = None  # None: every gate
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "after": list(self.after), "streams": list(self.streams),
                "target": self.target, "strategy": self.strategy,
                "gates": None if self.gates is None else list(self.gates),
                "line": self.line}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckpointSpec:
        gates = data.get("gates")
        return cls(id=data["id"], after=tuple(data.get("after") or ()),
                   streams=tuple(data.get("streams") or ()), target=data.get("target"),
                   strategy=data.get("strategy") or "merge",
                   gates=None if gates is None else tuple(gates),
                   line=data.get("line"))  # fmt: skip


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
    streams: list[StreamSpec] = field(default_factory=list)
    checkpoints: list[CheckpointSpec] = field(default_factory=list)
    gates: list[GateSpec] = field(default_factory=list)
    base_dir: str = "."  # where relative paths in the plan start (the plan's directory)

    def task(self, task_id: str) -> TaskSpec:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(task_id)

    @property
    def config(self) -> dict[str, Any]:
        """The session-wide tables an agent backend (and a remote executor) reads; with
        streams, also the stream, checkpoint and gate tables the streams engine reads back."""
        config: dict[str, Any] = {"agent": self.agent, "budget": self.budget, "models": self.models}
        if self.executor:
            config["executor"] = self.executor
        if self.streams:
            config["streams"] = {
                "plan_dir": self.base_dir,
                "streams": [s.to_json() for s in self.streams],
                "checkpoints": [c.to_json() for c in self.checkpoints],
                "gates": [g.to_json() for g in self.gates],
            }
        return config
