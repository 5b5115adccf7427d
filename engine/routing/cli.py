"""`br-tui routing ...`: estimate, select, costs, outcomes, models. Headless, scriptable, quick
to start.

Exit codes: 0 done, 2 usage or runtime error (message on stderr). `estimate --batch` always
prints JSON lines (it is how the estimator is scored); the rest print text unless `--json`.
Imports stay lean: no Textual, and the database layer only for `costs`, `outcomes`, and for
`estimate` when a database exists (to apply the level shifts learned from its outcomes).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Iterator
from typing import IO, Any

from engine import cli_support as cli
from engine.cli_support import UsageError
from engine.routing.estimate import estimate
from engine.routing.models import ModelTable, load_models
from engine.routing.outcomes import LevelShift
from engine.routing.select import select_model


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else default,
        help="machine-readable output",
    )
    parser.add_argument("--db", default=default, help=cli.DB_HELP)
    parser.add_argument("--config", default=default,
                        help="TOML with [models] overrides (same shape as a plan's)")  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    p = cli.parser(prog="br-tui routing", description="Complexity, models, costs and budgets.")
    _common(p, top=True)
    sub = cli.subcommands(p, "command")
    est = sub.add_parser("estimate", help="complexity level and model for a task description")
    est.add_argument("text", nargs="?", help="the task text")
    est.add_argument("--batch", metavar="FILE", help="JSON lines {id, text}; '-' for stdin")
    est.add_argument("--files", nargs="*", default=None, help="globs the task may change")
    _common(est, top=False)
    sel = sub.add_parser("select", help="the model a task would get, and why")
    sel.add_argument("text")
    sel.add_argument("--cost-limit", type=float, default=None, metavar="USD")
    sel.add_argument("--complexity", choices=("simple", "moderate", "complex", "critical"))
    sel.add_argument("--fast", action="store_true", help="prefer low latency within a tier")
    _common(sel, top=False)
    costs = sub.add_parser("costs", help="spend summary")
    costs.add_argument("--period", choices=("day", "week", "month"), default=None)
    costs.add_argument("--by", choices=("model", "session", "task", "day", "week"),
                       default="model")  # fmt: skip
    _common(costs, top=False)
    outcomes = sub.add_parser(
        "outcomes", help="success rate and cost per level and model; levels routed up"
    )
    _common(outcomes, top=False)
    models = sub.add_parser("models", help="the model and price table")
    _common(models, top=False)
    return p


def _table(args: argparse.Namespace) -> ModelTable:
    if not args.config:
        return load_models()
    with open(args.config, "rb") as fh:
        return load_models(tomllib.load(fh))


def _history(args: argparse.Namespace) -> list[Any]:
    """The recorded attempts and the database's clock reading, or nothing without a database."""
    from engine.store.db import StoreError, connect, now_iso, resolve_db_path

    path = resolve_db_path(args.db)
    if not path.exists():
        return []
    from datetime import datetime

    from engine.routing.outcomes import load_attempts

    try:
        db = connect(path, readonly=True)
    except StoreError as exc:
        raise RuntimeError(str(exc)) from exc
    try:
        return load_attempts(db, now=datetime.fromisoformat(now_iso()))
    finally:
        db.close()


def _shifts(args: argparse.Namespace) -> dict[str, LevelShift]:
    from engine.routing.outcomes import level_shifts

    attempts = _history(args)
    return level_shifts(attempts) if attempts else {}


def _estimate_row(
    text: str, files: list[str] | None, table: ModelTable, shifts: dict[str, LevelShift]
) -> dict[str, Any]:
    est = estimate(text, files)
    shift = shifts.get(est.level)
    sel = select_model(
        est.level,
        table,
        prompt=text,
        tier=shift.to_tier if shift else None,
        why=f"level shift: {shift.reason}" if shift else None,
    )
    out = est.as_dict()
    out["model"] = sel.model
    out["tier"] = sel.tier
    out["estimated_cost_usd"] = sel.estimated_cost_usd
    if shift is not None:
        out["level_shift"] = shift.as_dict()
    return out


def _lines(source: str) -> Iterator[str]:
    if source == "-":
        yield from sys.stdin
        return
    with open(source, encoding="utf-8") as fh:
        yield from fh


