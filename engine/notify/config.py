"""The `[notify]` table of `br-tui.toml`: which transitions to tell the user about, and how.

    [notify]
    events = ["session_failed", "budget_stop"]   # default: every kind but session_cancelled
    toast = true                                 # in the app (default true)
    bell = false                                 # the terminal bell: app, `br-tui run` in a tty
    desktop = false                              # notify-send, where it is installed
    command = ["ntfy", "publish", "builds", "{session} {event}: {summary}"]
    timeout_s = 10                               # the command is killed after this

`command` is an argv list (or a string split the way a shell would, never run by one), with
`{session}`, `{name}`, `{event}`, `{status}` and `{summary}` replaced in each argument.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import ProjectConfigError, project_table

#: Kinds of notice a user can ask for -> the event type that is that transition.
KINDS = {
    "session_finished": "session.completed",
    "session_failed": "session.failed",
    "session_cancelled": "session.cancelled",
    "budget_stop": "budget.exceeded",
    "alert_raised": "alert.raised",
    "checkpoint_failed": "checkpoint.failed",  # published once streams and checkpoints exist
}
DEFAULT_KINDS = tuple(k for k in KINDS if k != "session_cancelled")  # a cancel is the user's
PLACEHOLDERS = ("session", "name", "event", "status", "summary")
_KEYS = {"events", "toast", "bell", "desktop", "command", "timeout_s"}


class NotifyConfigError(ValueError):
    """`[notify]` is not valid; the message says which key and why."""


@dataclass(frozen=True)
class NotifyConfig:
    kinds: tuple[str, ...] = DEFAULT_KINDS
    toast: bool = True
    bell: bool = False
    desktop: bool = False
    command: tuple[str, ...] = ()
    timeout_s: float = 10.0
    types: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", frozenset(KINDS[k] for k in self.kinds))

    def kind_of(self, event_type: str) -> str | None:
        """The configured kind an event type is, or None when it isn't wanted."""
        for kind in self.kinds:
            if KINDS[kind] == event_type:
                return kind
        return None


def parse(table: dict[str, Any], where: str = "[notify]") -> NotifyConfig:
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise NotifyConfigError(f"{where}: unknown key {unknown[0]!r} ({', '.join(sorted(_KEYS))})")
    kinds = table.get("events", list(DEFAULT_KINDS))
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise NotifyConfigError(f"{where}: events must be a list of names")
    for k in kinds:
        if k not in KINDS:
            raise NotifyConfigError(f"{where}: unknown event {k!r} ({', '.join(KINDS)})")
    flags = {}
    for key in ("toast", "bell", "desktop"):
        value = table.get(key, getattr(NotifyConfig, key))
        if not isinstance(value, bool):
            raise NotifyConfigError(f"{where}: {key} must be true or false")
        flags[key] = value
    command = table.get("command", [])
    if isinstance(command, str):
        try:
            command = shlex.split(command)
        except ValueError as exc:
            raise NotifyConfigError(f"{where}: command: {exc}") from None
    if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
        raise NotifyConfigError(f"{where}: command must be a list of arguments or a string")
    timeout = table.get("timeout_s", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        raise NotifyConfigError(f"{where}: timeout_s must be a number of seconds in (0, 600]")
    return NotifyConfig(
        kinds=tuple(dict.fromkeys(kinds)),
        command=tuple(command),
        timeout_s=float(timeout),
        **flags,
    )


def load_config(root: str | Path | None = None) -> NotifyConfig:
    """The project's `[notify]` (defaults when there is none); NotifyConfigError when bad."""
    try:
        table = project_table("notify", root)
    except ProjectConfigError as exc:
        raise NotifyConfigError(str(exc)) from None
    return parse(table)
