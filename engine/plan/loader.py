"""Read a TOML plan into a `Plan`, or fail with one error that names the file and line.

`tomllib` reports syntax errors with a line but forgets positions once parsed, so semantic errors
(an unknown dependency, a cycle, a typo'd key) are located by a light scan of the source for the
`[[task]]` headers and the `key =` lines inside each block.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from engine.plan.bounded import read_bounded, strip_bom
from engine.plan.executor import ExecutorTableError, check_table
from engine.plan.model import Plan, PlanError, TaskSpec
from engine.plan.streams import parse_streams

TOP_KEYS = {
    "name", "workers", "defaults", "task", "agent", "budget", "models", "executor", "stream",
    "checkpoint", "gate",
}  # fmt: skip
TASK_KEYS = {
    "id", "run", "prompt", "needs", "files", "timeout", "retries", "retry_delay", "env", "cwd",
    "priority", "model", "complexity", "resources", "stream",
}  # fmt: skip
DEFAULT_KEYS = TASK_KEYS - {"id", "run", "prompt", "needs", "stream"}
LEVELS = {"simple", "moderate", "complex", "critical"}
_ID = re.compile(r"^[A-Za-z0-9_.:/@+-]{1,128}$")
#: A `[[task]]` header line (TOML whitespace is spaces and tabs): matched per line when the
#: full index is built, and across the whole text when only the headers are wanted.
_HEADER_LINE = r"[ \t]*\[\[[ \t]*task[ \t]*\]\][ \t]*(?:#[^\r\n]*)?"
_HEADER = re.compile(f"^{_HEADER_LINE}$")
_HEADER_ANYWHERE = re.compile(rf"^{_HEADER_LINE}\r?$", re.MULTILINE)
_TABLE = re.compile(r"^\s*\[")
_BLOCK = re.compile(r"^[ \t]*\[\[[ \t]*(stream|checkpoint|gate)[ \t]*\]\][ \t]*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


class _Locator:
    """Maps (task index, key) to a source line. Built on first use: only errors need lines,
    and indexing a plan of thousands of tasks costs more than parsing its values."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._built = False
        self._headers: list[int] | None = None

    def header(self, index: int) -> int | None:
        """The line of the index-th `[[task]]` header: what every task records, so found with
        one regex scan instead of the full per-line index."""
        if self._headers is None:
            self._headers, line, pos = [], 1, 0
            for m in _HEADER_ANYWHERE.finditer(self.text):
                line += self.text.count("\n", pos, m.start())
                pos = m.start()
                self._headers.append(line)
        return self._headers[index] if index < len(self._headers) else None

    def _build(self) -> None:
        if self._built:
            return
        self._built = True
        self.lines = self.text.splitlines()
        self.task_lines: list[int] = []
        self.task_keys: list[dict[str, int]] = []
        self.section_keys: dict[str, dict[str, int]] = {}
        self.blocks: dict[str, list[tuple[int, dict[str, int]]]] = {}
        section = ""
        for n, raw in enumerate(self.lines, start=1):
            if _HEADER.match(raw):
                self.task_lines.append(n)
                self.task_keys.append({})
                section = "task"
                continue
            block = _BLOCK.match(raw)
            if block:
                section = f"[[{block.group(1)}]]"
                self.blocks.setdefault(block.group(1), []).append((n, {}))
                continue
            if _TABLE.match(raw):
                section = raw.strip().strip("[]").strip()
                self.section_keys.setdefault(section, {})
                continue
            m = _KEY.match(raw)
            if m:
                key = m.group(1).strip('"')
                if section == "task" and self.task_keys:
                    self.task_keys[-1].setdefault(key, n)
                elif section.startswith("[[") and section[2:-2] in self.blocks:
                    self.blocks[section[2:-2]][-1][1].setdefault(key, n)
                else:
                    self.section_keys.setdefault(section, {}).setdefault(key, n)

    def task(self, index: int, key: str | None = None) -> int | None:
        self._build()
        if index >= len(self.task_lines):
            return None
        if key and key in self.task_keys[index]:
            return self.task_keys[index][key]
        return self.task_lines[index]

    def block(self, name: str, index: int, key: str | None = None) -> int | None:
        """The line of the index-th `[[name]]` table (stream, checkpoint, gate), or its key."""
        self._build()
        blocks = self.blocks.get(name, [])
        if index >= len(blocks):
            return None
        line, keys = blocks[index]
        return keys.get(key, line) if key else line

    def section(self, name: str, key: str | None = None) -> int | None:
        self._build()
        keys = self.section_keys.get(name, {})
        if key and key in keys:
            return keys[key]
        for n, raw in enumerate(self.lines, start=1):
            if raw.strip().strip("[]").strip() == name and raw.lstrip().startswith("["):
                return n
        return None


