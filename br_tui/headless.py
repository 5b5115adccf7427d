"""Headless verbs: run a plan, inspect and steer sessions, from scripts, CI and other terminals.

Conventions shared by every verb: `--json` for machine-readable output on stdout, errors as one
line on stderr, exit 0 success, 1 something failed, 2 usage/plan/database error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from engine import cli_support as cli
from engine import clock, views
from engine.cli_support import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from engine.events import EventType
from engine.plan import PlanError
from engine.sessions import (
    SessionError,
    SessionStatus,
    cleanup,
    list_sessions,
    owner_alive,
    request,
    resolve_session,
)
from engine.sessions import owner as sessions_owner
from engine.sessions.owner import Owner
from engine.store import Batch, Store, StoreError, resolve_db_path
from engine.store.health import describe
from engine.views import run_summary


def _dask(text: str) -> dict[str, Any]:
    from engine.plan.executor import ExecutorTableError, dask_target

    try:
        return dask_target(text)
    except ExecutorTableError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(prog="br-tui", description="Run build plans in parallel, headless.")
    common = cli.common_options()
    sub = cli.subcommands(p, "verb")

    run = sub.add_parser("run", parents=[common], help="run a plan to the end")
    run.add_argument("plan")
    run.add_argument("--workers", type=cli.positive, help="parallel workers (default: CPU count)")
    run.add_argument("--max-workers", type=cli.positive, default=64)
    run.add_argument("--name", help="session name (default: the plan's name)")
    run.add_argument("--heartbeat-timeout", type=float, default=30.0)
    run.add_argument("--quiet", action="store_true", help="no progress line")
    run.add_argument(
        "--dask",
        type=_dask,
        metavar="ADDRESS",
        help="run the tasks on a Dask cluster: tcp://HOST:PORT, or local[:N] to start one here",
    )

    st = sub.add_parser("status", parents=[common], help="a session and its tasks")
    st.add_argument("session", nargs="?", help="id, id prefix or name (default: latest)")

    ls = sub.add_parser("list", parents=[common], help="sessions, newest first")
    ls.add_argument("--status", help="only sessions in this status")
    ls.add_argument("--limit", type=cli.positive)

    controls = {
        "pause": "stop dispatch, SIGSTOP running tasks",
        "cancel": "cancel a session: running tasks get SIGTERM, then SIGKILL",
    }
    answer = argparse.ArgumentParser(add_help=False)
    answer.add_argument(
        "--wait",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long to wait for the session's owner to answer (5)",
    )
    for verb, text in controls.items():
        c = sub.add_parser(verb, parents=[common, answer], help=text)
        c.add_argument("session", nargs="?")
    rs = sub.add_parser(
        "resume",
        parents=[common, answer],
        help="continue a paused session, or recover and finish one",
    )
    rs.add_argument("session", nargs="?")
    rs.add_argument("--workers", type=cli.positive)
    rs.add_argument("--heartbeat-timeout", type=float, default=30.0)
    rs.add_argument("--quiet", action="store_true")

    sc = sub.add_parser(
        "scale", parents=[common, answer], help="grow or shrink a running session's pool"
    )
    sc.add_argument("session", nargs="?")
    sc.add_argument("workers", type=cli.positive)

    wk = sub.add_parser("workers", parents=[common], help="the workers of a session")
    wk.add_argument("session", nargs="?")
    sub.add_parser("summary", parents=[common], help="totals across all sessions")
    cl = sub.add_parser("cleanup", parents=[common], help="delete old finished sessions")
    cl.add_argument("--days", type=float, default=30.0, help="ended more than DAYS ago (30)")
    cl.add_argument("--dry-run", action="store_true")
    cl.add_argument("--force", action="store_true", help="also remove unmerged stream branches")
    return p


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except cli.UsageError as exc:
        return cli.fail(exc)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        admit(args)  # nothing created for a refused plan or a mistyped --db
        store = Store(resolve_db_path(args.db))
    except (StoreError, PlanError) as exc:
        return cli.fail(exc)
    try:
        return VERBS[args.verb](store, args)
    except (SessionError, PlanError, StoreError) as exc:
        return cli.fail(exc)
    except sqlite3.DatabaseError as exc:  # damage quick_check didn't reach (a large file)
        return cli.fail(StoreError(describe(store.path, str(exc))))
    finally:
        store.close()


def admit(args: argparse.Namespace) -> None:
    """Refuse before the database is touched: `run` loads and checks its plan first (kept on
    `args` for `cmd_run`); every other verb reads an existing database and never creates one."""
    if args.verb == "run":
        args.loaded_plan = sessions_owner.admit_plan(args.plan)
        return
    path = resolve_db_path(args.db)
    if not path.is_file():
        what = "is a directory, not a database file" if path.is_dir() else "no database here"
        raise StoreError(f"{path}: {what} (check --db / $BR_DB; `br-tui run PLAN` creates one)")


def _emit(args: argparse.Namespace, obj: Any, text: str) -> None:
    cli.emit(args.json, obj, text)


#: `run --json` prints these keys of a session object, plus the wall time (docs/cli.md).
RUN_KEYS = ("session_id", "name", "status", "total", "succeeded", "failed", "cancelled")


def session_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "session_id": row["id"],
        "name": row["name"],
        "status": row["status"],
        "total": row["total"],
        "succeeded": row["succeeded"],
        "failed": row["failed"],
        "cancelled": row["cancelled"],
        "created_at": row["created_at"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "workers": row["workers"],
        "plan": row["plan_path"],
        "reason": row["reason"],
        "owner_pid": row["owner_pid"],
        "owner_alive": owner_alive(row),
    }


def _ago(iso: str | None) -> str:
    """The same age text as the app's (`5m03s ago`): one format wherever a user reads it."""
    from br_tui.widgets.fmt import ago

    return ago(iso, clock.now_dt())


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]  # fmt: skip
    return "\n".join(lines)


