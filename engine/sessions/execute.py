"""How one attempt of a task runs here: which executor, with what context, and whether it
kept to the files it declared.

The runner's "execute" step, apart from its bookkeeping: the shell executor (or the plan's agent
backend, made on first use), the task's environment and `RunContext`, and the git snapshots
around a task that declared `files`, which report changes it made outside them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Collection
from typing import Any

from engine.events import Event, EventType
from engine.executors import Executor, RunContext, SubprocessExecutor
from engine.locks import changes as git_changes
from engine.locks import path_matches
from engine.plan import TaskSpec
from engine.store import Store


class Executors:
    """The executors of one session's tasks."""

    def __init__(
        self, store: Store, config: dict[str, Any], kill_grace_s: float, remote: Any = None
    ) -> None:
        """`remote`: the plan's cluster executor (Dask), which then runs the shell tasks and
        hosts the agent backend; None runs every task on this machine."""
        self._store = store
        self._config = config
        self._remote = remote
        self._shell: Any = remote or SubprocessExecutor()
        self._shell.kill_grace_s = kill_grace_s
        self._agent: Executor | None = None
        # os.environ decodes every variable on each copy; tasks start from one snapshot.
        self._base_env = dict(os.environ)

    def for_spec(self, spec: TaskSpec) -> Executor:
        if spec.prompt is None:
            return self._shell
        if self._agent is None:
            from engine.executors.agent import make_agent_executor

            self._agent = make_agent_executor(self._store, self._config)
            if self._remote is not None:
                self._remote.place_agent(self._agent)
        return self._agent

    def no_grace(self) -> None:
        """From now on a cancelled task gets SIGKILL right after SIGTERM."""
        self._shell.kill_grace_s = 0.0

    def context(
        self,
        session_id: str,
        worker_id: str,
        spec: TaskSpec,
        attempt: int,
        on_line: Callable[[str, str], None],
        on_spawn: Callable[[int | None], None],
        *,
        env: dict[str, str] | None = None,
        context: Any = None,
    ) -> RunContext:
        """`env` goes over the task's own (a stream's worktree variables); `context` is what an
        agent task is told besides its prompt (a stream's decisions and conflicts)."""
        return RunContext(
            session_id=session_id,
            task_id=spec.id,
            attempt=attempt,
            worker_id=worker_id,
            argv=["/bin/sh", "-c", spec.run] if spec.run is not None else None,
            cwd=spec.cwd,
            env={
                **self._base_env,
                **spec.env,
                "BR_SESSION": session_id,
                "BR_TASK": spec.id,
                **(env or {}),
            },
            timeout=spec.timeout,
            on_line=on_line,
            on_spawn=on_spawn,
            prompt=spec.prompt,
            model=spec.model,
            extra=(
                {
                    "complexity": spec.complexity,
                    "files": list(spec.files),
                    "task_env": spec.env,
                    "context": context,
                }
                if spec.prompt is not None  # hints for agent backends; a shell has no use
                else {}
            ),
        )


class ChangeCheck:
    """Git snapshots around tasks that declared `files`: what they changed outside them."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self._roots: dict[str, str | None] = {}

    def _root(self, spec: TaskSpec) -> str | None:
        if spec.cwd not in self._roots:
            self._roots[spec.cwd] = git_changes.git_root(spec.cwd)
        return self._roots[spec.cwd]

    async def before(self, spec: TaskSpec) -> tuple[str, Any] | None:
        """A snapshot of the task's repository (None: no files declared, or not in git)."""
        root = self._root(spec) if spec.files else None
        if not root:
            return None
        return root, await asyncio.to_thread(git_changes.snapshot, root)

    async def violations(
        self,
        spec: TaskSpec,
        before: tuple[str, Any] | None,
        others: Collection[tuple[str, ...]],
    ) -> list[Event]:
        """Changes since `before` outside the task's files and outside what the concurrent
        tasks (`others`' patterns) declared: one `lock.violation` each."""
        if before is None:
            return []
        root, snap = before
        after = await asyncio.to_thread(git_changes.snapshot, root)
        events = []
        for p in git_changes.changed(snap, after):
            rel = git_changes.relative_to(p, root, spec.cwd)
            if path_matches(rel, spec.files):
                continue
            if any(path_matches(rel, pats) for pats in others):
                continue  # a concurrent task that declared it made this change
            events.append(
                Event(EventType.LOCK_VIOLATION, self.session_id, spec.id,
                      data={"path": rel, "declared": list(spec.files)})
            )  # fmt: skip
        return events
