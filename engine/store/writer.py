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

from engine.events import SCHEMA_VERSION, Event, OutputLine
from engine.security.masking import LineRedactor, redact
from engine.store.db import StoreError, connect, iso_from_ts, open_db

T = TypeVar("T")
Op = tuple[str, Sequence[Any]]
Subscriber = Callable[["Batch"], None]

DEFAULT_OUTPUT_CAP = 5000
#: After the first queued item, wait this long for company: a few ms of latency buys commits of
#: dozens of changes instead of one each, and far fewer thread hand-offs on a busy engine.
#: Writer CPU for 2,000 one-line tasks on 8 workers (A/B medians): 2 ms 0.30-0.37 s, 5 ms
#: 0.24 s, 10 ms 0.21 s, 20 ms 0.19 s with the whole run ~25 ms shorter than at 5 ms (each
#: commit rewrites the same hot pages into the WAL: the sessions row, index tails). The app
#: polls at 10 Hz and a crash loses at most one group either way: 20 ms is not seen. A flush,
#: a call or close ends the linger at once: whoever waits on the writer is owed the commit now
#: (three flushes sit on every run's critical path: creation, the session's end, closing).
LINGER_S = 0.02
#: ...but only while the group is smaller than this: a bigger one commits at once. A steady
#: flood (200,000 events through the Collector, 100 a publish) otherwise idles the writer for
#: the whole linger every group: 62,000 events/s lingering always, 83,000/s so (73,000/s with
#: the old 5 ms linger).
LINGER_BELOW_ROWS = 500
#: Rows (ops + events + lines) one group commit takes at most. Bounds what a killed process can
#: lose (one group in flight) and how long subscribers wait behind a flood; ~5,000 rows commit in
#: tens of milliseconds here, and larger groups gain almost nothing (bench/telemetry.py).
DEFAULT_MAX_BATCH = 5000
_json = json.JSONEncoder(default=str).encode  # built once: json.dumps(default=) builds one per call
_EVENT_INSERT = (
    "INSERT INTO events (ts, type, level, session_id, task_id, worker_id, data, v)"
    " VALUES (?,?,?,?,?,?,?,?)"
)


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
    derived: Sequence[Op] = ()


@dataclass(slots=True)
class _Call:
    fn: Callable[[sqlite_utils.Database], Any]
    future: Future[Any]


_STOP = object()


