"""Shared helpers for the engine tests: plans on disk, the CLI as a real subprocess, polling."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BR = [sys.executable, "-m", "br_tui"]


def write_plan(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def br(
    *args: str, db: Path, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BR, *args, "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def br_json(*args: str, db: Path) -> Any:
    out = br(*args, "--json", db=db)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def spawn_br(*args: str, db: Path, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*BR, *args, "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_for(cond: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = cond()
        except (sqlite3.OperationalError, IndexError):  # no database or no row yet
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def proc_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    state = proc_state(pid)
    return state is not None and state != "Z"


def raw_bytes(db: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal"):
        p = Path(f"{db}{suffix}")
        if p.exists():
            data += p.read_bytes()
    return data


def git_init(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "t@example.com"],
        ["git", "config", "user.name", "t"],
    ):
        subprocess.run(cmd, cwd=path, check=True, env=env)


def child_pythonpath() -> str:
    """The repository first, then whatever the run already had (CI's date-moving
    `sitecustomize` lives there: a child that dropped it would see another date)."""
    root = str(Path(__file__).resolve().parent.parent)
    return os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