def _batch(
    args: argparse.Namespace, table: ModelTable, shifts: dict[str, LevelShift], out: IO[str]
) -> int:
    bad = 0
    write = out.write
    for number, line in enumerate(_lines(args.batch), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError("text must be a string")
        except (ValueError, KeyError, TypeError) as exc:
            print(f"br-tui routing: {args.batch}:{number}: {exc}", file=sys.stderr)
            bad += 1
            continue
        row = {"id": item.get("id")}
        row.update(_estimate_row(text, item.get("files"), table, shifts))
        write(json.dumps(row) + "\n")
    return 2 if bad else 0


def _money(x: float | None) -> str:
    return "unknown" if x is None else f"${x:.4f}"


def _cmd_estimate(args: argparse.Namespace, out: IO[str]) -> int:
    table = _table(args)
    if not args.batch and not args.text:
        raise UsageError("br-tui routing estimate: give TEXT or --batch FILE")
    shifts = _shifts(args)
    if args.batch:
        return _batch(args, table, shifts, out)
    row = _estimate_row(args.text, args.files, table, shifts)
    if args.json:
        out.write(json.dumps(row) + "\n")
    else:
        out.write(
            f"{row['level']} (score {row['score']:+.2f}) -> {row['model']}, "
            f"estimated {_money(row['estimated_cost_usd'])}\n"
        )
        for reason in row["reasons"]:
            out.write(f"  {reason}\n")
        if "level_shift" in row:
            out.write(f"  level shift: {row['level_shift']['reason']}\n")
    return 0


def _cmd_outcomes(args: argparse.Namespace, out: IO[str]) -> int:
    from engine.routing.outcomes import level_shifts, outcome_stats

    attempts = _history(args)
    rows = outcome_stats(attempts)
    shifts = [s.as_dict() for s in level_shifts(attempts).values()]
    if args.json:
        out.write(json.dumps({"rows": rows, "level_shifts": shifts}) + "\n")
        return 0
    out.write(
        f"{'level':<10} {'model':<22} {'attempts':>8} {'success':>8} {'cost':>12} {'mean':>10}\n"
    )
    for r in rows:
        rate = "-" if r["success_rate"] is None else f"{r['success_rate']:.0%}"
        cost, mean = f"${r['cost_usd']:.4f}", f"${r['mean_cost_usd']:.4f}"
        out.write(
            f"{r['level']:<10} {r['model'][:22]:<22} {r['attempts']:>8} {rate:>8} "
            f"{cost:>12} {mean:>10}\n"
        )
    for s in shifts:
        out.write(f"level shift: {s['reason']}\n")
    if not shifts:
        out.write("no level shifts: every level routes to its own tier\n")
    return 0


def _cmd_select(args: argparse.Namespace, out: IO[str]) -> int:
    table = _table(args)
    est = estimate(args.text)
    level = args.complexity or est.level
    sel = select_model(
        level, table, prompt=args.text, cost_limit=args.cost_limit, prefer_fast=args.fast
    )
    row: dict[str, Any] = {"level": level, "score": round(est.score, 3)}
    row.update(sel.as_dict())
    if args.json:
        out.write(json.dumps(row) + "\n")
    else:
        out.write(f"{sel.model} ({sel.tier}), estimated {_money(sel.estimated_cost_usd)}\n")
        out.write(f"  why: {sel.reason}\n")
        out.write(
            f"  estimate: {sel.input_tokens:,} input + {sel.output_tokens:,} output tokens "
            f"({level} agent-session profile + prompt)\n"
        )
    return 0


def _cmd_costs(args: argparse.Namespace, out: IO[str]) -> int:
    from engine.routing.costs import spend_by, summary
    from engine.store.db import StoreError, connect, resolve_db_path

    path = resolve_db_path(args.db)
    rows: list[dict[str, Any]] = []
    if path.exists():
        try:
            db = connect(path, readonly=True)
        except StoreError as exc:
            raise RuntimeError(str(exc)) from exc
        try:
            rows = spend_by(db, by=args.by, period=args.period)
        finally:
            db.close()
    result = summary(rows)
    result["period"] = args.period or "all"
    result["by"] = args.by
    if args.json:
        out.write(json.dumps(result) + "\n")
        return 0
    out.write(f"{'key':<40} {'calls':>6} {'input':>12} {'output':>10} {'cost':>12}\n")
    for r in result["rows"]:
        unknown = f"  ({r['unknown_cost_calls']} unknown)" if r["unknown_cost_calls"] else ""
        out.write(
            f"{r['key'][:40]:<40} {r['calls']:>6} {r['input_tokens']:>12,} "
            f"{r['output_tokens']:>10,} {'$' + format(r['cost_usd'], '.6f'):>12}{unknown}\n"
        )
    out.write(f"total ({result['period']}): ${result['total_usd']:.6f}\n")
    return 0


def _cmd_models(args: argparse.Namespace, out: IO[str]) -> int:
    table = _table(args)
    rows = [m.as_dict() for m in table.models.values()]
    if args.json:
        out.write(json.dumps({"checked": table.checked, "source": table.source, "models": rows}))
        out.write("\n")
        return 0
    out.write(f"prices USD / MTok, checked {table.checked} ({table.source})\n")
    out.write(
        f"{'model':<22} {'tier':<10} {'input':>7} {'output':>7} {'c.write':>8} {'c.read':>7}"
        f"  latency\n"
    )
    for m in rows:
        note = " (legacy)" if m["legacy"] else ""
        if "long_prompt" in m:
            note += f" (long prompts >{m['long_prompt_threshold']:,}: higher rates)"
        out.write(
            f"{m['name']:<22} {m['tier']:<10} {m['input']:>7.3f} {m['output']:>7.2f} "
            f"{m['cache_write']:>8.3f} {m['cache_read']:>7.3f}  {m['latency'] or '-'}{note}\n"
        )
    return 0


_COMMANDS = {
    "estimate": _cmd_estimate,
    "select": _cmd_select,
    "costs": _cmd_costs,
    "outcomes": _cmd_outcomes,
    "models": _cmd_models,
}


def main(argv: list[str], out: IO[str] | None = None) -> int:
    """Run `br-tui routing <argv>`; returns the exit code."""
    out = out or sys.stdout
    try:
        args = _parser().parse_args(argv)
        return _COMMANDS[args.command](args, out)
    except UsageError as exc:
        return cli.fail(exc)
    except BrokenPipeError:
        return 0
    except (OSError, ValueError, RuntimeError, tomllib.TOMLDecodeError) as exc:
        return cli.fail(exc, "br-tui routing")
