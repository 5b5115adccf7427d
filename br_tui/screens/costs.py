"""Costs: estimate a task description as you type (level, reasons, model, price); spend by
model, session and day; a plot of daily spend; the current session's budget gauges.

Estimation is the routing engine's own pure function (tens of microseconds), so it runs on
each keystroke; everything that reads `agent_calls` runs on a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Sparkline, Static

from br_tui.screens.base import LiveScreen
from br_tui.screens.live import COSTS, SESSIONS
from br_tui.widgets.fmt import money
from br_tui.widgets.gauge import BudgetGauge
from br_tui.widgets.line import Line
from br_tui.widgets.live_table import Col, LiveTable
from br_tui.widgets.palette import colour
from engine import clock, views
from engine.views import Spend

PLOT_DAYS = 30


@dataclass(slots=True)
class CostsData:
    """The model table (read once) and the read model's spend."""

    models: Any
    spend: Spend


class DescribeInput(Input):
    """The estimate's input: while it is empty, `1`-`5` are screen keys, not text."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if character is not None and character in "12345" and not self.value:
            return False
        return super().check_consume_key(key, character)


def _money_cell(v: float | None) -> Text:
    return Text(money(v), justify="right")


class CostsScreen(LiveScreen):
    LABEL = "Costs"
    TOPICS = frozenset({COSTS, SESSIONS})
    FOLLOWS_SESSION = True

    BINDINGS = [
        Binding("e", "describe", "Estimate", id="costs.describe"),
        Binding("slash", "describe", "Estimate", id="costs.describe_slash", show=False),
        Binding("escape", "leave_input", "Tables", id="costs.tables", show=False),
        # The number keys switch screens from here too, even from the input while it is empty
        # (priority: before the input sees them); once a description is being typed, the
        # input consumes them ("v2 of 3 fixes"), see DescribeInput.
        *(
            Binding(
                str(n),
                f"goto('{mode}')",
                mode.title(),
                id=f"costs.{mode}",
                show=False,
                priority=True,
            )
            for n, mode in enumerate(("sessions", "workers", "feed", "costs", "security"), 1)
        ),
    ]
    AUTO_FOCUS = None  # the spend tables, not the input: keys stay screen keys until `e`

    def __init__(self) -> None:
        super().__init__()
        self._models: Any = None
        self._shifts: list[Any] = []

    def compose_body(self) -> ComposeResult:
        with Vertical(id="estimate-box"):
            yield DescribeInput(
                placeholder="describe a task to estimate its level, model and price…", id="describe"
            )
            yield Static("", id="estimate")
            routing = Static("", id="routing")
            routing.display = False  # shown only when routing moved (see _routing)
            yield routing
        yield Line("", id="plot-title", classes="pane-title")
        yield Sparkline([], id="plot")
        yield Line("", id="budgets-title", classes="pane-title")
        yield Vertical(id="budgets")
        with Horizontal(id="spend"):
            self.by_model = LiveTable(
                [
                    Col("key", "MODEL", 18),
                    Col("calls", "CALLS", 6),
                    Col("tokens", "TOKENS in/out", 15),
                    Col("cost", "COST", 9, _money_cell),
                ],
                id="by-model",
                cursor_type="none",
            )
            self.by_session = LiveTable(
                [
                    Col("key", "SESSION", 9),
                    Col("calls", "CALLS", 6),
                    Col("cost", "COST", 9, _money_cell),
                ],
                id="by-session",
                cursor_type="none",
            )
            self.by_day = LiveTable(
                [
                    Col("key", "DAY", 10),
                    Col("calls", "CALLS", 6),
                    Col("cost", "COST", 9, _money_cell),
                ],
                id="by-day",
                cursor_type="none",
            )
            yield self.by_model
            yield self.by_session
            yield self.by_day

    def on_mount(self) -> None:
        super().on_mount()
        self.by_model.focus()  # number keys stay screen keys until `e` focuses the input
        self._estimate("")

    # -- live estimate -------------------------------------------------------------------------

    @on(Input.Changed, "#describe")
    def _changed(self, event: Input.Changed) -> None:
        self._estimate(event.value)

    def _estimate(self, text: str) -> None:
        out = self.query_one("#estimate", Static)
        muted = colour(self.app, "br-muted")
        if self._models is None:
            out.update(Text("loading the model table…", muted))
            return
        if not text.strip():
            out.update(
                Text(
                    "type a task description: level, reasons, model and estimated "
                    "cost update as you type",
                    muted,
                )
            )
            return
        from engine.routing import estimate, select_model

        est = estimate(text)
        shift = next((s for s in self._shifts if s.level == est.level), None)
        sel = select_model(
            est.level,
            self._models,
            prompt=text,
            tier=shift.to_tier if shift else None,
            why=f"level shift: {shift.reason}" if shift else None,
        )
        t = Text()
        t.append("level ", muted)
        t.append(est.level, "bold " + colour(self.app, _LEVEL_COLOUR.get(est.level, "br-ok")))
        t.append(f" (score {est.score:.2f})   ", muted)
        t.append("model ", muted)
        t.append(sel.model, "bold")
        t.append(f" [{sel.tier}]   ", muted)
        t.append("est. ", muted)
        t.append(
            money(sel.estimated_cost_usd)
            if sel.estimated_cost_usd is not None
            else "price unknown",
            "bold",
        )
        t.append(f"  (~{sel.input_tokens:,} in / {sel.output_tokens:,} out tokens)\n", muted)
        t.append("why: ", muted)
        t.append("; ".join(est.reasons) or "no strong signals")
        t.append(f"\nroute: {sel.reason}", muted)
        out.update(t)

    # -- spend ---------------------------------------------------------------------------------

    def load(self, topics: frozenset[str]) -> CostsData:
        from engine.routing import load_models

        models = self._models or load_models()
        return CostsData(
            models, views.spend(self.br.store, self.br.current_session, clock.now_dt())
        )

    def show(self, data: CostsData) -> None:
        first = self._models is None
        self._models = data.models
        if first:
            self._estimate(self.query_one("#describe", Input).value)

        def tokens(r: dict[str, Any]) -> str:
            return f"{_short(r['input_tokens'])}/{_short(r['output_tokens'])}"

        spend = data.spend
        self.by_model.sync(
            {r["key"]: (r["key"], r["calls"], tokens(r), r["cost_usd"]) for r in spend.by_model}
        )
        self.by_session.sync(
            {r["key"]: (r["key"], r["calls"], r["cost_usd"]) for r in spend.by_session}
        )
        days = sorted(spend.by_day, key=lambda r: r["key"], reverse=True)
        self.by_day.sync({r["key"]: (r["key"], r["calls"], r["cost_usd"]) for r in days})
        self._plot(spend.by_day)
        self._budgets(spend)
        self._routing(spend.routing)
        shifts = list(spend.routing.shifts) if spend.routing else []
        if shifts != self._shifts:
            self._shifts = shifts
            self._estimate(self.query_one("#describe", Input).value)

    def _routing(self, notes: Any) -> None:
        """Levels routed one tier up by their outcomes, and the latest escalated or shifted
        attempts with their reasons; hidden while there are none."""
        box = self.query_one("#routing", Static)
        if notes is None or not (notes.shifts or notes.moves):
            box.display = False
            return
        muted = colour(self.app, "br-muted")
        warn = colour(self.app, "br-warn")
        t = Text("routing moves", "bold")
        for s in notes.shifts:
            t.append("\nlevel shift ", warn)
            t.append(s.reason)
        for m in notes.moves:
            t.append(f"\n{m['ts'][5:16].replace('T', ' ')} ", muted)
            t.append(f"{m['session_id']}/{m['task_id']} #{m['attempt']} -> {m['model']}: ")
            reason = str(m["reason"] or "")
            t.append(reason[reason.find("escalated:") :] if "escalated:" in reason else reason)
        box.update(t)
        box.display = True

    def _plot(self, by_day: list[dict[str, Any]]) -> None:
        muted = colour(self.app, "br-muted")
        spent = {r["key"]: float(r["cost_usd"] or 0.0) for r in by_day}
        today = clock.now_dt().date()
        series = [
            spent.get((today - timedelta(days=d)).isoformat(), 0.0)
            for d in range(PLOT_DAYS - 1, -1, -1)
        ]
        self.query_one("#plot", Sparkline).data = series
        title = Text("daily spend, last 30 days", "bold")
        title.append(
            f"   max {money(max(series))}/day · total {money(sum(series))}"
            if any(series)
            else "   no agent calls recorded yet",
            muted,
        )
        self.query_one("#plot-title", Line).set(title)

    def _budgets(self, data: Spend) -> None:
        box = self.query_one("#budgets", Vertical)
        title = Text("budgets", "bold")
        muted = colour(self.app, "br-muted")
        if data.budget_session:
            title.append(f" · session {data.budget_session}", muted)
        if not data.budgets:
            title.append(
                "   none set (a plan's [budget] table: session_usd, daily_usd, monthly_usd)", muted
            )
        self.query_one("#budgets-title", Line).set(title)
        have = {g.budget: g for g in box.query(BudgetGauge)}
        want = [b.name for b in data.budgets]
        if list(have) != want:
            box.remove_children()
            box.mount_all([BudgetGauge(name) for name in want])
            self.call_after_refresh(self._fill_gauges, data.budgets)
        else:
            self._fill_gauges(data.budgets)

    def _fill_gauges(self, budgets: list[Any]) -> None:
        gauges = {g.budget: g for g in self.query(BudgetGauge)}
        for b in budgets:
            if b.name in gauges:
                gauges[b.name].set(b.spent_usd, b.limit_usd, b.state)

    # -- keys ----------------------------------------------------------------------------------

    def action_describe(self) -> None:
        self.query_one("#describe", Input).focus()

    def action_leave_input(self) -> None:
        self.by_model.focus()

    @on(Input.Submitted, "#describe")
    def _submitted(self) -> None:
        self.action_leave_input()

    def action_goto(self, mode: str) -> None:
        self.app.switch_mode(mode)

    def restyle(self) -> None:
        self._estimate(self.query_one("#describe", Input).value)
        self.request_refresh()


_LEVEL_COLOUR = {
    "simple": "br-ok",
    "moderate": "br-running",
    "complex": "br-warn",
    "critical": "br-error",
}


def _short(n: int | None) -> str:
    n = int(n or 0)
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 1000:
        return f"{n / 1e3:.0f}k"
    return str(n)
