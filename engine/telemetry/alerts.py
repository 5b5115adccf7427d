"""The alert monitor: evaluates thresholds, raises and clears alerts as events, keeps history.

It is a store subscriber (a committed batch with task ends, worker or budget events asks for
an early evaluation) plus a periodic `evaluate()` on its own thread, so SQL never runs on the
writer thread or an event loop. A transition is written as one group: the `alerts` row (one
open episode per key, enforced by a unique index) and the ALERT_RAISED / ALERT_CLEARED event —
committed together, announced after. State is re-read from `alerts` before each evaluation,
so a restarted process (or a second one) continues the same episodes instead of re-raising.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine import clock
from engine.events import Event, EventType, Level
from engine.store import Batch, Store, iso_from_ts
from engine.store.queryable import Queryable
from engine.telemetry.collector import level_at_least
from engine.telemetry.metrics import rows
from engine.telemetry.probes import PROBES, Sample
from engine.telemetry.thresholds import BUILTIN, Threshold

#: Event types that can move a threshold: their arrival triggers an early evaluation.
TRIGGERS = frozenset(
    {
        EventType.TASK_SUCCEEDED,
        EventType.TASK_FAILED,
        EventType.TASK_TIMED_OUT,
        EventType.TASK_RETRIED,
        EventType.TASK_QUEUED,
        EventType.WORKER_OFFLINE,
        EventType.LOCK_VIOLATION,
        EventType.AGENT_CALL,
        EventType.BUDGET_WARNING,
        EventType.BUDGET_EXCEEDED,
        EventType.SESSION_STARTED,
        EventType.SESSION_COMPLETED,
        EventType.SESSION_FAILED,
        EventType.SESSION_CANCELLED,
    }
)


@dataclass(frozen=True, slots=True)
class Transition:
    key: str
    threshold: Threshold
    sample: Sample
    before: Level | None
    after: Level | None

    @property
    def bound(self) -> float | None:
        level = self.after or self.before
        return self.threshold.bounds.get(level) if level else None

    def message(self) -> str:
        t, s = self.threshold, self.sample
        where = f" [{s.scope}]" if s.scope else ""
        value = "n/a" if s.value is None else f"{s.value:.4g}"
        if self.after is None:
            return f"{t.id}{where} cleared: {t.metric} {value}"
        return f"{t.id}{where}: {t.metric} {value} {t.direction} {self.bound:.4g} ({self.after})"


class AlertMonitor:
    """Attach to a store; call `start()` (background) or `evaluate()` (on demand)."""

    def __init__(
        self,
        store: Store,
        thresholds: Sequence[Threshold] | None = None,
        *,
        interval: float = 5.0,
        min_gap: float = 2.0,
    ) -> None:
        self.store = store
        self.thresholds = [t for t in (thresholds or BUILTIN) if t.enabled and t.bounds]
        self.interval = interval
        # At most one event-triggered evaluation per min_gap seconds, the first one too: an
        # evaluation is ~15 ms of probes, and a session's first events (thousands of
        # task.queued) say nothing a threshold needs at once.
        self.min_gap = min_gap
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe = None
        self._lock = threading.Lock()

    # -- running -----------------------------------------------------------------------------

    def start(self) -> AlertMonitor:
        if self._thread is None:
            self._unsubscribe = self.store.subscribe(self._on_batch)
            self._thread = threading.Thread(target=self._loop, name="br-alerts", daemon=True)
            self._thread.start()
        return self

    def stop(self, *, final: bool = True) -> None:
        """Stop the thread; by default evaluate once more so the last state is recorded."""
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join()
            self._thread = None
        if final and not self.store.closed:
            self.evaluate()
            self.store.flush()

    def __enter__(self) -> AlertMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_batch(self, batch: Batch) -> None:  # writer thread: only set a flag
        if any(ev.type in TRIGGERS for ev in batch.events):
            self._wake.set()

    def _loop(self) -> None:
        self._stop.wait(self.min_gap)
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            if self._stop.is_set():
                return
            self._wake.clear()
            try:
                self.evaluate()
            except Exception as exc:  # a failed probe must not kill monitoring
                import sys

                print(f"br-tui: alert evaluation failed: {exc!r}", file=sys.stderr)
            self._stop.wait(self.min_gap)

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, now: float | None = None) -> list[Event]:
        """Probe every threshold, apply hysteresis, record transitions; returns their events."""
        with self._lock:
            now = clock.now() if now is None else now
            db = self.store.reader
            open_levels = {r["key"]: Level(r["level"]) for r in _open(db)}
            transitions: list[Transition] = []
            for t in self.thresholds:
                seen: set[str] = set()
                for sample in PROBES[t.metric](db, iso_from_ts(now - t.window_s)):
                    key = f"{t.id}/{sample.scope}" if sample.scope else t.id
                    seen.add(key)
                    before = open_levels.get(key)
                    if sample.value is not None and sample.n < t.min_samples:
                        after = before  # too little data to move either way
                    else:
                        after = t.level_for(sample.value, before)
                    if after != before:
                        transitions.append(Transition(key, t, sample, before, after))
                for key, before in open_levels.items():  # scopes that vanished: clear them
                    if key.split("/", 1)[0] == t.id and key not in seen:
                        scope = key.split("/", 1)[1] if "/" in key else ""
                        transitions.append(Transition(key, t, Sample(scope, None), before, None))
            if transitions:
                self._record(transitions, now)
            return [_event(tr, now) for tr in transitions]

    def _record(self, transitions: list[Transition], now: float) -> None:
        stamp = iso_from_ts(now)
        ops: list[tuple[str, Sequence[Any]]] = []
        for tr in transitions:
            msg = tr.message()
            if tr.before is None:
                ops.append((
                    "INSERT OR IGNORE INTO alerts (key, threshold, scope, level, peak_level,"
                    " value, bound, message, raised_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (tr.key, tr.threshold.id, tr.sample.scope, tr.after, tr.after,
                     tr.sample.value, tr.bound, msg, stamp, stamp),
                ))  # fmt: skip
            elif tr.after is None:
                ops.append((
                    "UPDATE alerts SET cleared_at=?, updated_at=?, value=coalesce(?, value),"
                    " message=? WHERE key=? AND cleared_at IS NULL",
                    (stamp, stamp, tr.sample.value, msg, tr.key),
                ))  # fmt: skip
            else:
                ops.append((
                    "UPDATE alerts SET level=?, peak_level=CASE WHEN ? > 0 THEN ? ELSE"
                    " peak_level END, value=?, bound=?, message=?, updated_at=?"
                    " WHERE key=? AND cleared_at IS NULL",
                    (tr.after, int(_rank(tr.after) > _rank(tr.before)), tr.after,
                     tr.sample.value, tr.bound, msg, stamp, tr.key),
                ))  # fmt: skip
        self.store.write(ops, [_event(tr, now) for tr in transitions])


def _rank(level: Level | None) -> int:
    return -1 if level is None else list(Level).index(level)


def _event(tr: Transition, now: float) -> Event:
    cleared = tr.after is None
    return Event(
        EventType.ALERT_CLEARED if cleared else EventType.ALERT_RAISED,
        tr.sample.session_id,
        tr.sample.task_id,
        data={
            "key": tr.key,
            "threshold": tr.threshold.id,
            "metric": tr.threshold.metric,
            "scope": tr.sample.scope,
            "value": tr.sample.value,
            "bound": tr.bound,
            "from": tr.before and str(tr.before),
            "message": tr.message(),
        },
        level=Level.INFO if cleared else tr.after,
        ts=now,
    )


def _open(db: Queryable) -> list[dict[str, Any]]:
    return rows(db, "SELECT * FROM alerts WHERE cleared_at IS NULL ORDER BY raised_at")


def active_alerts(db: Queryable, *, min_level: Level | str | None = None) -> list[dict[str, Any]]:
    """Open alerts, most severe first (what the app shows in its alert bar)."""
    found = _open(db)
    if min_level:
        found = [a for a in found if level_at_least(a["level"], min_level)]
    return sorted(found, key=lambda a: -_rank(Level(a["level"])))


def alert_history(
    db: Queryable, *, min_level: Level | str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Alert episodes, newest first, open and cleared (filtered by the level they peaked at)."""
    found = rows(db, "SELECT * FROM alerts ORDER BY raised_at DESC, id DESC LIMIT ?", [limit])
    if min_level:
        found = [a for a in found if level_at_least(a["peak_level"], min_level)]
    return found
