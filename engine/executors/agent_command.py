"""The `command` agent backend: a coding-agent CLI run like any task.

The template (`claude -p {prompt} --model {model} --output-format json` by default) is split
into words once, then placeholders are filled word by word: a prompt full of quotes, `$(...)`
or newlines stays one argument and never meets a shell. The process runs through
`SubprocessExecutor`, so process group, timeout, pause / resume / cancel and streaming come
for free. The agent's final JSON (Claude Code print mode: `result`, `is_error`,
`total_cost_usd`, `usage`, `modelUsage`, `duration_ms`, `num_turns`) is held back from the
output stream, parsed for usage and cost, and its `result` text is streamed instead.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from engine.executors.agent_call import CallResult
from engine.executors.base import ControlSlot, RunContext
from engine.executors.subprocess import SubprocessExecutor
from engine.routing import failures
from engine.routing.models import ModelInfo, Usage

DEFAULT_TEMPLATE = "claude -p {prompt} --model {model} --output-format json"
PLACEHOLDERS = frozenset({"prompt", "model", "task_id", "session_id", "cwd"})
_FIELD = re.compile(r"\{\{|\}\}|\{(\w*)\}")
_MAX_HELD = 4 * 1024 * 1024  # bytes of JSON we keep to parse; beyond that cost is unknown
_TAIL = 40  # lines of output kept to classify a failure
_RETRY_AFTER = re.compile(r"retry[- ]after[\":= ]+(\d+(?:\.\d+)?)", re.I)


class TemplateError(ValueError):
    pass


def parse_template(template: str) -> list[str]:
    """Split once (POSIX rules) and check every placeholder is one we know."""
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise TemplateError(f"[agent] command: {exc}") from exc
    if not words:
        raise TemplateError("[agent] command is empty")
    for word in words:
        for m in _FIELD.finditer(word):
            if m.group(0) in ("{{", "}}"):
                continue
            if m.group(1) not in PLACEHOLDERS:
                known = ", ".join(sorted(PLACEHOLDERS))
                raise TemplateError(f"[agent] command: unknown placeholder {m.group(0)} ({known})")
    if not any("{prompt}" in w for w in words):
        raise TemplateError("[agent] command must contain {prompt}")
    return words


def build_argv(words: list[str], values: Mapping[str, str]) -> list[str]:
    """Fill placeholders inside each word; a word never splits or joins, whatever the value."""

    def fill(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values[m.group(1)]

    return [_FIELD.sub(fill, w) for w in words]


def _int(raw: Mapping[str, Any], *keys: str) -> int:
    for key in keys:
        value = raw.get(key)
        if isinstance(value, int | float):
            return int(value)
    return 0


def usage_from_json(raw: Mapping[str, Any]) -> Usage:
    """Claude Code / Messages API usage (snake_case) or modelUsage entries (camelCase)."""
    creation = raw.get("cache_creation")
    one_hour = _int(creation, "ephemeral_1h_input_tokens") if isinstance(creation, dict) else 0
    return Usage(
        input_tokens=_int(raw, "input_tokens", "inputTokens"),
        output_tokens=_int(raw, "output_tokens", "outputTokens"),
        cache_read_tokens=_int(raw, "cache_read_input_tokens", "cacheReadInputTokens"),
        cache_write_tokens=_int(raw, "cache_creation_input_tokens", "cacheCreationInputTokens"),
        cache_write_1h_tokens=one_hour,
    )


def _final_json(held: list[str]) -> dict[str, Any] | None:
    """The last JSON object in what the agent printed. Very long lines arrive in pieces, so
    try joining from each `{` that starts a piece, latest first."""
    starts = [i for i, piece in enumerate(held) if piece.lstrip().startswith("{")]
    for i in reversed(starts[-20:]):
        for glue in ("", "\n"):
            try:
                data = json.loads(glue.join(held[i:]))
            except ValueError:
                continue
            if isinstance(data, dict):
                return data
    return None


class CommandBackend:
    name = "command"

    def __init__(self, template: str = DEFAULT_TEMPLATE) -> None:
        self.template = template
        self.words = parse_template(template)
        self.runner = SubprocessExecutor()

    async def call(self, ctx: RunContext, model: ModelInfo, slot: ControlSlot) -> CallResult:
        values = {
            "prompt": ctx.prompt or "",
            "model": model.name,
            "task_id": ctx.task_id,
            "session_id": ctx.session_id,
            "cwd": ctx.cwd,
        }
        argv = build_argv(self.words, values)
        held: list[str] = []
        held_bytes = 0
        tail: list[str] = []

        def on_line(stream: str, line: str) -> None:
            nonlocal held_bytes
            if stream == "stdout" and (held or line.lstrip().startswith("{")):
                if held_bytes < _MAX_HELD:
                    held.append(line)
                    held_bytes += len(line)
                return
            tail.append(line)
            del tail[:-_TAIL]
            ctx.on_line(stream, line)

        outcome = await self.runner.run(replace(ctx, argv=argv, on_line=on_line), slot)
        data = _final_json(held)
        result = CallResult(
            status=outcome.status,
            latency_s=outcome.wall_s,
            exit_code=outcome.exit_code,
            cpu_s=outcome.cpu_s,
            peak_rss_kb=outcome.peak_rss_kb,
        )
        if data is None:
            for line in held:  # not JSON after all: show it as it was
                ctx.on_line("stdout", line)
                tail.append(line)
            del tail[:-_TAIL]
        else:
            self._read_json(data, result, ctx)
        if outcome.status == "timeout":
            result.failure_class = failures.TIMEOUT
            result.error = outcome.reason
        elif outcome.status == "failed" and result.failure_class is None:
            text = "\n".join([result.error or "", *tail])
            result.failure_class = failures.classify_text(text)
            result.error = result.error or outcome.reason or (tail[-1] if tail else "failed")
        if result.failure_class in (failures.RATE_LIMITED, failures.OVERLOADED):
            found = _RETRY_AFTER.search("\n".join([result.error or "", *tail]))
            result.retry_after = float(found.group(1)) if found else None
        if data is None and outcome.status == "succeeded":
            result.error = "no JSON result from the agent: usage and cost unknown"
        return result

    def _read_json(self, data: dict[str, Any], result: CallResult, ctx: RunContext) -> None:
        text = data.get("result")
        if isinstance(text, str) and text:
            result.text = text
            for line in text.splitlines():
                ctx.on_line("stdout", line)
        usage = data.get("usage")
        if isinstance(usage, dict):
            result.usage = usage_from_json(usage)
        per_model = data.get("modelUsage")
        if isinstance(per_model, dict):
            for name, raw in per_model.items():
                if isinstance(raw, dict):
                    cost = raw.get("costUSD")
                    result.model_usage[name] = (
                        usage_from_json(raw),
                        float(cost) if isinstance(cost, int | float) else None,
                    )
        cost = data.get("total_cost_usd", data.get("cost_usd"))
        if isinstance(cost, int | float):
            result.reported_cost_usd = float(cost)
        turns = data.get("num_turns")
        if isinstance(turns, int):
            result.num_turns = turns
        duration = data.get("duration_ms")
        if isinstance(duration, int | float) and duration > 0:
            result.latency_s = duration / 1000.0
        subtype = str(data.get("subtype") or "")
        if data.get("is_error") or subtype.startswith("error"):
            message = text if isinstance(text, str) and text else subtype or "agent error"
            result.error = message
            result.failure_class = failures.classify_text(message)
            if result.status == "succeeded":
                result.status = "failed"
