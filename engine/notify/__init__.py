"""Notifications when a session needs the user: finished, failed, a budget stop, an alert, a
failed checkpoint — once per transition, never per task, masked like everything else.

`[notify]` in br-tui.toml says which and how (`config`); the session's owner sends the command
and the desktop notification (`Notifier`); the app adds a toast and the bell from the database
(`notices_between`).
"""

from engine.notify.config import KINDS, NotifyConfig, NotifyConfigError, load_config, parse
from engine.notify.notices import Notice, Seen, describe, notices_between
from engine.notify.notifier import Notifier, start_notifier

__all__ = [
    "KINDS",
    "Notice",
    "Notifier",
    "NotifyConfig",
    "NotifyConfigError",
    "Seen",
    "describe",
    "load_config",
    "notices_between",
    "parse",
    "start_notifier",
]
