"""The plan's `[[stream]]`, `[[checkpoint]]` and `[[gate]]` tables, validated with file:line.

A checkpoint is also a task: it joins the plan as a shell task (id = the checkpoint's id, needs =
its `after`) that runs `python -m engine.streams checkpoint`, so other tasks can `needs` it, its
output (each gate's) streams like any task's, and a failed checkpoint cancels what depends on it.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine.plan.model import CheckpointSpec, GateSpec, PlanError, StreamSpec, TaskSpec

STREAM_KEYS = {"id", "branch", "base", "setup", "include"}
CHECKPOINT_KEYS = {"id", "after", "streams", "target", "strategy", "gates"}
GATE_KEYS = {"name", "run", "kind", "fail_under", "timeout"}
STRATEGIES = ("merge", "squash", "rebase")
GATE_KINDS = ("command", "coverage", "diff-cover", "scan")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: What git accepts in a branch name, conservatively (no "..", no leading "-", no ".lock").
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*\.lock$)[A-Za-z0-9_./@+-]{1,200}(?<![./])$")


class _Locates(Protocol):
    def task(self, index: int, key: str | None = None) -> int | None: ...
    def block(self, name: str, index: int, key: str | None = None) -> int | None: ...
    def section(self, name: str, key: str | None = None) -> int | None: ...


def _tables(data: dict[str, Any], name: str, path: Path, loc: _Locates) -> list[dict[str, Any]]:
    raw = data.get(name, [])
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise PlanError(path, loc.section("", name), f"'{name}' must be [[{name}]] tables")
    return raw


def _keys(table: dict[str, Any], allowed: set[str], where: str, line: Any, path: Path) -> None:
    import difflib

    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise PlanError(path, line(key), f"{where}: unknown key '{key}'{hint}")


def _strings(value: Any, key: str, where: str, path: Path, line: int | None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PlanError(path, line, f"{where}: '{key}' must be a list of strings")
    return tuple(dict.fromkeys(value))


def _string(value: Any, key: str, where: str, path: Path, line: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PlanError(path, line, f"{where}: '{key}' must be a non-empty string")
    return value


def parse_streams(
    data: dict[str, Any], path: Path, loc: _Locates, tasks: list[TaskSpec], base: Path
) -> tuple[list[StreamSpec], list[GateSpec], list[CheckpointSpec]]:
    """Validate the three tables; append one task per checkpoint to `tasks`."""
    streams = _parse_stream_tables(data, path, loc)
    ids = {s.id for s in streams}
    for i, t in enumerate(tasks):
        if t.stream is not None and t.stream not in ids:
            known = ", ".join(sorted(ids)) or "none declared"
            raise PlanError(
                path, loc.task(i, "stream"), f"task {t.id}: unknown stream '{t.stream}' ({known})"
            )
    gates = _parse_gate_tables(data, path, loc)
    checkpoints = _parse_checkpoint_tables(data, path, loc, tasks, ids, {g.name for g in gates})
    if (checkpoints or gates) and not streams:
        line = loc.block("checkpoint", 0) if checkpoints else loc.block("gate", 0)
        raise PlanError(path, line, "checkpoints and gates need at least one [[stream]]")
    python = shlex.quote(sys.executable)
    for c in checkpoints:
        tasks.append(
            TaskSpec(
                id=c.id,
                run=f'{python} -m engine.streams checkpoint "$BR_SESSION" --id {shlex.quote(c.id)}',
                needs=c.after,
                cwd=str(base.resolve()),
                line=c.line,
            )
        )
    return streams, gates, checkpoints


def _table_name(
    t: dict[str, Any],
    table: str,
    key: str,
    i: int,
    seen: dict[str, int],
    line: Callable[..., int | None],
    loc: _Locates,
    path: Path,
) -> str:
    """The `key` that names the i-th `[[table]]`: present, well formed and not used before."""
    name = t.get(key)
    if name is None:
        raise PlanError(path, line(), f"{table} has no '{key}'")
    if not isinstance(name, str) or not _ID.match(name):
        raise PlanError(path, line(key), f"{table} {key} {name!r}: use letters, digits and _.-")
    if name in seen:
        raise PlanError(
            path,
            line(key),
            f"duplicate {table} {key} '{name}'"
            f" (first defined at line {loc.block(table, seen[name])})",
        )
    seen[name] = i
    return name


def _parse_stream_tables(data: dict[str, Any], path: Path, loc: _Locates) -> list[StreamSpec]:
    streams: list[StreamSpec] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(_tables(data, "stream", path, loc)):
        where = f"stream {t.get('id', f'#{i + 1}')!s}"

        def line(key: str | None = None, i: int = i) -> int | None:
            return loc.block("stream", i, key)

        _keys(t, STREAM_KEYS, where, line, path)
        sid = _table_name(t, "stream", "id", i, seen, line, loc, path)
        branch = t.get("branch")
        if branch is not None:
            branch = _string(branch, "branch", where, path, line("branch"))
            if not _BRANCH.match(branch):
                raise PlanError(path, line("branch"), f"{where}: {branch!r} is not a branch name")
        base = t.get("base")
        if base is not None:
            base = _string(base, "base", where, path, line("base"))
        setup = t.get("setup")
        if setup is not None:
            setup = _string(setup, "setup", where, path, line("setup"))
        include = _strings(t.get("include", []), "include", where, path, line("include"))
        for pattern in include:
            if pattern.startswith("/") or ".." in Path(pattern).parts:
                raise PlanError(
                    path, line("include"), f"{where}: {pattern!r} must be relative and stay inside"
                )
        streams.append(StreamSpec(sid, branch, base, setup, include, line()))
    return streams


def _parse_gate_tables(data: dict[str, Any], path: Path, loc: _Locates) -> list[GateSpec]:
    gates: list[GateSpec] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(_tables(data, "gate", path, loc)):
        where = f"gate {t.get('name', f'#{i + 1}')!s}"

        def line(key: str | None = None, i: int = i) -> int | None:
            return loc.block("gate", i, key)

        _keys(t, GATE_KEYS, where, line, path)
        name = _table_name(t, "gate", "name", i, seen, line, loc, path)
        kind = t.get("kind", "command")
        if kind not in GATE_KINDS:
            raise PlanError(
                path, line("kind"), f"{where}: 'kind' must be one of {', '.join(GATE_KINDS)}"
            )
        run = t.get("run")
        if run is not None:
            run = _string(run, "run", where, path, line("run"))
        if kind == "command" and run is None:
            raise PlanError(path, line(), f"{where}: a command gate needs 'run'")
        fail_under = t.get("fail_under")
        if fail_under is not None:
            if kind not in ("coverage", "diff-cover"):
                raise PlanError(
                    path, line("fail_under"), f"{where}: 'fail_under' is for coverage gates"
                )
            if (
                not isinstance(fail_under, int | float)
                or isinstance(fail_under, bool)
                or not 0 <= fail_under <= 100
            ):
                raise PlanError(
                    path, line("fail_under"), f"{where}: 'fail_under' must be a number 0-100"
                )
        timeout = t.get("timeout")
        if timeout is not None and (
            not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0
        ):
            raise PlanError(path, line("timeout"), f"{where}: 'timeout' must be positive")
        gates.append(
            GateSpec(
                name,
                kind,
                run,
                None if fail_under is None else float(fail_under),
                None if timeout is None else float(timeout),
                line(),
            )
        )
    return gates


def _parse_checkpoint_tables(
    data: dict[str, Any],
    path: Path,
    loc: _Locates,
    tasks: list[TaskSpec],
    stream_ids: set[str],
    gate_names: set[str],
) -> list[CheckpointSpec]:
    task_ids = {t.id for t in tasks}
    checkpoints: list[CheckpointSpec] = []
    for i, t in enumerate(_tables(data, "checkpoint", path, loc)):

        def line(key: str | None = None, i: int = i) -> int | None:
            return loc.block("checkpoint", i, key)

        cid = t.get("id", f"checkpoint-{i + 1}")
        where = f"checkpoint {cid!s}"
        _keys(t, CHECKPOINT_KEYS, where, line, path)
        if not isinstance(cid, str) or not _ID.match(cid):
            raise PlanError(path, line("id"), f"checkpoint id {cid!r}: use letters, digits and _.-")
        if cid in task_ids:
            raise PlanError(path, line("id"), f"{where}: id '{cid}' is already a task's id")
        after = _strings(t.get("after", []), "after", where, path, line("after"))
        if not after:
            raise PlanError(path, line("after") or line(), f"{where}: 'after' names no task")
        for dep in after:
            if dep not in task_ids:
                raise PlanError(path, line("after"), f"{where}: 'after' names unknown task '{dep}'")
        chosen = _strings(t.get("streams", []), "streams", where, path, line("streams"))
        for sid in chosen:
            if sid not in stream_ids:
                raise PlanError(path, line("streams"), f"{where}: unknown stream '{sid}'")
        target = t.get("target")
        if target is not None:
            target = _string(target, "target", where, path, line("target"))
            if not _BRANCH.match(target):
                raise PlanError(path, line("target"), f"{where}: {target!r} is not a branch name")
        strategy = t.get("strategy", "merge")
        if strategy not in STRATEGIES:
            raise PlanError(
                path,
                line("strategy"),
                f"{where}: 'strategy' must be one of {', '.join(STRATEGIES)}",
            )
        gates = None
        if "gates" in t:
            gates = _strings(t["gates"], "gates", where, path, line("gates"))
            for g in gates:
                if g not in gate_names:
                    raise PlanError(path, line("gates"), f"{where}: unknown gate '{g}'")
        task_ids.add(cid)
        checkpoints.append(CheckpointSpec(cid, after, chosen, target, strategy, gates, line()))
    return checkpoints
