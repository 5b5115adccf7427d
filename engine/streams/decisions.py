"""The shared decisions log: what one stream learned that the others must know, at once.

Entries come from a person (`br-tui decide`, a key in the app) or from a task: every task of a
session with streams, and every agent task, gets `$BR_DECISIONS`, a private file it may append
lines to; each non-empty line becomes an entry attributed to the task and its stream when the
task ends. Entries are masked on the way into the database (the store masks every text it
writes) and stamped by the one clock. Every agent task gets the log in its prompt context.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.security.masking import redact
from engine.store import Store
from engine.streams import records

MAX_ENTRY_CHARS = 2000
MAX_FILE_BYTES = 256 * 1024
#: Context given to agents: the newest entries, up to this many characters.
CONTEXT_CHARS = 6000


class DecisionError(Exception):
    pass


def add(
    store: Store,
    session_id: str,
    text: str,
    *,
    author: str,
    task_id: str | None = None,
    stream_id: str | None = None,
) -> str:
    """Record one entry; returns the text as stored (masked, trimmed)."""
    text = " ".join(text.split())
    if not text:
        raise DecisionError("a decision needs some text")
    if len(text) > MAX_ENTRY_CHARS:
        text = text[: MAX_ENTRY_CHARS - 1] + "…"
    text = redact(text)
    records.decision_write(
        store, session_id, text, author=author, task_id=task_id, stream_id=stream_id
    )
    return text


def collect_file(
    store: Store, session_id: str, path: str | Path, *, task_id: str, stream_id: str | None
) -> list[str]:
    """Entries a task appended to its `$BR_DECISIONS` file; the file is removed afterwards."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES)
    except FileNotFoundError:
        return []
    finally:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    added = []
    author = f"task {task_id}" + (f" (stream {stream_id})" if stream_id else "")
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            added.append(
                add(store, session_id, line, author=author, task_id=task_id, stream_id=stream_id)
            )
    return added


def decisions_dir(store: Store, session_id: str) -> Path:
    """Private directory beside the database for the tasks' decision files."""
    path = Path(store.path).resolve().parent / "decisions" / session_id
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    return path


def context(entries: list[dict[str, Any]]) -> str:
    """The decisions as a prompt section, newest kept when the log is long."""
    if not entries:
        return ""
    lines: list[str] = []
    used = 0
    for e in reversed(entries):
        who = e["author"]
        line = f"- [{e['ts'][:19]}Z, {who}] {e['text']}"
        if used + len(line) > CONTEXT_CHARS:
            lines.append(f"- ({len(entries) - len(lines)} older entries not shown)")
            break
        lines.append(line)
        used += len(line)
    return "Shared decisions of this session (every stream reads these):\n" + "\n".join(
        reversed(lines)
    )