def _suggest(word: str, options: set[str]) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


_EXPECTED: dict[str, tuple[type, ...]] = {
    "id": (str,), "run": (str,), "prompt": (str,), "cwd": (str,), "model": (str,),
    "complexity": (str,), "needs": (list,), "files": (list,), "env": (dict,),
    "timeout": (int, float), "retry_delay": (int, float), "retries": (int,),
    "priority": (int,), "resources": (dict,), "stream": (str,),
}  # fmt: skip


def _check_type(path: Path, line: Callable[[], int | None], where: str, key: str,
                value: Any) -> None:  # fmt: skip
    """`line` is called only to report an error (finding lines costs more than checking)."""
    kinds = _EXPECTED.get(key)
    if kinds and (not isinstance(value, kinds) or isinstance(value, bool)):
        names = " or ".join("number" if k in (int, float) else k.__name__ for k in kinds)
        names = {"str": "a string", "list": "a list", "dict": "a table", "int": "an integer"}.get(
            names, f"a {names}"
        )
        raise PlanError(path, line(), f"{where}: '{key}' must be {names}, not {value!r}")
    if key in ("needs", "files") and not all(isinstance(v, str) for v in value):
        raise PlanError(path, line(), f"{where}: '{key}' must be a list of strings")
    if key == "env" and not all(isinstance(v, str | int | float | bool) for v in value.values()):
        raise PlanError(path, line(), f"{where}: 'env' values must be strings")
    if key == "resources" and not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in value.values()
    ):
        raise PlanError(path, line(), f"{where}: 'resources' values must be positive numbers")
    if key in ("timeout", "retry_delay") and value <= 0:
        raise PlanError(path, line(), f"{where}: '{key}' must be positive")
    if key == "retries" and value < 0:
        raise PlanError(path, line(), f"{where}: 'retries' must be 0 or more")
    if key == "complexity" and value not in LEVELS:
        levels = ", ".join(sorted(LEVELS))
        raise PlanError(path, line(), f"{where}: 'complexity' must be one of {levels}")
    if key == "files":
        for pattern in value:
            if pattern.startswith("/") or ".." in Path(pattern).parts:
                raise PlanError(
                    path, line(), f"{where}: file glob {pattern!r} must be relative and stay inside"
                )


