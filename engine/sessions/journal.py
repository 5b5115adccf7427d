"""The journal: the one writer of a session's rows and events.

Every change to a session — its status and counters, a task's state, an attempt, a worker, a
lock taken or waited for, a control answered — is written here, rows and the events that
announce them in one group commit (written before announced: see `engine.store.writer`). The
runner decides, the journal records; `control` (recovery, cancelling a session nobody owns)
and `repo` (a new session's rows) record through it too, so "who writes a task's row?" has one
answer. Callers hand in extra ops (a lock release) to land in the same commit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from engine import clock
from engine.events import DEFAULT_LEVELS, SCHEMA_VERSION, Event, EventType, Level, OutputLine
from engine.executors import Outcome
from engine.locks import HOST
from engine.plan import Plan
from engine.security.masking import redact
from engine.sessions.states import SessionStatus, TaskState
from engine.store import Op, Store, iso_from_ts, now_iso
from engine.workers import Worker, WorkerStatus

Ops = list[Op]

_TASK_END = (
    "UPDATE tasks SET state=?, ended_at=?, exit_code=?, reason=?, duration_s="
    " CASE WHEN started_at IS NULL THEN NULL ELSE"
    " (julianday(?) - julianday(started_at)) * 86400.0 END WHERE session_id=? AND id=?"
)
_WORKER_UPSERT = (
    "INSERT INTO workers (session_id, id, status, current_task, done, failed, busy_s,"
    " started_at, heartbeat_at, owner_pid) VALUES (?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(session_id, id) DO UPDATE SET status=excluded.status,"
    " current_task=excluded.current_task, done=excluded.done, failed=excluded.failed,"
    " busy_s=excluded.busy_s, heartbeat_at=excluded.heartbeat_at"
)
_ATTEMPT_START = (
    "INSERT INTO attempts (session_id, task_id, attempt, worker_id, started_at, pid)"
    " VALUES (?,?,?,?,?,?)"
)
_ATTEMPT_END = (
    "UPDATE attempts SET ended_at=?, status=?, exit_code=?, reason=?, wall_s=?,"
    " cpu_s=?, peak_rss_kb=? WHERE session_id=? AND task_id=? AND attempt=?"
)
_END_EVENT = {
    TaskState.SUCCEEDED: EventType.TASK_SUCCEEDED,
    TaskState.FAILED: EventType.TASK_FAILED,
    TaskState.CANCELLED: EventType.TASK_CANCELLED,
}


# -- a new session ----------------------------------------------------------------------------


def session_created(
    store: Store, plan: Plan, session_id: str, *, name: str | None, workers: int | None
) -> None:
    """The session and all its tasks (masked), queued, in one commit."""
    now = clock.now()
    stamp = iso_from_ts(now)  # one moment: the session, its created event, every queued task
    ops: list[tuple[str, tuple[Any, ...]]] = [
        (
            "INSERT INTO sessions (id, name, plan_path, plan_hash, status, created_at, workers,"
            " total, config) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                session_id,
                name or plan.name,
                str(plan.path),
                plan.digest,
                SessionStatus.CREATED,
                stamp,
                workers,
                len(plan.tasks),
                json.dumps(plan.config),
            ),
        )
    ]
    events = [
        Event(
            EventType.SESSION_CREATED,
            session_id,
            data={"name": name or plan.name, "plan": str(plan.path), "total": len(plan.tasks)},
            ts=now,
        )
    ]
    for seq, task in enumerate(plan.tasks):
        spec = json.dumps(task.to_json())
        masked = redact(spec)
        ops.append(
            (
                "INSERT INTO tasks (session_id, id, seq, kind, spec, needs_plan, priority,"
                " state) VALUES (?,?,?,?,?,?,?,?)",
                (
                    session_id,
                    task.id,
                    seq,
                    task.kind,
                    masked,
                    int(masked != spec),
                    task.priority,
                    TaskState.QUEUED,
                ),
            )
        )
    queued = (  # every task enters the queue now: one event each, built by SQLite
        "INSERT INTO events (ts, type, level, session_id, task_id, data, v)"
        " SELECT ?, ?, ?, session_id, id, json_object('kind', kind), ? FROM tasks"
        " WHERE session_id = ? ORDER BY seq",
        (stamp, EventType.TASK_QUEUED, DEFAULT_LEVELS.get(EventType.TASK_QUEUED, Level.INFO),
         SCHEMA_VERSION, session_id),
    )  # fmt: skip
    if plan.streams:  # streams call site: base commit and target recorded at creation
        from engine.streams import stream_rows

        ops += stream_rows(plan, session_id, stamp)
    store.write(ops, events, derived=[queued])


class Journal:
    """Records one session's changes. `counts` are the session's counters (the runner keeps
    them current; every task end writes them with it)."""

    def __init__(self, store: Store, session_id: str, counts: dict[str, int]) -> None:
        self.store = store
        self.session_id = session_id
        self.counts = counts

    # -- the session ---------------------------------------------------------------------------

    def session_started(self, workers: int, wake: bool) -> str:
        """The owner takes the session (pid, host, heartbeat); returns the stamp it used."""
        from engine.sessions.claim import process_start  # claim -> repo -> journal

        stamp = now_iso()
        take = (
            "UPDATE sessions SET status=?, started_at=coalesce(started_at, ?), owner_pid=?,"
            " owner_host=?, owner_heartbeat_at=?, workers=?, owner_wake=?, owner_start=?"
            " WHERE id=?"
        )
        params = (SessionStatus.RUNNING, stamp, os.getpid(), HOST, stamp, workers, int(wake),
                  process_start(os.getpid()), self.session_id)  # fmt: skip
        self.store.write(
            [(take, params)],
            [Event(EventType.SESSION_STARTED, self.session_id, data={"workers": workers})],
        )
        return stamp

    def status(self, status: SessionStatus, etype: EventType, running: int) -> None:
        self.store.write(
            [("UPDATE sessions SET status=? WHERE id=?", (status, self.session_id))],
            [Event(etype, self.session_id, data={"running": running})],
        )

    def wake_off(self) -> None:
        """The owner no longer answers SIGUSR1: requesters fall back to waiting a poll."""
        self.store.write([("UPDATE sessions SET owner_wake=0 WHERE id=?", (self.session_id,))])

    def session_ended(
        self,
        status: SessionStatus,
        etype: EventType,
        reason: str | None,
        wall_s: float,
        workers: Iterable[Worker],
    ) -> None:
        stamp = now_iso()
        self.store.write(
            [
                (
                    "UPDATE sessions SET status=?, reason=?, ended_at=?, owner_heartbeat_at=?"
                    " WHERE id=?",
                    (status, reason, stamp, stamp, self.session_id),
                ),
                self.counts_op(),
                *(self.worker_op(w, stamp, WorkerStatus.OFFLINE) for w in workers),
                ("DELETE FROM locks WHERE session_id=?", (self.session_id,)),
            ],
            [
                Event(
                    etype,
                    self.session_id,
                    data={**self.counts, "wall_s": round(wall_s, 3), "reason": reason},
                )
            ],
        )

    def heartbeat(self, workers: Iterable[Worker]) -> None:
        stamp = now_iso()
        ops: Ops = [
            ("UPDATE sessions SET owner_heartbeat_at=? WHERE id=?", (stamp, self.session_id))
        ]
        ops += [self.worker_op(w, stamp) for w in workers]
        self.store.write(ops)

    def counts_op(self) -> Op:
        c = self.counts
        return (
            "UPDATE sessions SET succeeded=?, failed=?, cancelled=? WHERE id=?",
            (c["succeeded"], c["failed"], c["cancelled"], self.session_id),
        )

    # -- workers -------------------------------------------------------------------------------

    def worker_op(self, w: Worker, stamp: str, status: WorkerStatus | None = None) -> Op:
        return (
            _WORKER_UPSERT,
            (self.session_id, w.id, status or w.status, w.current_task, w.done, w.failed,
             round(w.busy_s, 3), stamp, stamp, os.getpid()),
        )  # fmt: skip

    def workers_online(self, workers: Sequence[Worker], stamp: str | None = None) -> None:
        stamp = stamp or now_iso()
        self.store.write(
            [self.worker_op(w, stamp) for w in workers],
            [Event(EventType.WORKER_ONLINE, self.session_id, worker_id=w.id) for w in workers],
        )

    def scaled(self, target: int, added: Sequence[Worker], retired: int) -> None:
        stamp = now_iso()
        self.store.write(
            [self.worker_op(w, stamp) for w in added]
            + [("UPDATE sessions SET workers=? WHERE id=?", (target, self.session_id))],
            [
                Event(EventType.WORKER_SCALED, self.session_id,
                      data={"target": target, "added": len(added), "retired": retired}),
                *(Event(EventType.WORKER_ONLINE, self.session_id, worker_id=w.id) for w in added),
            ],
        )  # fmt: skip

    def worker_retired(self, worker: Worker) -> None:
        self.store.write(
            [self.worker_op(worker, now_iso())],
            [Event(EventType.WORKER_OFFLINE, self.session_id, worker_id=worker.id,
                   data={"reason": "scaled down"})],
        )  # fmt: skip

    def worker_lost_event(self, worker: Worker, reason: str, tid: str | None) -> Event:
        return Event(EventType.WORKER_OFFLINE, self.session_id, worker_id=worker.id,
                     data={"reason": reason, "task": tid})  # fmt: skip

    def attempt_lost_op(self, tid: str, attempt: int, reason: str) -> Op:
        return (
            "UPDATE attempts SET ended_at=?, status='lost', reason=? WHERE session_id=?"
            " AND task_id=? AND attempt=?",
            (now_iso(), reason, self.session_id, tid, attempt),
        )

    def requeue_op(self, tid: str) -> Op:
        return (
            "UPDATE tasks SET state=?, worker_id=NULL WHERE session_id=? AND id=?",
            (TaskState.QUEUED, self.session_id, tid),
        )

    def requeued_event(self, tid: str, worker: Worker, reason: str, attempt: int) -> Event:
        return Event(EventType.TASK_REQUEUED, self.session_id, tid, worker.id,
                     data={"reason": reason, "attempt": attempt})  # fmt: skip

    def write(self, ops: Ops, events: list[Event]) -> None:
        self.store.write(ops, events)

    # -- tasks ---------------------------------------------------------------------------------

    def task_queued(self, tid: str) -> None:
        self.store.write(
            [("UPDATE tasks SET state=? WHERE session_id=? AND id=?",
              (TaskState.QUEUED, self.session_id, tid))]
        )  # fmt: skip

    def lock_waited(self, tid: str, holder: str) -> None:
        self.store.write(
            [("UPDATE tasks SET state=? WHERE session_id=? AND id=?",
              (TaskState.WAITING_LOCK, self.session_id, tid))],
            [Event(EventType.LOCK_WAITED, self.session_id, tid, data={"held_by": holder})],
        )  # fmt: skip

    def lock_acquired(self, tid: str, worker: Worker, files: Sequence[str]) -> None:
        self.store.publish(
            Event(EventType.LOCK_ACQUIRED, self.session_id, tid, worker.id,
                  data={"files": list(files)})
        )  # fmt: skip

    def task_started(
        self, tid: str, attempt: int, worker: Worker, kind: str, stamp: str, pgid: int | None
    ) -> None:
        """The start and the process group land in one commit: recovery needs the pid."""
        sid = self.session_id
        self.store.write(
            [
                ("UPDATE tasks SET state=?, attempts=?, worker_id=?,"
                 " started_at=coalesce(started_at, ?) WHERE session_id=? AND id=?",
                 (TaskState.RUNNING, attempt, worker.id, stamp, sid, tid)),
                (_ATTEMPT_START, (sid, tid, attempt, worker.id, stamp, pgid)),
            ],
            [Event(EventType.TASK_STARTED, sid, tid, worker.id,
                   data={"attempt": attempt, "kind": kind})],
        )  # fmt: skip

    def output(self, tid: str, attempt: int, stream: str, line: str) -> None:
        self.store.write(lines=[OutputLine(self.session_id, tid, attempt, stream, line)])

    def attempt_end_op(self, tid: str, attempt: int, outcome: Outcome, stamp: str) -> Op:
        return (
            _ATTEMPT_END,
            (stamp, outcome.status, outcome.exit_code, outcome.reason, round(outcome.wall_s, 6),
             outcome.cpu_s, outcome.peak_rss_kb, self.session_id, tid, attempt),
        )  # fmt: skip

    def task_retrying(
        self, tid: str, worker: Worker, outcome: Outcome, data: dict[str, Any], ops: Ops,
        extra: list[Event],
    ) -> None:  # fmt: skip
        ops = [
            *ops,
            ("UPDATE tasks SET state=?, exit_code=?, reason=? WHERE session_id=? AND id=?",
             (TaskState.RETRYING, outcome.exit_code, outcome.reason, self.session_id, tid)),
        ]  # fmt: skip
        self.store.write(
            ops, [Event(EventType.TASK_RETRIED, self.session_id, tid, worker.id, data=data), *extra]
        )

    def task_end_op(
        self, tid: str, final: TaskState, stamp: str, outcome: Outcome | None, reason: str | None
    ) -> Op:
        exit_code = outcome.exit_code if outcome else None
        return (_TASK_END, (final, stamp, exit_code, reason, stamp, self.session_id, tid))

    def tasks_ended(
        self,
        ended: Sequence[tuple[str, TaskState, str | None]],
        *,
        outcome: Outcome | None = None,
        ops: Ops = (),  # type: ignore[assignment]
        events: Sequence[Event] = (),
        stamp: str | None = None,
    ) -> None:
        """Tasks that ended — (id, final state, reason) — with the session's counters, in one
        commit. `outcome` belongs to the first (the one that ran); `events` replace the plain
        end event of the first; the rest are cascades and get theirs."""
        stamp = stamp or now_iso()
        out = list(ops)
        evs = list(events)
        for i, (tid, final, reason) in enumerate(ended):
            out.append(self.task_end_op(tid, final, stamp, outcome if i == 0 else None, reason))
            if i or not events:
                evs.append(Event(_END_EVENT[final], self.session_id, tid, data={"reason": reason}))
        out.append(self.counts_op())
        self.store.write(out, evs)

    # -- control -------------------------------------------------------------------------------

    async def pending_controls(self) -> list[dict[str, Any]]:
        return await self.store.aquery(
            "SELECT id, action, arg FROM controls WHERE session_id=? AND handled_at IS NULL"
            " ORDER BY id",
            (self.session_id,),
        )

    def control_answered(self, row: dict[str, Any], result: str) -> None:
        self.store.write(
            [("UPDATE controls SET handled_at=?, result=? WHERE id=?",
              (now_iso(), result, row["id"]))],
            [Event(EventType.CONTROL_RECEIVED, self.session_id,
                   data={"action": row["action"], "arg": row["arg"], "result": result})],
        )  # fmt: skip


def outcome_data(attempt: int, outcome: Outcome) -> dict[str, Any]:
    """The payload of an attempt's end event."""
    data: dict[str, Any] = {
        "attempt": attempt,
        "exit_code": outcome.exit_code,
        "wall_s": round(outcome.wall_s, 4),
        "cpu_s": outcome.cpu_s,
        "peak_rss_kb": outcome.peak_rss_kb,
    }
    if outcome.reason:
        data["reason"] = outcome.reason
    if outcome.usage:
        data["usage"] = outcome.usage
    return data


