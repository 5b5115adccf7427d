"""A fixed-size line of text that redraws only when its content changes.

`Static.update` re-lays out the whole screen by default; titles and status lines that are
refreshed several times a second from live data would spend the UI loop on layout. A `Line`
has a fixed height in CSS, compares against what it shows, and updates without layout.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Static


class Line(Static):
    DEFAULT_CSS = """
    Line { height: 1; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, content: Any = "", **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._shown: Any = content

    def set(self, content: Any) -> None:
        if content == self._shown:
            return
        self._shown = content
        self.update(content, layout=False)
