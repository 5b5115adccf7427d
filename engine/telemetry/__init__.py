"""The collector, metrics, thresholds and alerts, rollups, export.

The event vocabulary they speak is `engine.events`, below the store. Everything here is
resolved on first use, so `import engine.telemetry` stays cheap for a git hook.
"""

from typing import Any

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

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.telemetry' has no attribute {name!r}")
    import importlib

    mod = importlib.import_module(module)
    return mod if name == "metrics" else getattr(mod, name)