# -- run / resume --------------------------------------------------------------------------


class ProgressLine:
    """A one-line progress display on stderr, redrawn at most 10 times a second."""

    def __init__(self, total: int, done: int = 0) -> None:
        self.total = total
        self.done = done
        self.failed = 0
        self.running = 0
        self._last = 0.0
        self.enabled = sys.stderr.isatty()

    def on_batch(self, batch: Batch) -> None:
        for ev in batch.events:
            if ev.type is EventType.TASK_STARTED:
                self.running += 1
            elif ev.type in (EventType.TASK_SUCCEEDED, EventType.TASK_FAILED,
                             EventType.TASK_TIMED_OUT, EventType.TASK_CANCELLED,
                             EventType.TASK_RETRIED, EventType.TASK_REQUEUED):  # fmt: skip
                if ev.worker_id is not None and ev.type is not EventType.TASK_REQUEUED:
                    self.running = max(0, self.running - 1)
                if ev.type not in (EventType.TASK_RETRIED, EventType.TASK_REQUEUED):
                    self.done += 1
                if ev.type in (EventType.TASK_FAILED, EventType.TASK_TIMED_OUT):
                    self.failed += 1
        now = time.monotonic()
        if self.enabled and now - self._last > 0.1:
            self._last = now
            self.draw()

    def draw(self) -> None:
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(
            f"\r[{bar}] {self.done}/{self.total} done  {self.running} running"
            f"  {self.failed} failed \x1b[K"
        )
        sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def drive(store: Store, owner: Owner, args: argparse.Namespace) -> int:
    """Run a session in the foreground with a progress line; print how it ended."""
    progress = ProgressLine(owner.total, owner.done)
    progress.enabled = progress.enabled and not getattr(args, "quiet", False)
    try:
        result = owner.run(watch=progress.on_batch, bell=progress.enabled)
    finally:
        progress.clear()
    if args.json:
        full = session_json(resolve_session(store, result.session_id))
        print(json.dumps({**{k: full[k] for k in RUN_KEYS}, "wall_s": round(result.wall_s, 3)}))
    else:
        print(run_summary(store, result.session_id).text(result.wall_s))
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.status is SessionStatus.COMPLETED else EXIT_FAILED


def cmd_run(store: Store, args: argparse.Namespace) -> int:
    owner = sessions_owner.start(
        store,
        getattr(args, "loaded_plan", None) or args.plan,
        name=args.name,
        workers=args.workers,
        max_workers=args.max_workers,
        heartbeat_timeout=args.heartbeat_timeout,
        executor=args.dask,
    )
    if not args.json and not args.quiet and sys.stderr.isatty():
        print(f"br-tui: session {owner.session_id} — {owner.total} tasks", file=sys.stderr)
    return drive(store, owner, args)


