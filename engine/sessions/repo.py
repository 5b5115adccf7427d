"""Sessions as rows: create from a plan, look up, list, clean up.

A task's command, prompt and env are stored masked. When masking changed them, the row is
flagged `needs_plan`: a process that resumes the session re-reads those tasks from the plan
file (checked against the digest recorded at creation) instead of running a masked command.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

from engine import clock
from engine.plan import Plan, PlanError, TaskSpec, load_plan
from engine.sessions import journal
from engine.sessions.states import FINISHED_SESSION, SessionStatus
from engine.store import Store


class SessionError(Exception):
    """An unknown, ambiguous or unusable session id: one line for the user."""


def new_session_id() -> str:
    return secrets.token_hex(4)


def check_agent_config(plan: Plan) -> None:
    """A plan with agent tasks has its [agent] / [budget] / [models] tables checked up front
    (PlanError): needs no database, so a refused plan leaves none behind."""
    if any(t.prompt is not None for t in plan.tasks):
        from engine.executors.agent import make_agent_executor

        try:
            make_agent_executor(None, plan.config)
        except ValueError as exc:
            raise PlanError(plan.path, None, f"agent configuration: {exc}") from None


def create_session(
    store: Store, plan: Plan, *, name: str | None = None, workers: int | None = None
) -> str:
    """Write the session and all its tasks (masked) in one commit; returns the session id.

    A plan with agent tasks has its [agent] / [budget] / [models] tables checked first, so a
    typo refuses the session up front instead of failing (or spending) halfway through.
    """
    check_agent_config(plan)
    session_id = new_session_id()
    journal.session_created(store, plan, session_id, name=name, workers=workers)
    return session_id


def resolve_session(store: Store, ref: str | None) -> dict[str, Any]:
    """A full id, a unique prefix, a session name, or None for the latest session."""
    if ref is None:
        rows = store.query("SELECT * FROM sessions ORDER BY created_at DESC, rowid DESC LIMIT 1")
        if not rows:
            raise SessionError("no sessions yet: start one with `br-tui run PLAN`")
        return rows[0]
    if not ref:
        raise SessionError("empty session id (see `br-tui list`)")
    rows = store.query("SELECT * FROM sessions WHERE id = ?", (ref,))
    if not rows:
        rows = store.query(
            "SELECT * FROM sessions WHERE substr(id, 1, length(?)) = ? OR name = ?"
            " ORDER BY created_at DESC",  # a literal prefix: `_` and `%` are not wildcards
            (ref, ref, ref),
        )
    if not rows:
        raise SessionError(f"unknown session '{ref}' (see `br-tui list`)")
    if len(rows) > 1 and len({r["id"] for r in rows if r["id"].startswith(ref)}) > 1:
        raise SessionError(f"session '{ref}' is ambiguous: {', '.join(r['id'] for r in rows)}")
    return rows[0]


def session_tasks(store: Store, session_id: str) -> list[dict[str, Any]]:
    return store.query("SELECT * FROM tasks WHERE session_id = ? ORDER BY seq", (session_id,))


def task_states(store: Store, session_id: str) -> list[dict[str, Any]]:
    """Each task's id, state and attempts so far (what a resumed runner starts from)."""
    return store.query("SELECT id, state, attempts FROM tasks WHERE session_id=?", (session_id,))


def load_specs(store: Store, session: dict[str, Any]) -> list[TaskSpec]:
    """The runnable specs of a session's tasks, re-reading the plan where rows are masked."""
    rows = session_tasks(store, session["id"])
    plan: Plan | None = None
    specs = []
    for row in rows:
        if row["needs_plan"]:
            if plan is None:
                try:
                    plan = load_plan(session["plan_path"])
                except PlanError as exc:
                    raise SessionError(
                        f"session {session['id']} holds masked secrets and its plan can't be"
                        f" re-read: {exc}"
                    ) from None
                if plan.digest != session["plan_hash"]:
                    raise SessionError(
                        f"session {session['id']}: plan {session['plan_path']} changed since the"
                        " session started; its masked commands can't be restored"
                    )
            specs.append(plan.task(row["id"]))
        else:
            specs.append(TaskSpec.from_json(row["id"], json.loads(row["spec"])))
    return specs


def list_sessions(
    store: Store, status: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    if status is not None and status not in {s.value for s in SessionStatus}:
        valid = ", ".join(s.value for s in SessionStatus)
        raise SessionError(f"unknown status '{status}' (one of {valid})")
    sql = "SELECT * FROM sessions"
    params: list[Any] = []
    if status:
        sql += " WHERE status = ?"
        params.append(status)
    sql += " ORDER BY created_at DESC, rowid DESC"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return store.query(sql, params)


def cleanup(store: Store, days: float, *, dry_run: bool = False) -> list[dict[str, Any]]:
    """Finished sessions that ended more than `days` ago, with all their rows."""
    cutoff = (clock.now_dt() - timedelta(days=days)).isoformat(timespec="microseconds")
    marks = ",".join("?" * len(FINISHED_SESSION))
    old = store.query(
        f"SELECT id, name, status, ended_at FROM sessions WHERE status IN ({marks})"
        " AND coalesce(ended_at, created_at) < ? ORDER BY created_at",
        [*[s.value for s in FINISHED_SESSION], cutoff],
    )
    if old and not dry_run:
        ids = [r["id"] for r in old]

        def delete(db: Any) -> None:
            q = ",".join("?" * len(ids))
            tables = ("output", "events", "attempts", "workers", "cluster_workers", "locks",
                      "controls", "tasks")  # fmt: skip
            for table in tables:
                db.execute(f"DELETE FROM {table} WHERE session_id IN ({q})", ids)
            db.execute(f"DELETE FROM sessions WHERE id IN ({q})", ids)

        store.call(delete).result()
    return old
