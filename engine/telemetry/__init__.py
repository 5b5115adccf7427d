"""Typed events, the collector, metrics, thresholds and alerts, rollups, export.

Only the event types load eagerly: the store's writer imports them, and the rest of this
package imports the store, so everything else is resolved on first use (and `import
engine.telemetry` stays cheap for a git hook).
"""

from typing import Any

from engine.telemetry.events import SCHEMA_VERSION, Event, EventType, Level, OutputLine

_LAZY = {
    "Collector": "engine.telemetry.collector",
    "AlertMonitor": "engine.telemetry.alerts",
    "active_alerts": "engine.telemetry.alerts",
    "alert_history": "engine.telemetry.alerts",
    "Threshold": "engine.telemetry.thresholds",
    "load_config": "engine.telemetry.thresholds",
    "metrics": "engine.telemetry.metrics",
    "prune": "engine.telemetry.rollups",
    "rollup": "engine.telemetry.rollups",
    "export_events": "engine.telemetry.export",
}

__all__ = ["SCHEMA_VERSION", "Event", "EventType", "Level", "OutputLine", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.telemetry' has no attribute {name!r}")
    import importlib

    mod = importlib.import_module(module)
    return mod if name == "metrics" else getattr(mod, name)
