"""A budget gauge: name, a bar of spent / limit, and the amounts, coloured by state."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from br_tui.widgets.line import Line
from br_tui.widgets.palette import colour, state_text


class BudgetGauge(Horizontal):
    DEFAULT_CSS = """
    BudgetGauge { height: 1; }
    BudgetGauge > Label { width: 9; }
    BudgetGauge > ProgressBar { width: auto; }
    BudgetGauge > .amounts { width: 1fr; padding: 0 1; }
    BudgetGauge.-soft Bar > .bar--bar { color: $warning; }
    BudgetGauge.-exhausted Bar > .bar--bar, BudgetGauge.-exhausted Bar > .bar--complete {
        color: $error;
    }
    """

    def __init__(self, name: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.budget = name
        self._pending: tuple[float, float, str] | None = None

    def compose(self) -> ComposeResult:
        yield Label(self.budget)
        yield ProgressBar(total=1.0, show_eta=False, show_percentage=True)
        yield Line("", classes="amounts")

    def on_mount(self) -> None:
        if self._pending is not None:
            self.set(*self._pending)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_bar)

    def _fit_bar(self) -> None:
        """Textual's bar rounds its share to half cells of the width it has when the share is
        set, and keeps the unrounded share when that width is still 0 (not laid out yet): the
        same amounts then draw half a cell apart. Handing it the share again once laid out
        rounds it for the width it is drawn at."""
        for progress in self.query(ProgressBar):
            for bar in progress.query("Bar"):
                bar.percentage = progress.percentage  # type: ignore[attr-defined]

    def set(self, spent: float, limit: float, state: str) -> None:
        """Show these amounts; a gauge whose parts are not mounted yet (a second read can land
        between mounting a new gauge and its compose) shows them once they are."""
        bars = self.query(ProgressBar)
        if not bars:
            self._pending = (spent, limit, state)
            return
        self._pending = None
        bars.first().update(total=max(limit, 1e-9), progress=min(spent, limit))
        self.call_after_refresh(self._fit_bar)
        for s in ("ok", "soft", "exhausted"):
            self.set_class(s == state, f"-{s}")
        text = Text(f"${spent:,.2f} of ${limit:,.2f}  ", colour(self.app, "br-muted"))
        text.append_text(state_text(self.app, state))
        self.query_one(".amounts", Line).set(text)