# -- a session nobody owns (inside the writer's BEGIN IMMEDIATE: see `control`) -----------------


def control_requested(store: Store, session_id: str, action: str, arg: str | None) -> int:
    """A control row for the session's owner to obey; its id (to wait for the answer)."""
    return store.call(
        lambda db: (
            db["controls"]
            .insert(
                {
                    "session_id": session_id,
                    "action": action,
                    "arg": arg,
                    "requested_at": now_iso(),
                    "requested_by": os.getpid(),
                }
            )
            .last_pk
        )
    ).result()


def owner_claimed(db: sqlite_utils.Database, sid: str, pid: int, start: str | None) -> None:
    """Inside `claim_session`'s transaction: this process (pid, host, start time) owns `sid`."""
    db.execute(
        "UPDATE sessions SET owner_pid=?, owner_host=?, owner_heartbeat_at=?, owner_start=?"
        " WHERE id=?",
        (pid, HOST, now_iso(), start, sid),
    )


def take_back(
    db: sqlite_utils.Database, sid: str, stamp: str, why: str, dead_pid: int | None
) -> dict[str, list[str]]:
    """A dead owner's session made resumable: its open attempts lost, workers offline,
    unfinished tasks queued, locks freed, no owner (only if the owner is still `dead_pid`: a
    claim that won meanwhile keeps its pid). Returns the workers and tasks it touched."""
    workers = [
        r["id"]
        for r in db.query(
            "SELECT id FROM workers WHERE session_id=? AND status != 'offline'", (sid,)
        )
    ]
    active = (TaskState.RUNNING, TaskState.WAITING_LOCK, TaskState.RETRYING)
    tasks = _task_ids(db, sid, "IN", active)
    db.execute(
        "UPDATE attempts SET ended_at=?, status='lost', reason=? WHERE session_id=?"
        " AND ended_at IS NULL",
        (stamp, why, sid),
    )
    db.execute("UPDATE workers SET status='offline', current_task=NULL WHERE session_id=?", (sid,))
    db.execute(
        "UPDATE tasks SET state=?, worker_id=NULL WHERE session_id=? AND state IN (?,?,?)",
        (TaskState.QUEUED, sid, *active),
    )
    db.execute("DELETE FROM locks WHERE session_id=?", (sid,))
    db.execute("UPDATE sessions SET owner_pid=NULL WHERE id=? AND owner_pid IS ?",
               (sid, dead_pid))  # fmt: skip
    return {"workers": workers, "tasks": tasks}


