"""`br-tui telemetry ...`: summary, events, alerts, performance, export, prune.

Same conventions as every headless verb: `--json` for machine-readable output on stdout, `--db`
(else $BR_DB, else ./.buildrunner/br.db), one line on stderr for errors; exit 0 ok, 2 usage or
database error. Everything printed comes from masked rows and is masked again on the way out.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any

from engine import cli_support as cli
from engine.cli_support import EXIT_OK, UsageError
from engine.events import Level
from engine.security.masking import redact
from engine.store import Store, StoreError, connect, open_db, resolve_db_path
from engine.store.health import check_intact
from engine.telemetry import metrics
from engine.telemetry.alerts import active_alerts, alert_history
from engine.telemetry.export import export_events, iter_events
from engine.telemetry.metrics import rows
from engine.telemetry.rollups import ATTEMPTS, prune, rollup_rows
from engine.telemetry.timeparse import parse_duration, since_iso


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _level(text: str) -> Level:
    try:
        return Level(text.lower())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown level {text!r} ({', '.join(lv.value for lv in Level)})"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(prog="br-tui telemetry", description="Events, metrics, alerts and export.")
    common = cli.common_options()
    sub = cli.subcommands(p, "verb")
    s = sub.add_parser("summary", parents=[common], help="outcomes, latency, cost, errors")
    s.add_argument("--since", type=_duration, help="only the last DURATION (e.g. 1h, 7d)")
    s.add_argument("--session", help="one session id")
    filters = cli.parser(add_help=False)
    filters.add_argument("--type", help="event type, or a family such as 'task'")
    filters.add_argument("--session", help="session id or id prefix")
    filters.add_argument("--since", type=_duration, help="only the last DURATION (e.g. 1h)")
    filters.add_argument("--level", type=_level, help="this level or more severe")
    e = sub.add_parser("events", parents=[common, filters], help="list events, newest last")
    e.add_argument("--limit", type=int, default=100, help="at most N, the newest (default 100)")
    a = sub.add_parser("alerts", parents=[common], help="open alerts and their history")
    a.add_argument("--level", type=_level, help="this level or more severe")
    a.add_argument("--limit", type=int, default=50)
    pf = sub.add_parser("performance", parents=[common], help="latency, resources, workers")
    pf.add_argument("--hours", type=float, default=24.0, help="window in hours (default 24)")
    x = sub.add_parser(
        "export", parents=[common, filters], help="events to .csv / .jsonl; metrics to .prom / .om"
    )
    x.add_argument("file")
    pr = sub.add_parser("prune", parents=[common], help="roll up, then delete old raw events")
    pr.add_argument("--older-than", type=_duration, required=True, help="e.g. 30d")
    return p


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        return cli.fail(exc)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    path = resolve_db_path(args.db)
    try:
        if not path.is_file():
            raise StoreError(f"{path}: no database here (run a plan first, or pass --db)")
        return VERBS[args.verb](path, args)
    except (StoreError, UsageError, ValueError, OSError, sqlite3.DatabaseError) as exc:
        return cli.fail(exc, "br-tui telemetry")


def _reader(path: Path):
    open_db(path).close()  # bring the schema up to date (adds telemetry tables to old files)
    return connect(path, readonly=True)


def _emit(args: argparse.Namespace, obj: Any, text: str) -> None:
    cli.emit(args.json, obj, text, mask=redact)


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}{unit}" if abs(v) < 1000 else f"{v:,.0f}{unit}"
    return f"{v}{unit}"


def _lat_line(lat: dict[str, Any] | None) -> str:
    if not lat:
        return "-"
    return (
        f"p50 {_fmt(lat['p50'], 's')}  p95 {_fmt(lat['p95'], 's')}  p99 {_fmt(lat['p99'], 's')}"
        f"  max {_fmt(lat['max'], 's')}  (n={lat['n']})"
    )


def cmd_summary(path: Path, args: argparse.Namespace) -> int:
    db = _reader(path)
    check_intact(db.conn, path)  # totals over a damaged file would be silently partial
    since = since_iso(args.since) if args.since else None
    obj = metrics.summary(db, since=since, session_id=args.session)
    obj["alerts_open"] = len(active_alerts(db))
    t = obj["tasks"]
    rate = f"{t['success_rate']:.1%}" if t["success_rate"] is not None else "-"
    errs = ", ".join(f"{e['source']}/{e['class']} {e['n']}" for e in obj["errors"][:6]) or "-"
    cost = f"${obj['cost_usd']:.4f}" if obj["cost_usd"] is not None else "-"
    text = (
        f"tasks: {t['succeeded']} succeeded, {t['failed']} failed, {t['timed_out']} timed out,"
        f" {t['cancelled']} cancelled   success rate {rate}"
        f"   throughput {_fmt(t['throughput_per_min'])}/min\n"
        f"latency: {_lat_line(obj['latency_s'])}\n"
        f"cost: {cost}   errors: {errs}\n"
        f"events: {obj['events']['total']}   open alerts: {obj['alerts_open']}"
    )
    _emit(args, obj, text)
    return EXIT_OK


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "type": args.type,
        "session": args.session,
        "since": since_iso(args.since) if args.since else None,
        "min_level": args.level,
    }


def cmd_events(path: Path, args: argparse.Namespace) -> int:
    db = _reader(path)
    found = list(iter_events(db, **_filters(args), limit=args.limit, newest_first=True))
    found.reverse()
    lines = [
        f"{e['ts'][:23]}  {e['level']:<8} {e['type']:<18} {e['session_id'] or '-':<9}"
        f" {e['task_id'] or '-':<16} {json.dumps(e['data'], sort_keys=True)}"
        for e in found
    ]
    _emit(args, found, "\n".join(lines) if lines else "no events")
    return EXIT_OK


def cmd_alerts(path: Path, args: argparse.Namespace) -> int:
    db = _reader(path)
    active = active_alerts(db, min_level=args.level)
    history = alert_history(db, min_level=args.level, limit=args.limit)
    lines = [f"open ({len(active)}):"]
    lines += [f"  {a['level']:<8} {a['message']}  since {a['raised_at'][:19]}" for a in active]
    lines.append("history:")
    lines += [
        f"  {a['peak_level']:<8} {a['key']:<32} {a['raised_at'][:19]} -> "
        f"{(a['cleared_at'] or 'open')[:19]}  {a['message']}"
        for a in history
    ]
    _emit(args, {"active": active, "history": history}, "\n".join(lines))
    return EXIT_OK


def cmd_performance(path: Path, args: argparse.Namespace) -> int:
    if args.hours <= 0:
        raise UsageError("--hours must be positive")
    since = since_iso(args.hours * 3600)
    db = _reader(path)
    hourly = metrics.latency(db, "hour", since=since)
    pruned = rows(db, "SELECT value FROM telemetry_meta WHERE key = 'pruned_before'")
    if pruned and since < pruned[0]["value"]:  # raw events are gone there: use the rollups
        older = rollup_rows(db, "hour", since=since[:13] + ":00:00+00:00", type=ATTEMPTS)
        hourly = [
            {"key": r["bucket"][:13], "n": r["lat_n"], "max": r["lat_max"], "p50": r["lat_p50"],
             "p95": r["lat_p95"], "p99": r["lat_p99"]}
            for r in older if r["bucket"] < pruned[0]["value"]
        ] + hourly  # fmt: skip
    obj = {
        "hours": args.hours,
        "latency_s": (metrics.latency(db, "all", since=since) or [None])[0],
        "latency_by_hour": hourly,
        "latency_by_model": metrics.latency(db, "model", since=since),
        "slowest_tasks": metrics.latency(db, "task", since=since, limit=10),
        "resources": metrics.resources(db, since=since),
        "workers": metrics.worker_utilization(db, since=since),
        "queue_depth": metrics.queue_depth(db, bucket="hour", since=since),
        "queue_now": metrics.queue_now(db),
        "cost_by_model": metrics.cost(db, "model", since=since),
    }
    res = obj["resources"]
    lines = [
        f"last {args.hours:g} h   latency: {_lat_line(obj['latency_s'])}",
        f"attempts {res['attempts']}   wall {_fmt(res['wall_s'], 's')}"
        f"   cpu {_fmt(res['cpu_s'], 's')}   peak rss {_fmt(res['peak_rss_kb'], ' kB')}",
        "by hour:",
        *(
            f"  {h['key']}  n={h['n']:<6} p50 {_fmt(h['p50'], 's')}"
            f"  p95 {_fmt(h['p95'], 's')}  max {_fmt(h['max'], 's')}"
            for h in hourly
        ),
        "slowest tasks (p95):",
        *(f"  {t['key']:<24} {_lat_line(t)}" for t in obj["slowest_tasks"]),
        "workers:",
        *(
            f"  {w['session_id']}  {w['workers']} workers  utilization"
            f" {_fmt(w['utilization'])}  busy {_fmt(w['busy_s'], 's')}"
            for w in obj["workers"][:10]
        ),
        f"queue now: {obj['queue_now']}",
    ]
    _emit(args, obj, "\n".join(lines))
    return EXIT_OK


def cmd_export(path: Path, args: argparse.Namespace) -> int:
    db = _reader(path)
    if Path(args.file).suffix.lower() in (".prom", ".om", ".openmetrics"):  # metrics, not events
        from engine.telemetry.openmetrics import write_metrics

        n = write_metrics(db, args.file)
        _emit(args, {"file": args.file, "samples": n}, f"wrote {n} samples to {args.file}")
        return EXIT_OK
    n = export_events(db, args.file, **_filters(args))
    _emit(args, {"file": args.file, "events": n}, f"wrote {n} events to {args.file}")
    return EXIT_OK


def cmd_prune(path: Path, args: argparse.Namespace) -> int:
    with Store(path) as store:
        result = prune(store, args.older_than)
    _emit(
        args,
        result,
        f"deleted {result['deleted']} events before {result['cutoff']}"
        f" (rollups kept; {result['rollup_rows']} rollup rows refreshed)",
    )
    return EXIT_OK


VERBS = {
    "summary": cmd_summary,
    "events": cmd_events,
    "alerts": cmd_alerts,
    "performance": cmd_performance,
    "export": cmd_export,
    "prune": cmd_prune,
}
