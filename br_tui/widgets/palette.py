"""Semantic colours (ok / warn / error / running / paused / over-budget / secret) as theme
variables, so every theme — built in or the user's — gives them a value.

Tables render Rich `Text`, which can't read CSS variables, so cells look their colour up here
at render time and re-render when the theme changes.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

#: Our variable -> the theme variable it falls back to when a theme doesn't set it.
SEMANTIC: dict[str, str] = {
    "br-ok": "success",
    "br-warn": "warning",
    "br-error": "error",
    "br-running": "accent",
    "br-paused": "warning",
    "br-muted": "foreground-darken-3",
    "br-over-budget": "error",
    "br-secret": "error",
}

#: Session/task/worker states -> the semantic colour they are drawn in.
STATE_COLOUR: dict[str, str] = {
    "created": "br-muted",
    "queued": "br-muted",
    "waiting_lock": "br-paused",
    "running": "br-running",
    "busy": "br-running",
    "retrying": "br-warn",
    "paused": "br-paused",
    "idle": "br-muted",
    "completed": "br-ok",
    "succeeded": "br-ok",
    "ok": "br-ok",
    "failed": "br-error",
    "error": "br-error",
    "cancelled": "br-warn",
    "offline": "br-muted",
    "soft": "br-warn",
    "exhausted": "br-over-budget",
    "high": "br-secret",
    "medium": "br-warn",
    "low": "br-muted",
    "debug": "br-muted",
    "info": "br-ok",
    "warning": "br-warn",
    "critical": "br-error",
}


#: Shorter words for states whose names don't fit a narrow column.
STATE_LABEL: dict[str, str] = {"waiting_lock": "lock wait"}


def with_semantic(variables: dict[str, str]) -> dict[str, str]:
    """Fill in our variables from the theme's own ones (a theme may set them explicitly)."""
    out = dict(variables)
    for name, source in SEMANTIC.items():
        out.setdefault(name, variables.get(source, "ansi_default"))
    return out


def colour(app: Any, name: str) -> str:
    """The current theme's value of a semantic variable, as a Rich style."""
    return str(app.theme_variables.get(name, "")) or "default"


def state_text(app: Any, state: str | None, label: str | None = None) -> Text:
    """A state drawn in its semantic colour."""
    if not state:
        return Text("-", style=colour(app, "br-muted"))
    return Text(
        label or STATE_LABEL.get(state, state),
        style=colour(app, STATE_COLOUR.get(state, "br-muted")),
    )