def load_plan(path: str | os.PathLike[str]) -> Plan:
    path = Path(path)
    try:
        raw = read_bounded(path)
    except ValueError as exc:
        raise PlanError(path, None, str(exc)) from None
    except FileNotFoundError:
        raise PlanError(path, None, "no such plan file") from None
    except IsADirectoryError:
        raise PlanError(path, None, "is a directory, not a plan file") from None
    except OSError as exc:
        raise PlanError(path, None, f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanError(path, None, "not a text file (plans are UTF-8 TOML)") from None
    return parse_plan(strip_bom(text), path)


def parse_plan(text: str, path: str | os.PathLike[str] = "<plan>") -> Plan:
    path = Path(path)
    data = _read_toml(text, path)
    loc = _Locator(text)
    defaults = _check_top(data, path, loc)
    raw_tasks = data.get("task", [])
    if not isinstance(raw_tasks, list) or not all(isinstance(t, dict) for t in raw_tasks):
        raise PlanError(path, loc.section("", "task"), "tasks must be [[task]] tables")
    if not raw_tasks:
        raise PlanError(path, None, "the plan has no [[task]] tables")
    base = path.parent if str(path) != "<plan>" else Path.cwd()
    seen: dict[str, int] = {}
    resolved: dict[str, str] = {}  # cwd -> absolute; thousands of tasks share a handful
    tasks = [
        _task_spec(t, i, defaults, path, loc, base, seen, resolved) for i, t in enumerate(raw_tasks)
    ]
    streams, gates, checkpoints = parse_streams(data, path, loc, tasks, base)
    _check_needs(tasks, path, loc, len(raw_tasks), checkpoints)
    agent, budget, executor, workers = _check_sections(data, path, loc)
    name = data.get("name") or path.stem
    return Plan(
        path=path.resolve() if str(path) != "<plan>" else path,
        name=str(name),
        tasks=tasks,
        digest=hashlib.sha256(text.encode()).hexdigest()[:16],
        workers=workers,
        agent=agent,
        budget=budget,
        models=data.get("models", {}),
        executor=executor,
        streams=streams,
        checkpoints=checkpoints,
        gates=gates,
        base_dir=str(base.resolve()),
    )


def _read_toml(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = int(m.group(1)) if m else None
        if line is None and "end of document" in msg:
            line = max(1, len(text.splitlines()))
        msg = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
        raise PlanError(path, line, f"invalid TOML: {msg}") from None
    except RecursionError:
        raise PlanError(path, None, "nested too deeply: not a plan") from None


def _check_top(data: dict[str, Any], path: Path, loc: _Locator) -> dict[str, Any]:
    """Top-level keys and the [defaults] table (returned)."""
    for key in data:
        if key not in TOP_KEYS:
            line = loc.section("", key) or loc.section(key)
            raise PlanError(path, line, f"unknown top-level key '{key}'{_suggest(key, TOP_KEYS)}")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise PlanError(path, loc.section("", "defaults"), "'defaults' must be a table")
    for key, value in defaults.items():
        line = loc.section("defaults", key)
        if key not in DEFAULT_KEYS:
            raise PlanError(
                path, line, f"[defaults]: unknown key '{key}'{_suggest(key, DEFAULT_KEYS)}"
            )
        _check_type(path, line, "[defaults]", key, value)
    return defaults


def _task_spec(
    t: dict[str, Any],
    i: int,
    defaults: dict[str, Any],
    path: Path,
    loc: _Locator,
    base: Path,
    seen: dict[str, int],
    resolved: dict[str, str],
) -> TaskSpec:
    """The i-th [[task]] table, checked, with the defaults applied."""
    where = f"task {t.get('id', f'#{i + 1}')!s}"
    for key, value in t.items():
        if key not in TASK_KEYS:
            raise PlanError(
                path,
                loc.task(i, key),
                f"{where}: unknown key '{key}'{_suggest(key, TASK_KEYS)}",
            )
        _check_type(path, partial(loc.task, i, key), where, key, value)
    task_id = t.get("id")
    if task_id is None:
        raise PlanError(path, loc.task(i), "task has no 'id'")
    if not _ID.match(task_id):
        raise PlanError(
            path, loc.task(i, "id"), f"task id {task_id!r}: use letters, digits and _.:/@+-"
        )
    if task_id in seen:
        first = loc.task(seen[task_id], "id") or loc.task(seen[task_id]) or 0
        raise PlanError(
            path,
            loc.task(i, "id"),
            f"duplicate task id '{task_id}' (first defined at line {first})",
        )
    seen[task_id] = i
    has_run, has_prompt = "run" in t, "prompt" in t
    if has_run == has_prompt:
        raise PlanError(path, loc.task(i), f"{where}: give exactly one of 'run' or 'prompt'")
    body = t["run"] if has_run else t["prompt"]
    if not body.strip():
        key = "run" if has_run else "prompt"
        raise PlanError(path, loc.task(i, key), f"{where}: '{key}' is empty")
    merged = {**defaults, **t}
    env = {**defaults.get("env", {}), **t.get("env", {})}
    cwd = merged.get("cwd", ".")
    stream = t.get("stream")
    # a stream task's cwd is relative to the stream's worktree, resolved when it runs
    if stream is not None and (Path(cwd).is_absolute() or ".." in Path(cwd).parts):
        raise PlanError(
            path, loc.task(i, "cwd"), f"{where}: a stream task's 'cwd' must stay inside"
        )
    return TaskSpec(
        id=task_id,
        run=t.get("run"),
        prompt=t.get("prompt"),
        needs=tuple(dict.fromkeys(t.get("needs", []))),
        files=tuple(merged.get("files", [])),
        timeout=float(merged["timeout"]) if "timeout" in merged else None,
        retries=int(merged.get("retries", 0)),
        retry_delay=float(merged.get("retry_delay", 1.0)),
        env={k: str(v) for k, v in env.items()},
        cwd=cwd
        if stream is not None
        else resolved.get(cwd) or resolved.setdefault(cwd, str((base / cwd).resolve())),
        priority=int(merged.get("priority", 0)),
        model=merged.get("model"),
        complexity=merged.get("complexity"),
        line=loc.header(i),
        resources={k: float(v) for k, v in merged.get("resources", {}).items()},
        stream=stream,
    )


def _check_needs(
    tasks: list[TaskSpec], path: Path, loc: _Locator, n_tables: int, checkpoints: list[Any]
) -> None:
    """Every `needs` names another task, and no cycle; `tasks` past the first `n_tables` are
    the checkpoints' synthetic tasks (located at their `[[checkpoint]]` tables)."""
    index = {t.id: i for i, t in enumerate(tasks)}
    for i, t in enumerate(tasks):
        for dep in t.needs:
            if dep not in index:
                raise PlanError(
                    path,
                    loc.task(i, "needs"),
                    f"task {t.id}: needs unknown task '{dep}'{_suggest(dep, set(index))}",
                )
            if dep == t.id:
                raise PlanError(path, loc.task(i, "needs"), f"task {t.id}: needs itself")
    cycle = find_cycle(tasks)
    if cycle:
        first = index[cycle[0]]
        line = loc.task(first, "needs")
        if first >= n_tables:  # a checkpoint's synthetic task
            line = next(c.line for c in checkpoints if c.id == cycle[0])
        raise PlanError(path, line, "dependency cycle: " + " -> ".join([*cycle, cycle[0]]))


def _check_sections(
    data: dict[str, Any], path: Path, loc: _Locator
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], int | None]:
    """[agent], [budget], [models], [executor] and `workers`: (agent, budget, executor,
    workers)."""
    for section in ("agent", "budget", "models"):
        if section in data and not isinstance(data[section], dict):
            raise PlanError(path, loc.section("", section), f"'{section}' must be a table")
    budget = data.get("budget", {})
    for key, value in budget.items():
        if key not in {"session_usd", "daily_usd", "monthly_usd", "soft_ratio"}:
            raise PlanError(path, loc.section("budget", key), f"[budget]: unknown key '{key}'")
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise PlanError(path, loc.section("budget", key), f"[budget]: '{key}' must be >= 0")
    agent = data.get("agent", {})
    backend = agent.get("backend", "command")
    if backend not in ("command", "anthropic"):
        raise PlanError(
            path, loc.section("agent", "backend"), "[agent]: backend must be command or anthropic"
        )
    if "command" in agent and "{prompt}" not in str(agent["command"]):
        raise PlanError(
            path, loc.section("agent", "command"), "[agent]: command must contain {prompt}"
        )
    try:
        executor = check_table(data.get("executor", {}))
    except ExecutorTableError as exc:
        bad = re.search(r"'(\w+)'", str(exc))
        line = loc.section("executor", bad.group(1) if bad else None)
        raise PlanError(path, line, f"[executor]: {exc}") from None
    workers = data.get("workers")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise PlanError(path, loc.section("", "workers"), "'workers' must be a positive integer")
    return agent, budget, executor, workers


def find_cycle(tasks: list[TaskSpec]) -> list[str] | None:
    """Iterative DFS (plans can be thousands deep); returns one cycle's task ids in order."""
    needs = {t.id: t.needs for t in tasks}
    color: dict[str, int] = {}
    for root in needs:
        if color.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                color[node] = 1
                path.append(node)
            deps = needs[node]
            if i < len(deps):
                stack.append((node, i + 1))
                dep = deps[i]
                state = color.get(dep, 0)
                if state == 1:
                    return path[path.index(dep) :]
                if state == 0:
                    stack.append((dep, 0))
            else:
                color[node] = 2
                path.pop()
    return None