def _task_ids(
    db: sqlite_utils.Database, sid: str, among: str, states: Sequence[TaskState]
) -> list[str]:
    """Ids of the session's tasks whose state is (`among="IN"`) or isn't in `states`."""
    marks = ",".join("?" * len(states))
    sql = f"SELECT id FROM tasks WHERE session_id=? AND state {among} ({marks})"
    return [r["id"] for r in db.query(sql, (sid, *states))]


def taken_back_events(
    sid: str, why: str, killed: int, workers: list[str], tasks: list[str]
) -> list[Event]:
    """What `take_back` did, as events (written after its transaction)."""
    events = [
        Event(EventType.SESSION_RECOVERED, sid,
              data={"reason": why, "killed": killed, "requeued": len(tasks)})
    ]  # fmt: skip
    events += [
        Event(EventType.WORKER_OFFLINE, sid, worker_id=w, data={"reason": why}) for w in workers
    ]
    events += [Event(EventType.TASK_REQUEUED, sid, t, data={"reason": why}) for t in tasks]
    return events


def cancel_all(db: sqlite_utils.Database, sid: str, stamp: str, reason: str) -> list[str]:
    """A session nobody runs, cancelled: its unfinished tasks and itself. Returns the tasks."""
    ended = (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)
    ids = _task_ids(db, sid, "NOT IN", ended)
    db.execute(
        "UPDATE tasks SET state=?, reason=?, ended_at=? WHERE session_id=?"
        " AND state NOT IN (?,?,?)",
        (TaskState.CANCELLED, reason, stamp, sid, *ended),
    )
    db.execute(
        "UPDATE sessions SET status=?, reason=?, ended_at=?, cancelled=(SELECT count(*)"
        " FROM tasks WHERE session_id=? AND state='cancelled') WHERE id=?",
        (SessionStatus.CANCELLED, reason, stamp, sid, sid),
    )
    return ids


def cancelled_events(sid: str, ids: list[str], reason: str) -> list[Event]:
    return [
        *(Event(EventType.TASK_CANCELLED, sid, t, data={"reason": reason}) for t in ids),
        Event(EventType.SESSION_CANCELLED, sid, data={"reason": reason}),
    ]
