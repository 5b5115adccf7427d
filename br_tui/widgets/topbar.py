"""The bar on top of every screen: the project, the screens on their number keys, live
totals, and the alerts light."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container
from textual.reactive import reactive
from textual.widgets import Static

from br_tui.widgets.line import Line
from br_tui.widgets.palette import colour


@dataclass(frozen=True, slots=True)
class Totals:
    """What the top bar shows, computed off the UI loop from the sessions table."""

    project: str = ""
    running: int = 0
    paused: int = 0
    sessions: int = 0
    done: int = 0
    total: int = 0
    failed: int = 0
    cost_usd: float | None = None
    alerts: tuple[str, ...] = ()
    alerts_known: bool = True


class AlertsIndicator(Static):
    """A light that is quiet when nothing is wrong and names the first alert when it is."""

    DEFAULT_CSS = """
    AlertsIndicator {
        width: auto; max-width: 60; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    AlertsIndicator.-alerting { text-style: bold; }
    """

    alerts: reactive[tuple[str, ...]] = reactive(())
    known: reactive[bool] = reactive(True)

    def render(self) -> Text:
        if not self.known:
            return Text("alerts: n/a", style=colour(self.app, "br-muted"))
        if not self.alerts:
            return Text("● no alerts", style=colour(self.app, "br-ok"))
        first = self.alerts[0]
        more = f" +{len(self.alerts) - 1}" if len(self.alerts) > 1 else ""
        return Text(
            f"▲ {len(self.alerts)} alert{'s' if len(self.alerts) > 1 else ''}: {first}{more}",
            style=colour(self.app, "br-error"),
        )

    def watch_alerts(self, alerts: tuple[str, ...]) -> None:
        self.set_class(bool(alerts), "-alerting")


class TopBar(Container):
    """Project and totals on the left, the alerts light on the right."""

    DEFAULT_CSS = """
    TopBar { height: 2; dock: top; background: $panel; layout: grid; grid-size: 2 2;
             grid-columns: 1fr auto; }
    TopBar #tb-title { width: 1fr; padding: 0 1; }
    TopBar #tb-totals { width: 1fr; padding: 0 1; color: $text-muted; column-span: 2; }
    """

    TABS = ("Sessions", "Workers", "Feed", "Costs", "Security")

    totals: reactive[Totals] = reactive(Totals, always_update=True)

    def __init__(self, label: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.label = label

    def compose(self) -> ComposeResult:
        yield Line("", id="tb-title")
        yield AlertsIndicator()
        yield Line("", id="tb-totals")

    def on_mount(self) -> None:
        self.watch(self.app, "totals", self._set_totals)

    def on_resize(self) -> None:
        self.watch_totals(self.totals)

    def _set_totals(self, totals: Totals) -> None:
        self.totals = totals

    def watch_totals(self, t: Totals) -> None:
        if not self.children:  # not composed yet: on_mount draws it
            return
        title = Text.assemble(("br-tui", "bold"), f" {t.project} ")
        # a screen beyond the five (Streams, key 6) adds its tab only while it is shown
        tabs = self.TABS if self.label in self.TABS else (*self.TABS, self.label)
        for n, name in enumerate(tabs, start=1):
            on = self.label == name
            title.append(f" {n} ", "bold reverse" if on else "bold")
            title.append(
                f"{name} " if on or self.app.size.width >= 110 else "",
                "bold" if on else colour(self.app, "br-muted"),
            )
        self.query_one("#tb-title", Line).set(title)
        parts = [
            f"{t.running} running" + (f", {t.paused} paused" if t.paused else ""),
            f"{t.sessions} sessions",
            f"tasks {t.done}/{t.total}",
        ]
        if t.failed:
            parts.append(f"{t.failed} failed")
        if t.cost_usd is not None:
            parts.append(f"${t.cost_usd:.2f}")
        self.query_one("#tb-totals", Line).set(" · ".join(parts))
        ind = self.query_one(AlertsIndicator)
        ind.known = t.alerts_known
        ind.alerts = t.alerts
