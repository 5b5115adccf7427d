"""A Dask session's cluster workers as rows: written by its owner, read by the app and the CLI.

The owner holds the only connection to the cluster, so another process (the app watching, a
second terminal) learns of the cluster's workers from these rows. Nothing here imports
distributed: reading them costs a query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.store import Store

Op = tuple[str, tuple[Any, ...]]

_UPSERT = (
    "INSERT INTO cluster_workers (session_id, address, name, status, threads, memory_limit,"
    " memory, resources, current_task, running, done, failed, seen_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(session_id, address) DO UPDATE SET"
    " name=excluded.name, status=excluded.status, threads=excluded.threads,"
    " memory_limit=excluded.memory_limit, memory=excluded.memory,"
    " resources=excluded.resources, current_task=excluded.current_task,"
    " running=excluded.running, done=excluded.done, failed=excluded.failed,"
    " seen_at=excluded.seen_at"
)


@dataclass(slots=True)
class Member:
    """One Dask worker as the owner sees it, with this session's work on it."""

    address: str
    name: str | None = None
    status: str = "idle"  # idle | busy | offline: the pool's vocabulary
    threads: int | None = None
    memory_limit: int | None = None
    memory: int | None = None
    resources: dict[str, float] | None = None
    tasks: tuple[str, ...] = ()
    done: int = 0
    failed: int = 0

    def op(self, session_id: str, stamp: str) -> Op:
        return (
            _UPSERT,
            (
                session_id,
                self.address,
                self.name,
                self.status,
                self.threads,
                self.memory_limit,
                self.memory,
                json.dumps(self.resources) if self.resources else None,
                ", ".join(self.tasks) or None,
                len(self.tasks),
                self.done,
                self.failed,
                stamp,
            ),
        )


def offline_op(session_id: str, stamp: str) -> Op:
    """Every member of the session offline: its owner stopped watching the cluster."""
    return (
        "UPDATE cluster_workers SET status='offline', current_task=NULL, running=0, seen_at=?"
        " WHERE session_id=? AND status != 'offline'",
        (stamp, session_id),
    )


def cluster_members(store: Store, session_ids: str | Sequence[str]) -> list[dict[str, Any]]:
    """The cluster workers of these sessions, in address order within each session.

    Keys: session_id, address, name, status, threads, memory_limit, memory, resources (a
    dict or None), current_task, running, done, failed, seen_at.
    """
    ids = [session_ids] if isinstance(session_ids, str) else list(session_ids)
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = store.query(
        f"SELECT * FROM cluster_workers WHERE session_id IN ({marks}) ORDER BY session_id, address",
        ids,
    )
    for row in rows:
        row["resources"] = json.loads(row["resources"]) if row["resources"] else None
    return rows


def format_bytes(n: int | None) -> str:
    """`1.5 GiB`: memory figures for a table cell."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def members_from_identity(
    workers: dict[str, dict[str, Any]],
    running: dict[str, list[str]],
    done: dict[str, int],
    failed: dict[str, int],
    gone: Iterable[str] = (),
) -> list[Member]:
    """Members from the scheduler's `identity()["workers"]` and this session's bookkeeping."""
    out = []
    for address, info in sorted(workers.items()):
        tasks = tuple(running.get(address, ()))
        out.append(
            Member(
                address=address,
                name=str(info.get("name")) if info.get("name") is not None else None,
                status="busy" if tasks else "idle",
                threads=info.get("nthreads"),
                memory_limit=info.get("memory_limit"),
                memory=(info.get("metrics") or {}).get("memory"),
                resources=info.get("resources") or None,
                tasks=tasks,
                done=done.get(address, 0),
                failed=failed.get(address, 0),
            )
        )
    for address in sorted(set(gone) - set(workers)):
        out.append(
            Member(
                address=address,
                status="offline",
                done=done.get(address, 0),
                failed=failed.get(address, 0),
            )
        )
    return out


def cluster_address(session: Mapping[str, Any]) -> str | None:
    """The Dask address a session runs on (from its row), or None for a local session."""
    try:
        config = json.loads(session.get("config") or "{}")
    except ValueError:
        return None
    table = config.get("executor") or {}
    return table.get("address") if table.get("kind") == "dask" else None
