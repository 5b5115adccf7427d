"""The SQLite store: schema and migrations, WAL, one writer thread with group commit."""

from engine.store.db import (
    DEFAULT_DB,
    StoreError,
    connect,
    iso_from_ts,
    now_iso,
    open_db,
    resolve_db_path,
)
from engine.store.queryable import Queryable
from engine.store.writer import Batch, Op, Store

__all__ = [
    "DEFAULT_DB",
    "Batch",
    "Op",
    "Queryable",
    "Store",
    "StoreError",
    "connect",
    "iso_from_ts",
    "now_iso",
    "open_db",
    "resolve_db_path",
]
