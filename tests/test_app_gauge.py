"""The budget gauge shows amounts set before its parts exist (a second read of the costs screen
can land between mounting a new gauge and its compose)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar

from br_tui.widgets.gauge import BudgetGauge


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield Vertical(id="box")


async def test_amounts_set_before_compose_are_shown_once_mounted() -> None:
    app = _Host()
    async with app.run_test(size=(80, 5)) as pilot:
        gauge = BudgetGauge("daily")
        app.query_one("#box").mount(gauge)  # not awaited: its parts are not composed yet
        gauge.set(0.75, 3.0, "ok")  # raised NoMatches before
        await pilot.pause()
        bar = gauge.query_one(ProgressBar)
        assert (bar.progress, bar.total) == (0.75, 3.0)
        assert gauge.has_class("-ok")
        gauge.set(2.7, 3.0, "soft")  # composed: applied at once
        assert bar.progress == 2.7 and gauge.has_class("-soft")


async def test_the_bar_is_rounded_for_the_width_it_is_drawn_at() -> None:
    """Textual's bar keeps an unrounded share when it was set at width 0; the gauge rounds it
    again once laid out, so the same amounts always draw the same cells."""
    app = _Host()
    async with app.run_test(size=(80, 5)) as pilot:
        gauge = BudgetGauge("session")
        await app.query_one("#box").mount(gauge)
        gauge.set(0.061, 0.25, "ok")
        await pilot.pause()
        bar = gauge.query_one("Bar")
        width = bar.size.width * 2
        rounded = int(0.244 * width) / width
        assert bar.percentage == rounded  # type: ignore[attr-defined]
        bar.set_reactive(type(bar).percentage, 0.244)  # as if set before layout (width 0)
        await pilot.resize_terminal(81, 5)
        await pilot.pause()
        width = bar.size.width * 2
        assert bar.percentage == int(0.244 * width) / width  # type: ignore[attr-defined]
