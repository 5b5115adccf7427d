"""Helpers for agent tests: a store in a temp dir, a RunContext, and what got recorded."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from engine.executors.base import RunContext
from engine.store import Store

FAKE_CLAUDE = Path(__file__).with_name("fake_claude.py")
FAKE_TEMPLATE = (
    f"{sys.executable} {FAKE_CLAUDE} -p {{prompt}} --model {{model}} --output-format json"
)


def make_ctx(
    prompt: str,
    *,
    task_id: str = "t1",
    session_id: str = "s1",
    env: dict[str, str] | None = None,
    timeout: float | None = 20.0,
    model: str | None = None,
    complexity: str | None = None,
    cwd: str | None = None,
) -> tuple[RunContext, list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_AGENT", "ANTHROPIC"))}
    ctx = RunContext(
        session_id=session_id,
        task_id=task_id,
        attempt=1,
        worker_id="w1",
        argv=None,
        cwd=cwd or os.getcwd(),
        env={**base, **(env or {})},
        timeout=timeout,
        on_line=lambda stream, line: lines.append((stream, line)),
        prompt=prompt,
        model=model,
        extra={"complexity": complexity, "files": [], "task_env": {}},
    )
    return ctx, lines


def calls(store: Store) -> list[dict[str, Any]]:
    store.flush()
    return store.query("SELECT * FROM agent_calls ORDER BY id")


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    store.flush()
    return store.query("SELECT * FROM events WHERE type = ? ORDER BY id", [kind])