def cmd_resume(store: Store, args: argparse.Namespace) -> int:
    res = sessions_owner.resume(
        store,
        args.session,
        workers=args.workers,
        heartbeat_timeout=args.heartbeat_timeout,
        wait=args.wait,
    )
    if res.owner is None:
        _emit(args, {"session_id": res.session_id, "result": res.answer},
              f"{res.session_id}: {res.answer}")  # fmt: skip
        return EXIT_OK
    note = sessions_owner.recovery_note(res)
    if note and not args.json:
        print(note, file=sys.stderr)
    return drive(store, res.owner, args)


# -- inspection and control ----------------------------------------------------------------


def cmd_status(store: Store, args: argparse.Namespace) -> int:
    row = resolve_session(store, args.session)
    tasks = views.tasks(store, row["id"])
    obj = {
        "session_id": row["id"],
        "name": row["name"],
        "status": row["status"],
        "tasks": [
            {
                "id": t["id"],
                "state": t["state"],
                "attempts": t["attempts"],
                "worker": t["worker_id"],
                "started_at": t["started_at"],
                "ended_at": t["ended_at"],
                "exit_code": t["exit_code"],
                "reason": t["reason"],
            }
            for t in tasks
        ],
    }
    if args.json:
        print(json.dumps(obj))
        return EXIT_OK
    orphan = row["status"] in ("running", "paused") and not owner_alive(row)
    note = f"  (owner gone: `br-tui resume {row['id']}` finishes it)" if orphan else ""
    head = (
        f"session {row['id']} ({row['name']}): {row['status']}{note}  "
        f"{row['succeeded']}/{row['total']} succeeded, {row['failed']} failed,"
        f" {row['cancelled']} cancelled"
    )
    body = _table(
        [
            [
                t["id"],
                t["state"],
                str(t["attempts"]),
                t["worker_id"] or "-",
                f"{t['duration_s']:.2f}s" if t["duration_s"] is not None else "-",
                "-" if t["exit_code"] is None else str(t["exit_code"]),
                t["reason"] or "",
            ]
            for t in tasks
        ],
        ["TASK", "STATE", "TRIES", "WORKER", "TIME", "EXIT", "REASON"],
    )
    print(f"{head}\n{body}")
    return EXIT_OK


def cmd_list(store: Store, args: argparse.Namespace) -> int:
    rows = list_sessions(store, args.status, args.limit)
    if args.json:
        print(json.dumps([session_json(r) for r in rows]))
        return EXIT_OK
    if not rows:
        print("no sessions")
        return EXIT_OK
    print(
        _table(
            [
                [
                    r["id"],
                    r["name"],
                    r["status"]
                    + ("?" if r["status"] in ("running", "paused") and not owner_alive(r) else ""),
                    f"{r['succeeded'] + r['failed'] + r['cancelled']}/{r['total']}",
                    str(r["failed"]),
                    _ago(r["created_at"]),
                ]
                for r in rows
            ],
            ["SESSION", "NAME", "STATUS", "DONE", "FAILED", "CREATED"],
        )
    )
    return EXIT_OK


def _control(verb: str):
    def cmd(store: Store, args: argparse.Namespace) -> int:
        row = resolve_session(store, args.session)
        result = request(store, row["id"], verb, wait=args.wait)
        _emit(args, {"session_id": row["id"], "result": result}, f"{row['id']}: {result}")
        return EXIT_OK

    return cmd


def cmd_scale(store: Store, args: argparse.Namespace) -> int:
    row = resolve_session(store, args.session)
    result = request(store, row["id"], "scale", str(args.workers), wait=args.wait)
    _emit(args, {"session_id": row["id"], "result": result}, f"{row['id']}: {result}")
    return EXIT_OK


def cmd_workers(store: Store, args: argparse.Namespace) -> int:
    row = resolve_session(store, args.session)
    from engine.executors.dask import cluster_address

    address = cluster_address(row)
    if address is not None:
        return _cluster_workers(store, row, address, args)
    workers = views.session_workers(store, row["id"])
    if args.json:
        keys = ("id", "status", "current_task", "done", "failed", "busy_s", "heartbeat_at",
                "utilization")  # fmt: skip
        print(json.dumps([{k: w[k] for k in keys} for w in workers]))
        return EXIT_OK
    print(f"session {row['id']} ({row['name']}): {row['status']}")
    print(
        _table(
            [
                [
                    w["id"],
                    w["status"],
                    w["current_task"] or "-",
                    str(w["done"]),
                    str(w["failed"]),
                    f"{w['busy_s']:.1f}s",
                    "-" if (u := w["utilization"]) is None else f"{u:.0%}",
                    _ago(w["heartbeat_at"]),
                ]
                for w in workers
            ],
            ["WORKER", "STATUS", "TASK", "DONE", "FAILED", "BUSY", "UTIL", "HEARTBEAT"],
        )
    )
    return EXIT_OK


