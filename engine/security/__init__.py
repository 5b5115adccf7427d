"""Secret and SQL-injection scanning, and the masker every other part uses.

Importing this package is cheap: every module loads on first use of its functions, so the
telemetry collector (which only needs `redact`) and a git hook pay only for what they call.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import ...`: importing typing costs a git hook ~3 ms

if TYPE_CHECKING:
    from engine.security.baseline import accept, load_baseline, save_baseline
    from engine.security.config import ScanConfig, load_config
    from engine.security.finding import Finding
    from engine.security.hooks import install_hook, uninstall_hook
    from engine.security.masking import mask, redact
    from engine.security.scanner import scan_diff, scan_paths, scan_staged, scan_text

_LAZY = {
    # the masker too: a hook's first import (`engine.security.cli`) starts git before the
    # detectors load, and the detectors are what `masking` imports
    "mask": "engine.security.masking",
    "redact": "engine.security.masking",
    "Finding": "engine.security.finding",
    "ScanConfig": "engine.security.config",
    "load_config": "engine.security.config",
    "scan_text": "engine.security.scanner",
    "scan_paths": "engine.security.scanner",
    "scan_staged": "engine.security.scanner",
    "scan_diff": "engine.security.scanner",
    "load_baseline": "engine.security.baseline",
    "save_baseline": "engine.security.baseline",
    "accept": "engine.security.baseline",
    "install_hook": "engine.security.hooks",
    "uninstall_hook": "engine.security.hooks",
}

__all__ = [
    "Finding",
    "ScanConfig",
    "accept",
    "install_hook",
    "load_baseline",
    "load_config",
    "mask",
    "redact",
    "save_baseline",
    "scan_diff",
    "scan_paths",
    "scan_staged",
    "scan_text",
    "uninstall_hook",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.security' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
