"""The `[executor]` table: where a plan's tasks run. Validated here, used by the runner.

Kept apart from any executor so that reading a plan never imports a cluster library: the
table is plain data until a session with `kind = "dask"` starts.
"""

from __future__ import annotations

import re
from typing import Any

KINDS = ("local", "dask")
KEYS = {"kind", "address", "connect_timeout"}
_LOCAL = re.compile(r"^local(?::([0-9]+))?$")
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?[A-Za-z0-9_.\-\[\]:]+:[0-9]{1,5}$")


class ExecutorTableError(ValueError):
    """A bad `[executor]` table or `--dask` value; the message names the key."""


def dask_target(text: str) -> dict[str, Any]:
    """`--dask ADDRESS` or `--dask local[:N]` as an executor table."""
    return check_table({"kind": "dask", "address": text.strip()})


def check_table(table: dict[str, Any]) -> dict[str, Any]:
    """The table with defaults applied, or ExecutorTableError naming what is wrong."""
    for key in table:
        if key not in KEYS:
            raise ExecutorTableError(f"unknown key '{key}' (one of {', '.join(sorted(KEYS))})")
    kind = table.get("kind", "local")
    if kind not in KINDS:
        raise ExecutorTableError(f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "local":
        if "address" in table:
            raise ExecutorTableError("'address' needs kind = \"dask\"")
        return {}
    address = table.get("address")
    if not isinstance(address, str) or not address:
        raise ExecutorTableError(
            'kind = "dask" needs an \'address\': "tcp://HOST:PORT" or "local[:N]"'
        )
    local = _LOCAL.match(address)
    if local:
        if local.group(1) is not None and int(local.group(1)) < 1:
            raise ExecutorTableError("'address' local:N needs N of at least 1")
    elif not _ADDRESS.match(address):
        raise ExecutorTableError(
            f"'address' {address!r} is not a scheduler address (tcp://HOST:PORT) or local[:N]"
        )
    out: dict[str, Any] = {"kind": "dask", "address": address}
    timeout = table.get("connect_timeout")
    if timeout is not None:
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise ExecutorTableError("'connect_timeout' must be a positive number of seconds")
        out["connect_timeout"] = float(timeout)
    return out


def local_workers(address: str) -> int | None:
    """N for `local:N`, 0 for a bare `local` (the executor picks), None for a real address."""
    m = _LOCAL.match(address)
    if m is None:
        return None
    return int(m.group(1)) if m.group(1) else 0
