"""A bounded log for a task's streaming output: follow mode, scrollback and search.

Built on `Log` (a line-API widget that renders only visible lines) with `max_lines`, so memory
stays flat however much a task prints; the full tail lives in the database, capped per task.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.reactive import reactive
from textual.widgets import Log

from br_tui.widgets.scrolling import NoLayoutOnGrow


class StreamLog(NoLayoutOnGrow, Log):
    """`follow` keeps the view pinned to the newest line; scrolling up turns it off."""

    DEFAULT_CSS = """
    StreamLog { height: 1fr; }
    """

    follow: reactive[bool] = reactive(True)

    def __init__(self, max_lines: int = 5000, **kwargs: object) -> None:
        super().__init__(max_lines=max_lines, auto_scroll=True, **kwargs)  # type: ignore[arg-type]
        self.total_written = 0
        self._match: int | None = None

    def watch_follow(self, follow: bool) -> None:
        self.auto_scroll = follow
        if follow:
            self.scroll_end(animate=False)

    def append(self, lines: Iterable[str]) -> None:
        """Write lines (already masked by the store); scrolls only when following."""
        batch = list(lines)
        if batch:
            self.total_written += len(batch)
            self.write_lines(batch, scroll_end=self.follow)

    def reset(self, lines: Iterable[str] = ()) -> None:
        self.clear()
        self._match = None
        self.append(lines)

    def find(self, needle: str, *, backwards: bool = False) -> tuple[int, int] | None:
        """Move to the next (or previous) line containing `needle`; returns (index, matches)."""
        if not needle:
            return None
        low = needle.lower()
        hits = [i for i, line in enumerate(self.lines) if low in line.lower()]
        if not hits:
            return None
        start = self._match if self._match is not None else (len(self.lines) if backwards else -1)
        if backwards:
            before = [i for i in hits if i < start]
            at = before[-1] if before else hits[-1]
        else:
            after = [i for i in hits if i > start]
            at = after[0] if after else hits[0]
        self._match = at
        self.follow = False
        self.scroll_to(y=max(0, at - self.size.height // 2), animate=False)
        return at, len(hits)
