"""Scroll views whose content growing doesn't re-lay out the screen.

`Widget.virtual_size` is a reactive with `layout=True`: every time a log gains lines or a
table gains rows (or works out its column widths), Textual re-lays out and repaints the whole
screen. Under streaming output on the Feed that was a full-screen layout several times a
second, 30-190 ms each, and the keys pressed meanwhile waited. Our scroll views have a size
fixed by CSS (`1fr`, fixed widths), so their content size only moves their scrollbars:
`NoLayoutOnGrow` updates the scrollbars and repaints the widget itself, and only when a
scrollbar appears or goes away (which does change the widget's content region) does
`show_vertical_scrollbar` / `show_horizontal_scrollbar` ask for a layout, as before.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive


class NoLayoutOnGrow:
    """Mix in before a `ScrollView` subclass (`class X(NoLayoutOnGrow, Log)`)."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        if self.is_mounted:  # type: ignore[attr-defined]
            self._scroll_update(size)  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
