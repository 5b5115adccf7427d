"""Thresholds: a metric, a direction, a bound per level, and a hysteresis band.

A threshold never flaps around its bound: it rises to a level as soon as the value crosses that
level's bound, but falls back only once the value is past the bound by `hysteresis` (in the
metric's own units). Built-ins cover the failures users ask about first; every one can be
re-tuned or disabled per project in `[telemetry.thresholds.<id>]` (see docs/telemetry.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.config import ProjectConfigError, project_table
from engine.events import Level
from engine.telemetry.timeparse import parse_duration

ALERT_LEVELS = (Level.INFO, Level.WARNING, Level.ERROR, Level.CRITICAL)


class ThresholdError(ValueError):
    """A `[telemetry.thresholds]` entry that can't be used: one line for the user."""


@dataclass(frozen=True, slots=True)
class Threshold:
    id: str
    metric: str
    direction: str  # "above" | "below"
    bounds: dict[Level, float]
    hysteresis: float
    window_s: float = 900.0
    min_samples: int = 0
    description: str = ""
    enabled: bool = True

    def crossed(self, value: float, bound: float, slack: float = 0.0) -> bool:
        """Is `value` past `bound` (moved `slack` towards safety first)?"""
        if self.direction == "above":
            return value >= bound - slack
        return value <= bound + slack

    def level_for(self, value: float | None, current: Level | None) -> Level | None:
        """The level to be at now. Levels at or below `current` hold until the value is back
        past their bound by `hysteresis`; higher levels need their bound crossed outright."""
        if value is None:
            return current
        held = -1 if current is None else ALERT_LEVELS.index(current)
        result: Level | None = None
        for i, level in enumerate(ALERT_LEVELS):
            bound = self.bounds.get(level)
            if bound is None:
                continue
            slack = self.hysteresis if i <= held else 0.0
            if self.crossed(value, bound, slack):
                result = level
        return result


def _t(
    id: str, metric: str, direction: str, bounds: dict[Level, float], hysteresis: float, **kw: Any
) -> Threshold:
    return Threshold(id, metric, direction, bounds, hysteresis, **kw)


INF, WRN, ERR, CRT = ALERT_LEVELS
#: The built-in thresholds. Bounds are deliberately conservative: tune them per project.
BUILTIN: tuple[Threshold, ...] = (
    _t("success_rate", "success_rate", "below", {INF: 0.95, WRN: 0.90, ERR: 0.75, CRT: 0.50}, 0.03,
       min_samples=10, description="share of finished tasks that succeeded (15 min)"),
    _t("p95_latency", "p95_latency_s", "above", {INF: 120, WRN: 300, ERR: 900, CRT: 1800}, 15,
       min_samples=10, description="p95 attempt wall time in seconds (15 min)"),
    _t("cost_rate", "cost_per_hour_usd", "above", {INF: 1, WRN: 5, ERR: 20, CRT: 50}, 0.5,
       window_s=3600, description="agent spend extrapolated to USD per hour (1 h)"),
    _t("budget_use", "budget_used", "above", {INF: 0.5, WRN: 0.8, ERR: 0.95, CRT: 1.0}, 0.02,
       description="spend as a share of each configured budget (session, daily, monthly)"),
    _t("queue_depth", "queue_depth", "above", {INF: 200, WRN: 1000, ERR: 5000, CRT: 20000}, 20,
       description="tasks waiting to run in running or paused sessions"),
    _t("workers_lost", "workers_lost", "above", {WRN: 1, ERR: 3, CRT: 8}, 0.5,
       description="workers that went offline unexpectedly (15 min)"),
    _t("consecutive_failures", "consecutive_failures", "above", {WRN: 2, ERR: 3, CRT: 5}, 0.5,
       window_s=86400, description="failed attempts of one task since it last succeeded (24 h)"),
    _t("lock_violations", "lock_violations", "above", {WRN: 1, ERR: 5, CRT: 20}, 0.5,
       window_s=3600, description="changes to files a task didn't declare (1 h)"),
    _t("agent_failure_rate", "agent_failure_rate", "above",
       {INF: 0.1, WRN: 0.25, ERR: 0.5, CRT: 0.8}, 0.05, min_samples=5,
       description="share of agent calls that failed (15 min)"),
)  # fmt: skip