def _rows(item: Any) -> int:
    """How many rows a queued item will write (a call counts as one)."""
    if isinstance(item, _Write):
        return len(item.ops) + len(item.events) + len(item.lines) + len(item.derived) or 1
    return 1


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

    def __init__(
        self,
        path: str | Path,
        *,
        output_cap: int = DEFAULT_OUTPUT_CAP,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self.path = Path(path)
        self.output_cap = output_cap
        self.linger = LINGER_S
        self.max_batch = max(1, max_batch)
        open_db(self.path).close()  # create + migrate before anyone writes
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._subscribers: list[Subscriber] = []
        self._local = threading.local()
        self._seq: dict[tuple[str, str], int] = {}
        # output lines are masked per stream: a private key's body lines only show as one there
        self._line_redactor = LineRedactor()
        self._closed = False
        self._ready = threading.Event()
        # Set by whoever waits on the writer (a call, a flush, close): ends the linger at once.
        self._hurry = threading.Event()
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
        derived: Sequence[Op] = (),
    ) -> None:
        """Queue writes; they commit with the next group, in order, then reach subscribers.

        `derived` are statements that insert events SQLite builds from rows this write adds
        (a `task.queued` per task row: one statement instead of thousands of rows bound from
        Python). They run right after this write's own events, so event ids keep submission
        order; subscribers are not sent them, and they may only copy columns that were masked
        on their way in (their own parameters are masked as any op's). Each counts as one row
        towards `max_batch`.
        """
        if self._closed:
            raise RuntimeError("store is closed")
        self._queue.put(_Write(ops, events, lines, derived))

    def publish(self, *events: Event) -> None:
        self.write(events=events)

    def call(self, fn: Callable[[sqlite_utils.Database], T]) -> Future[T]:
        """Run `fn(db)` on the writer inside BEGIN IMMEDIATE; resolve the future with its result."""
        fut: Future[T] = Future()
        self._queue.put(_Call(fn, fut))
        self._hurry.set()
        return fut

    async def acall(self, fn: Callable[[sqlite_utils.Database], T]) -> T:
        return await asyncio.wrap_future(self.call(fn))

    def flush(self, timeout: float | None = 30.0) -> None:
        """Block until everything queued before this call is committed."""
        if threading.current_thread() is self._thread:
            return
        self.call(lambda db: None).result(timeout)
        error, self._error = self._error, None
        if error is not None:  # a group was dropped (damaged file, full disk): say so, once
            raise StoreError(f"{self.path}: a write failed: {error}")

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

    @property
    def closed(self) -> bool:
        """True once `close()` was called: nothing more can be written."""
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._hurry.set()
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
            pending: list[Any] = [self._queue.get()]
            rows = self._take(pending, _rows(pending[0]))
            if (
                self.linger
                and rows < min(LINGER_BELOW_ROWS, self.max_batch)
                and all(isinstance(it, _Write) for it in pending)
            ):
                # A small group waits for company, unless someone waits on it (a call, a
                # flush, close: `_hurry`). A large one is company enough: lingering would
                # only idle the writer while a fast producer piles up more; and a full one
                # left items queued (perhaps the flush whose `_hurry` this round clears).
                self._hurry.wait(self.linger)
                rows = self._take(pending, rows)
            self._hurry.clear()
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

    def _take(self, pending: list[Any], rows: int) -> int:
        """Group commit: add what piled up in the queue to `pending`, up to `max_batch` rows."""
        while rows < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            pending.append(item)
            rows += _rows(item)
        return rows

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

    def _line_row(
        self, conn: Any, ln: OutputLine, trimmed: dict[tuple[str, str], int]
    ) -> dict[str, Any]:
        """An output line's row (masked, numbered per task); notes where the cap trims."""
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
        ln.line = self._line_redactor.line((*key, ln.attempt, ln.stream), ln.line)
        if seq > self.output_cap:
            trimmed[key] = seq - self.output_cap
        return {
            "session_id": ln.session_id,
            "task_id": ln.task_id,
            "attempt": ln.attempt,
            "seq": seq,
            "stream": ln.stream,
            "line": ln.line,
            "ts": iso_from_ts(ln.ts),
        }

    def _commit(self, db: sqlite_utils.Database, writes: Iterable[_Write]) -> None:
        batch = Batch()
        event_rows: list[tuple[Any, ...]] = []
        line_rows: list[dict[str, Any]] = []
        trimmed: dict[tuple[str, str], int] = {}
        conn = db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            run_sql: str | None = None
            run_params: list[list[Any]] = []
            for w in writes:
                for sql, params in w.ops:  # runs of one statement go in one executemany
                    if sql != run_sql:
                        if run_params:
                            conn.executemany(run_sql, run_params)  # type: ignore[arg-type]
                        run_sql, run_params = sql, []
                    run_params.append(_mask_params(params))
                for ev in w.events:
                    ev.data = _mask_data(ev.data)
                    event_rows.append(
                        (
                            iso_from_ts(ev.ts),
                            str(ev.type),
                            str(ev.level),
                            ev.session_id,
                            ev.task_id,
                            ev.worker_id,
                            _json(ev.data),
                            SCHEMA_VERSION,
                        )
                    )
                    batch.events.append(ev)
                if w.derived:  # after this write's events and before any later write's
                    if run_params:
                        conn.executemany(run_sql, run_params)  # type: ignore[arg-type]
                        run_sql, run_params = None, []
                    if event_rows:
                        conn.executemany(_EVENT_INSERT, event_rows)
                        event_rows = []
                    for sql, params in w.derived:
                        conn.execute(sql, _mask_params(params))
                for ln in w.lines:
                    line_rows.append(self._line_row(conn, ln, trimmed))
                    batch.lines.append(ln)
            if run_params:
                conn.executemany(run_sql, run_params)  # type: ignore[arg-type]
            if event_rows:  # plain executemany: sqlite-utils' insert_all doubles the cost here
                conn.executemany(_EVENT_INSERT, event_rows)
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
