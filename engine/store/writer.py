"""The store's single writer: a thread that owns the write connection and commits in groups.

The engine's hot path (task state changes, output lines, events) must not pay a commit each,
and must never block the event loop on SQLite. Producers append to a queue; the writer drains
whatever has accumulated, writes it in one transaction, commits, and only then announces the
batch to subscribers — so nothing is ever shown that a crash could lose. Work that must be
atomic across processes (lock claims, control rows) is sent as a call that runs in its own
`BEGIN IMMEDIATE` transaction and returns a value to the caller.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from engine.security.masking import redact
from engine.store.db import connect, iso_from_ts, open_db
from engine.telemetry.events import SCHEMA_VERSION, Event, OutputLine

T = TypeVar("T")
Op = tuple[str, Sequence[Any]]
Subscriber = Callable[["Batch"], None]

DEFAULT_OUTPUT_CAP = 5000


@dataclass(slots=True)
class Batch:
    """What one commit made durable, as subscribers see it (already masked)."""

    events: list[Event] = field(default_factory=list)
    lines: list[OutputLine] = field(default_factory=list)


@dataclass(slots=True)
class _Write:
    ops: Sequence[Op]
    events: Sequence[Event]
    lines: Sequence[OutputLine]


@dataclass(slots=True)
class _Call:
    fn: Callable[[sqlite_utils.Database], Any]
    future: Future[Any]


_STOP = object()


def _mask_params(params: Sequence[Any]) -> list[Any]:
    return [redact(p) if isinstance(p, str) else p for p in params]


def _mask_data(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _mask_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_data(v) for v in value]
    return value


class Store:
    """The database, its writer thread and its subscribers. One per process and path."""

    def __init__(self, path: str | Path, *, output_cap: int = DEFAULT_OUTPUT_CAP) -> None:
        self.path = Path(path)
        self.output_cap = output_cap
        open_db(self.path).close()  # create + migrate before anyone writes
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._subscribers: list[Subscriber] = []
        self._local = threading.local()
        self._seq: dict[tuple[str, str], int] = {}
        self._closed = False
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="br-store-writer", daemon=True)
        self._thread.start()
        self._ready.wait()

    # -- producers ---------------------------------------------------------------------------

    def write(
        self,
        ops: Sequence[Op] = (),
        events: Sequence[Event] = (),
        lines: Sequence[OutputLine] = (),
    ) -> None:
        """Queue writes; they commit with the next group, in order, then reach subscribers."""
        if self._closed:
            raise RuntimeError("store is closed")
        self._queue.put(_Write(ops, events, lines))

    def publish(self, *events: Event) -> None:
        self.write(events=events)

    def call(self, fn: Callable[[sqlite_utils.Database], T]) -> Future[T]:
        """Run `fn(db)` on the writer inside BEGIN IMMEDIATE; resolve the future with its result."""
        fut: Future[T] = Future()
        self._queue.put(_Call(fn, fut))
        return fut

    async def acall(self, fn: Callable[[sqlite_utils.Database], T]) -> T:
        return await asyncio.wrap_future(self.call(fn))

    def flush(self, timeout: float | None = 30.0) -> None:
        """Block until everything queued before this call is committed."""
        if threading.current_thread() is self._thread:
            return
        self.call(lambda db: None).result(timeout)

    async def aflush(self) -> None:
        await self.acall(lambda db: None)

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """`fn(batch)` runs on the writer thread after each commit; it must be quick and
        thread-safe (hand off with `loop.call_soon_threadsafe` or `App.call_from_thread`)."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    # -- readers -----------------------------------------------------------------------------

    @property
    def reader(self) -> sqlite_utils.Database:
        """This thread's read connection (sqlite-utils connections are thread-bound)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
        return db

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        return list(self.reader.query(sql, params))

    async def aquery(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.query, sql, params)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        db = connect(self.path)
        self._ready.set()
        stop = False
        while not stop:
            item = self._queue.get()
            pending: list[Any] = [item]
            while True:  # group commit: take everything that piled up meanwhile
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            writes: list[_Write] = []
            for it in pending:
                if it is _STOP:
                    stop = True
                elif isinstance(it, _Write):
                    writes.append(it)
                else:
                    if writes:
                        self._commit(db, writes)
                        writes = []
                    self._run_call(db, it)
            if writes:
                self._commit(db, writes)
        db.close()

    def _run_call(self, db: sqlite_utils.Database, call: _Call) -> None:
        if not call.future.set_running_or_notify_cancel():
            return
        try:
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                result = call.fn(db)
            except BaseException:
                db.conn.execute("ROLLBACK")
                raise
            db.conn.execute("COMMIT")
        except BaseException as exc:
            call.future.set_exception(exc)
        else:
            call.future.set_result(result)

    def _commit(self, db: sqlite_utils.Database, writes: Iterable[_Write]) -> None:
        batch = Batch()
        event_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        trimmed: dict[tuple[str, str], int] = {}
        conn = db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for w in writes:
                for sql, params in w.ops:
                    conn.execute(sql, _mask_params(params))
                for ev in w.events:
                    ev.data = _mask_data(ev.data)
                    event_rows.append(
                        {
                            "ts": iso_from_ts(ev.ts),
                            "type": str(ev.type),
                            "level": str(ev.level),
                            "session_id": ev.session_id,
                            "task_id": ev.task_id,
                            "worker_id": ev.worker_id,
                            "data": json.dumps(ev.data, default=str),
                            "v": SCHEMA_VERSION,
                        }
                    )
                    batch.events.append(ev)
                for ln in w.lines:
                    key = (ln.session_id, ln.task_id)
                    seq = self._seq.get(key)
                    if seq is None:
                        row = conn.execute(
                            "SELECT max(seq) FROM output WHERE session_id=? AND task_id=?", key
                        ).fetchone()
                        seq = row[0] or 0
                    seq += 1
                    self._seq[key] = seq
                    ln.seq = seq
                    ln.line = redact(ln.line)
                    line_rows.append(
                        {
                            "session_id": ln.session_id,
                            "task_id": ln.task_id,
                            "attempt": ln.attempt,
                            "seq": seq,
                            "stream": ln.stream,
                            "line": ln.line,
                            "ts": iso_from_ts(ln.ts),
                        }
                    )
                    if seq > self.output_cap:
                        trimmed[key] = seq - self.output_cap
                    batch.lines.append(ln)
            if event_rows:
                db["events"].insert_all(event_rows, batch_size=500)
            if line_rows:
                db["output"].insert_all(line_rows, batch_size=500)
            for (session_id, task_id), upto in trimmed.items():
                conn.execute(
                    "DELETE FROM output WHERE session_id=? AND task_id=? AND seq<=?",
                    (session_id, task_id, upto),
                )
            conn.execute("COMMIT")
        except BaseException as exc:  # keep the writer alive; report and drop this group
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._error = exc
            import sys

            print(f"br-tui: store write failed: {exc}", file=sys.stderr)
            return
        if batch.events or batch.lines:
            for fn in list(self._subscribers):
                try:
                    fn(batch)
                except Exception as exc:  # a broken subscriber must not stop persistence
                    import sys

                    print(f"br-tui: subscriber failed: {exc!r}", file=sys.stderr)