_KEYS = {"metric", "direction", "hysteresis", "window", "min_samples", "enabled", "description"}


def _bound(raw: Any, where: str) -> float | None:
    if raw is False or raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ThresholdError(f"{where} must be a number or false")
    return float(raw)


def apply_overrides(
    base: tuple[Threshold, ...], table: dict[str, Any], metrics: set[str] | None = None
) -> list[Threshold]:
    """Built-ins re-tuned by the `[telemetry.thresholds]` table; new ids define new thresholds
    on a known metric (they need `metric` and `direction`). Unknown keys are errors: a typo
    must not silently leave an alert off."""
    by_id = {t.id: t for t in base}
    for tid, raw in table.items():
        where = f"[telemetry.thresholds.{tid}]"
        if not isinstance(raw, dict):
            raise ThresholdError(f"{where} must be a table")
        unknown = set(raw) - _KEYS - {str(lv) for lv in ALERT_LEVELS}
        if unknown:
            raise ThresholdError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        t = by_id.get(tid)
        if t is None:
            if "metric" not in raw or "direction" not in raw:
                raise ThresholdError(f"{where}: a new threshold needs metric and direction")
            t = Threshold(tid, str(raw["metric"]), str(raw["direction"]), {}, 0.0)
        bounds = dict(t.bounds)
        for lv in ALERT_LEVELS:
            if str(lv) in raw:
                value = _bound(raw[str(lv)], f"{where} {lv}")
                if value is None:
                    bounds.pop(lv, None)
                else:
                    bounds[lv] = value
        try:
            t = replace(
                t,
                metric=str(raw.get("metric", t.metric)),
                direction=str(raw.get("direction", t.direction)),
                bounds=bounds,
                hysteresis=float(raw.get("hysteresis", t.hysteresis)),
                window_s=parse_duration(raw.get("window", t.window_s)),
                min_samples=int(raw.get("min_samples", t.min_samples)),
                enabled=bool(raw.get("enabled", t.enabled)),
                description=str(raw.get("description", t.description)),
            )
        except (TypeError, ValueError) as exc:
            raise ThresholdError(f"{where}: {exc}") from None
        if t.direction not in ("above", "below"):
            raise ThresholdError(f"{where}: direction must be 'above' or 'below'")
        if metrics is not None and t.metric not in metrics:
            raise ThresholdError(f"{where}: unknown metric {t.metric!r}")
        if t.hysteresis < 0:
            raise ThresholdError(f"{where}: hysteresis must be >= 0")
        by_id[tid] = t
    return list(by_id.values())


@dataclass(slots=True)
class TelemetryConfig:
    """The `[telemetry]` table: thresholds, monitor interval, retention."""

    thresholds: list[Threshold] = field(default_factory=lambda: list(BUILTIN))
    interval_s: float = 5.0
    retention_s: float | None = None


def load_config(root: str | Path | None = None) -> TelemetryConfig:
    """`[telemetry]` from `br-tui.toml`, else `.buildrunner/config.toml`, under `root`."""
    from engine.telemetry.probes import PROBES

    try:
        table: dict[str, Any] = project_table("telemetry", root)
    except ProjectConfigError as exc:
        raise ThresholdError(str(exc)) from None
    unknown = set(table) - {"thresholds", "interval", "retention"}
    if unknown:
        raise ThresholdError(f"[telemetry]: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        interval = parse_duration(table.get("interval", 5.0))
        retention = table.get("retention")
        retention_s = parse_duration(retention) if retention is not None else None
    except ValueError as exc:
        raise ThresholdError(f"[telemetry]: {exc}") from None
    return TelemetryConfig(
        apply_overrides(BUILTIN, table.get("thresholds", {}), set(PROBES)), interval, retention_s
    )
