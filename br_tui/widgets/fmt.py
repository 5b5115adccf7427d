"""Small display formats shared by the screens: ages, durations, money, progress bars."""

from __future__ import annotations

from datetime import datetime


def parse(iso: str | None) -> datetime | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        return None


def ago(iso: str | None, now: datetime) -> str:
    """'3s ago' — a heartbeat's age is what a user reads, not its timestamp."""
    at = parse(iso)
    if at is None:
        return "-"
    s = max(0.0, (now - at).total_seconds())
    return f"{int(s)}s ago" if s < 60 else f"{duration(s)} ago"  # whole seconds, as duration


def duration(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 10 and s != int(s):
        return f"{s:.1f}s"
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    if s < 86400:
        return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"
    return f"{s / 86400:.1f}d"


def elapsed(start: str | None, end: str | None, now: datetime) -> float | None:
    """Seconds from start to end; while still running, whole seconds only — a value that
    changes on every read would rewrite its table cell (and re-render the table) each time."""
    a = parse(start)
    if a is None:
        return None
    b = parse(end)
    if b is None:
        return float(int(max(0.0, (now - a).total_seconds())))
    return max(0.0, (b - a).total_seconds())


def money(usd: float | None) -> str:
    if usd is None:
        return "-"
    if usd and usd < 0.01:
        return f"${usd:.4f}"
    return f"${usd:,.2f}"


def bar(fraction: float, width: int = 12) -> str:
    """A text progress bar for a table cell (a ProgressBar widget can't live in a cell)."""
    fraction = max(0.0, min(1.0, fraction))
    full = round(fraction * width)
    return "█" * full + "░" * (width - full) + f" {fraction:4.0%}"
