"""Totals across sessions: the app's top bar, and `br-tui summary`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.store.queryable import Queryable


@dataclass(frozen=True, slots=True)
class SessionTotals:
    """The top bar: sessions running / paused / in all; progress and failures of the active
    ones (of all, when none is active); today's spend; the open alerts."""

    running: int
    paused: int
    sessions: int
    done: int
    total: int
    failed: int
    cost_today_usd: float
    alerts: tuple[str, ...]


def session_totals(db: Queryable) -> SessionTotals:
    from engine.routing.costs import total_spend
    from engine.telemetry.alerts import active_alerts

    rows = list(
        db.query(
            "SELECT status, count(*) AS n, sum(total) AS t,"
            " sum(succeeded + failed + cancelled) AS d, sum(failed) AS f"
            " FROM sessions GROUP BY status"
        )
    )
    by = {r["status"]: r for r in rows}
    active = [by[s] for s in ("running", "paused") if s in by] or list(by.values())
    return SessionTotals(
        running=by.get("running", {}).get("n", 0),
        paused=by.get("paused", {}).get("n", 0),
        sessions=sum(r["n"] for r in rows),
        done=sum(r["d"] or 0 for r in active),
        total=sum(r["t"] or 0 for r in active),
        failed=sum(r["f"] or 0 for r in active),
        cost_today_usd=total_spend(db, period="day"),
        alerts=tuple(_alert_text(a) for a in active_alerts(db)),
    )


def _alert_text(alert: dict[str, Any]) -> str:
    return str(alert.get("message") or alert.get("name") or alert)


def overall(db: Queryable) -> dict[str, Any]:
    """`br-tui summary --json` (docs/cli.md): sessions by status, tasks by state, success
    rate, task time p50 / p95, CPU, peak RSS, cost.

    The percentiles are telemetry's (`metrics.overall_latency`: attempt wall times from the
    events, linear interpolation, walked along an index) — the same figures as `br-tui
    telemetry summary`, never a second computation that could disagree with it.
    """
    from engine.telemetry.metrics import overall_latency

    by_status = {
        r["status"]: r["n"]
        for r in db.query("SELECT status, count(*) AS n FROM sessions GROUP BY status")
    }
    by_state = {
        r["state"]: r["n"]
        for r in db.query("SELECT state, count(*) AS n FROM tasks GROUP BY state")
    }
    att = next(
        iter(
            db.query(
                "SELECT count(*) AS n, sum(cpu_s) AS cpu, max(peak_rss_kb) AS rss"
                " FROM attempts WHERE ended_at IS NOT NULL"
            )
        )
    )
    cost = next(iter(db.query("SELECT coalesce(sum(cost_usd), 0) AS c FROM agent_calls")))["c"]
    lat = overall_latency(db, percentiles=(0.5, 0.95))
    finished = by_state.get("succeeded", 0) + by_state.get("failed", 0)
    return {
        "sessions": sum(by_status.values()),
        "sessions_by_status": by_status,
        "tasks": sum(by_state.values()),
        "tasks_by_state": by_state,
        "success_rate": round(by_state.get("succeeded", 0) / finished, 4) if finished else None,
        "attempts": att["n"],
        "task_p50_s": round(lat["p50"], 4) if lat else None,
        "task_p95_s": round(lat["p95"], 4) if lat else None,
        "cpu_s": round(att["cpu"] or 0.0, 3),
        "peak_rss_kb": att["rss"],
        "cost_usd": round(cost, 6),
    }
