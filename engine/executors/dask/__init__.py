"""Scale-out: a session's tasks on a Dask cluster (`pip install 'br-tui[dask]'`).

Importing this package costs nothing: `distributed` is imported only by `make_executor`, when
a session whose plan asks for Dask starts. `cluster_members` (what the app and the CLI show)
reads the owner's rows and never touches the cluster.

- `executor`: the owner's side (submit, stream, control, loss detection);
- `remote`: what runs on a Dask worker (the process group, its output, its signals);
- `members`: the cluster's workers as rows of the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.executors.dask.members import cluster_address, cluster_members, format_bytes

if TYPE_CHECKING:
    from engine.executors.dask.executor import DaskExecutor
    from engine.plan import TaskSpec
    from engine.store import Store


def make_executor(
    store: Store,
    session_id: str,
    table: Mapping[str, Any],
    specs: Mapping[str, TaskSpec],
    *,
    heartbeat_timeout: float = 30.0,
) -> DaskExecutor:
    """The executor for a session whose `[executor]` table says `kind = "dask"`. Raises
    ExecutorUnavailable when distributed is not installed."""
    try:
        from engine.executors.dask.executor import DaskExecutor
    except ImportError as exc:
        from engine.executors.base import ExecutorUnavailable

        raise ExecutorUnavailable(
            f"this plan runs on Dask, which is not installed ({exc.name}):"
            " pip install 'br-tui[dask]'"
        ) from None
    return DaskExecutor(store, session_id, table, specs, heartbeat_timeout=heartbeat_timeout)


__all__ = ["cluster_address", "cluster_members", "format_bytes", "make_executor"]