def _cluster_workers(
    store: Store, row: dict[str, Any], address: str, args: argparse.Namespace
) -> int:
    """A Dask session's pool is its cluster's workers, as its owner last saw them."""
    from engine.executors.dask import cluster_members, format_bytes

    members = cluster_members(store, row["id"])
    if args.json:
        keys = ("address", "name", "status", "threads", "memory", "memory_limit", "resources",
                "current_task", "done", "failed", "seen_at")  # fmt: skip
        print(json.dumps([{k: m[k] for k in keys} for m in members]))
        return EXIT_OK
    print(f"session {row['id']} ({row['name']}): {row['status']} on dask {address}")
    print(
        _table(
            [
                [
                    m["address"],
                    m["status"],
                    m["current_task"] or "-",
                    str(m["threads"] if m["threads"] is not None else "-"),
                    f"{format_bytes(m['memory'])} / {format_bytes(m['memory_limit'])}",
                    str(m["done"]),
                    str(m["failed"]),
                    _ago(m["seen_at"]),
                ]
                for m in members
            ],
            ["WORKER", "STATUS", "TASK", "THREADS", "MEMORY", "DONE", "FAILED", "SEEN"],
        )
    )
    return EXIT_OK


def cmd_summary(store: Store, args: argparse.Namespace) -> int:
    obj = views.overall(store)
    by_status, by_state = obj["sessions_by_status"], obj["tasks_by_state"]
    if args.json:
        print(json.dumps(obj))
        return EXIT_OK
    rate = f"{obj['success_rate']:.1%}" if obj["success_rate"] is not None else "-"
    statuses = ", ".join(f"{k} {v}" for k, v in by_status.items()) or "-"
    states = ", ".join(f"{k} {v}" for k, v in by_state.items()) or "-"
    print(
        f"sessions: {obj['sessions']} ({statuses})\n"
        f"tasks: {obj['tasks']} ({states})\n"
        f"success rate: {rate}   task time p50 {obj['task_p50_s']}s  p95 {obj['task_p95_s']}s\n"
        f"cpu: {obj['cpu_s']}s   peak rss: {obj['peak_rss_kb']} kB"
        + f"\ncost: ${obj['cost_usd']:.4f}"
    )
    return EXIT_OK


def cmd_cleanup(store: Store, args: argparse.Namespace) -> int:
    from engine.streams import cleanup_worktrees  # streams: merged worktrees, orphans

    trees = cleanup_worktrees(store, force=args.force, dry_run=args.dry_run)
    rows = cleanup(store, args.days, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    pruned = None
    from engine.telemetry.thresholds import ThresholdError, load_config

    try:
        retention = load_config(Path.cwd()).retention_s
    except ThresholdError as exc:
        raise SessionError(str(exc)) from None
    if retention and not args.dry_run:  # [telemetry] retention: raw events -> rollups only
        from engine.telemetry.rollups import prune

        pruned = prune(store, retention)
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "sessions": [r["id"] for r in rows],
                          "events_pruned": pruned, "worktrees": trees}, default=str))  # fmt: skip
    else:
        print(f"{verb} {len(rows)} session(s)" + "".join(f"\n  {r['id']} {r['name']} {r['status']}"
                                                          for r in rows))  # fmt: skip
        from engine.streams.cli import cleanup_text

        print(cleanup_text(trees, args.dry_run), end="")
    return EXIT_OK


VERBS = {
    "run": cmd_run,
    "resume": cmd_resume,
    "status": cmd_status,
    "list": cmd_list,
    "pause": _control("pause"),
    "cancel": _control("cancel"),
    "workers": cmd_workers,
    "scale": cmd_scale,
    "summary": cmd_summary,
    "cleanup": cmd_cleanup,
}

if os.environ.get("BR_TUI_DEBUG"):  # pragma: no cover
    import faulthandler

    faulthandler.enable()
