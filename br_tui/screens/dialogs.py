"""Modal dialogs: confirm, new session from a plan, quit with sessions running, every key."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, DataTable, Input, Label, Static

if TYPE_CHECKING:
    from br_tui.app import BrApp


class ConfirmScreen(ModalScreen[bool]):
    """Yes / no for anything that can't be undone. `y` or enter confirms, `n` or escape not."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, detail: str = "", *, yes: str = "Yes") -> None:
        super().__init__()
        self.question, self.detail, self.yes = question, detail, yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            if self.detail:
                yield Static(self.detail, classes="dialog-detail")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button("Keep (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, ok: bool) -> None:
        self.dismiss(ok)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def plan_candidates(root: Path, limit: int = 200) -> list[str]:
    """TOML files near the project root, for the path input's suggestions."""
    out: list[str] = []
    for pattern in ("*.toml", "*/*.toml", "*/*/*.toml"):
        for p in sorted(root.glob(pattern)):
            if p.name != "pyproject.toml" and ".buildrunner" not in p.parts:
                out.append(str(p.relative_to(root)))
                if len(out) >= limit:
                    return out
    return out


class NewSessionScreen(ModalScreen[str | None]):
    """A plan path (suggested from the project's TOML files) and an optional worker count."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="new.close")]

    @property
    def br(self) -> BrApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("New session from a plan", classes="dialog-title")
            yield Input(placeholder="path/to/plan.toml", id="plan-path")
            yield Input(
                placeholder="workers (default: the plan's, or CPU count)",
                id="plan-workers",
                type="integer",
            )
            yield Static("", id="plan-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#plan-path", Input).focus()
        self._suggest()

    @work(thread=True, exit_on_error=False)
    def _suggest(self) -> None:
        found = plan_candidates(self.br.project_root)
        self.app.call_from_thread(self._set_suggestions, found)

    def _set_suggestions(self, found: list[str]) -> None:
        self.query_one("#plan-path", Input).suggester = SuggestFromList(found)
        if found:
            self.query_one("#plan-error", Static).update(
                Text(f"{len(found)} plan file(s) here, e.g. {found[0]} (→ completes)", "dim")
            )

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def start(self) -> None:
        path = self.query_one("#plan-path", Input).value.strip()
        raw = self.query_one("#plan-workers", Input).value.strip()
        if not path:
            self.query_one("#plan-error", Static).update("give a plan file")
            return
        self._start(path, int(raw) if raw.isdigit() and int(raw) > 0 else None)

    @on(Button.Pressed, "#close")
    def close(self) -> None:
        self.dismiss(None)

    @work(thread=True, exit_on_error=False, exclusive=True)
    def _start(self, path: str, workers: int | None) -> None:
        try:
            sid = self.br.start_plan(self.br.project_root / path, workers)
        except Exception as exc:  # PlanError names file:line; show it and stay open
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self.dismiss, sid)

    def _failed(self, message: str) -> None:
        self.query_one("#plan-error", Static).update(Text(message, "bold"))


class QuitScreen(ModalScreen[str | None]):
    """Sessions are running: leave them running headless, pause them, or cancel them."""

    BINDINGS = [
        Binding("l", "choose('detach')", "Leave running", id="quit.detach"),
        Binding("p", "choose('pause')", "Pause", id="quit.pause"),
        Binding("c", "choose('cancel')", "Cancel", id="quit.cancel"),
        Binding("escape", "choose(None)", "Stay", id="quit.stay"),
    ]

    def __init__(self, running: int) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"{self.running} session(s) still running", classes="dialog-title")
            yield Static(
                "Leave them running in a background process, pause them (br-tui resume "
                "continues later), or cancel them?",
                classes="dialog-detail",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Leave running (l)", variant="primary", id="detach")
                yield Button("Pause (p)", variant="warning", id="pause")
                yield Button("Cancel (c)", variant="error", id="cancel")
                yield Button("Stay (esc)", id="stay")

    def action_choose(self, mode: str | None) -> None:
        self.dismiss(mode)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "stay" else event.button.id)


class KeysScreen(ModalScreen[None]):
    """Every key of the app and of the screen it was opened from, with its binding id."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="keys.close")]

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog keys"):
            yield Label("Keys (esc closes; ctrl+p searches every action)", classes="dialog-title")
            table: DataTable[str] = DataTable(cursor_type="row", id="keys-table")
            yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in (("where", "WHERE"), ("key", "KEY"), ("action", "ACTION"), ("id", "ID")):
            table.add_column(label, key=key)
        for row in self.rows:
            table.add_row(*row)
        table.focus()
