"""What read-only code asks of a database handle: a `Store` or a `sqlite_utils.Database`.

Both answer `query(sql, params)` with dicts, so metrics, costs and the read model take either.
Imported by type checkers only where start-up matters (`routing` on a hook's path).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol


class Queryable(Protocol):
    def query(self, sql: str, params: Sequence[Any] = ...) -> Iterable[dict[str, Any]]: ...
