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
