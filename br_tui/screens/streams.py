"""Streams: per stream its branch, ahead/behind the target, last commit, task progress and
conflict or gate state; the highlighted stream's diff; the session's checkpoints with their
gates; the shared decisions. `k` runs a checkpoint, `d` records a decision, `o` reads the
highlighted gate's output.

Everything here asks git (branch heads, diffs) as well as the database, so reads run in thread
workers through `engine.streams`' read model, never on the UI loop; so does a checkpoint, which
runs the gates and can take minutes.
"""

from __future__ import annotations

from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from br_tui.screens.base import LiveScreen
from br_tui.screens.dialogs import ConfirmScreen
from br_tui.widgets.line import Line
from br_tui.widgets.live_table import Col, LiveTable
from br_tui.widgets.palette import colour

#: Stream and gate states -> the semantic colour they are drawn in.
STATE_COLOURS = {
    "pending": "br-muted",
    "active": "br-running",
    "merged": "br-ok",
    "passed": "br-ok",
    "conflict": "br-error",
    "gate_failed": "br-error",
    "failed": "br-error",
    "running": "br-running",
    "nothing_to_merge": "br-muted",
    "removed": "br-muted",
}


class DecideScreen(ModalScreen[str | None]):
    """One line of text for the shared decisions log."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="decide.close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Record a decision every stream will read", classes="dialog-title")
            yield Input(placeholder="e.g. ids are UUIDv7 strings everywhere", id="decision")

    def on_mount(self) -> None:
        self.query_one("#decision", Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class GateOutputScreen(ModalScreen[None]):
    """A gate's output (masked when it was stored)."""

    BINDINGS = [Binding("escape,o,q", "dismiss(None)", "Close", id="gate.close")]

    def __init__(self, title: str, output: str) -> None:
        super().__init__()
        self.title_text, self.output = title, output

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="gate-dialog"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(id="gate-output-scroll"):
                yield Static(Text(self.output or "(no output)"), id="gate-output")


class StreamsScreen(LiveScreen):
    LABEL = "Streams"
    CSS_PATH = "streams.tcss"
    READER = False  # asks git too: its own thread workers, not the shared reader
    FOLLOWS_SESSION = True

    BINDINGS = [
        Binding("k", "checkpoint", "Checkpoint", id="streams.checkpoint"),
        Binding("d", "decide", "Decide", id="streams.decide"),
        Binding("o", "gate_output", "Gate output", id="streams.gate_output"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: Any = None
        self.session_id: str | None = None
        self._diff_for: str | None = None
        self.checkpointing = False
        self.diff_text = ""  # the diff on show (tests and copy read it)

    def compose_body(self) -> ComposeResult:
        yield Line("", id="streams-title", classes="pane-title")
        self.table = LiveTable(
            [
                Col("stream", "STREAM", 12),
                Col("state", "STATE", 11, self._state),
                Col("branch", "BRANCH", 24),
                Col("ahead", "AHEAD", 6),
                Col("behind", "BEHIND", 6),
                Col("tasks", "TASKS", 9),
                Col("last", "LAST COMMIT", 40),
            ],
            id="streams-table",
        )
        yield self.table
        with Horizontal(id="streams-lower"):
            with Vertical(id="streams-diff-box"):
                yield Line("", id="streams-diff-title", classes="pane-title")
                with VerticalScroll(id="streams-diff-scroll"):
                    yield Static("", id="streams-diff")
            with Vertical(id="streams-side"):
                yield Line("checkpoints · gates (o: output)", classes="pane-title")
                self.gates = LiveTable(
                    [
                        Col("checkpoint", "CHECKPOINT", 14),
                        Col("status", "STATUS", 11, self._state),
                        Col("gate", "GATE", 12),
                        Col("result", "RESULT", 7, self._state),
                        Col("exit", "EXIT", 4),
                    ],
                    id="gates-table",
                )
                yield self.gates
                yield Line("decisions (d: add)", classes="pane-title")
                with VerticalScroll(id="decisions-scroll"):
                    yield Static("", id="decisions")

    def _state(self, state: str | None) -> Text:
        if not state:
            return Text("-")
        return Text(state, colour(self.app, STATE_COLOURS.get(state, "br-muted")))

    # -- reading -------------------------------------------------------------------------------

    def load(self, topics: frozenset[str]) -> Any:
        from engine.streams import overview

        # the session picked elsewhere (Sessions) if it has streams, else the one shown
        return overview(self.br.store, self.br.current_session or self.session_id)

    def show(self, data: Any) -> None:
        self.data = data
        muted = colour(self.app, "br-muted")
        if data.session is None:
            self.query_one("#streams-title", Line).set(
                Text("no session with streams yet — add [[stream]] tables to a plan", muted)
            )
            self.table.sync({})
            self.gates.sync({})
            return
        s = data.session
        self.session_id = s["id"]
        target = next((v.target for v in data.streams if v.target), None) or "?"
        title = Text.assemble((f"{s['id']} ", "bold"), f"{s['name']} · ")
        title.append(f"target {target} · {len(data.streams)} streams", muted)
        if self.checkpointing:
            title.append("  checkpoint running…", colour(self.app, "br-running"))
        self.query_one("#streams-title", Line).set(title)
        rows = {}
        for v in data.streams:
            failed = f" ✗{v.tasks_failed}" if v.tasks_failed else ""
            tasks = f"{v.tasks_done}/{v.tasks_total}{failed}"
            rows[v.id] = (v.id, v.state, v.branch, f"+{v.ahead}", f"-{v.behind}", tasks,
                          v.last_commit or "-")  # fmt: skip
        self.table.sync(rows)
        gate_rows: dict[str, tuple[Any, ...]] = {}
        for c in data.checkpoints[:10]:
            if not c["gates"]:
                gate_rows[f"c{c['id']}"] = (c["name"], c["status"], "-", None, "")
            for g in c["gates"]:
                exit_code = "" if g["exit_code"] is None else str(g["exit_code"])
                gate_rows[f"g{g['id']}"] = (
                    c["name"], c["status"], g["name"], g["status"], exit_code
                )  # fmt: skip
        self.gates.sync(gate_rows)
        lines = Text()
        for d in data.decisions:
            if lines:
                lines.append("\n")
            lines.append(f"{d['ts'][11:19]} ", muted)
            lines.append(f"{d['author']}: ", "bold")
            lines.append(d["text"])
        self.query_one("#decisions", Static).update(lines or Text("none yet", muted))
        self._load_diff(self.table.cursor_key or next(iter(rows), None), force=False)

    @on(DataTable.RowHighlighted, "#streams-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        self._load_diff(key, force=False)

    def _load_diff(self, stream_id: str | None, *, force: bool) -> None:
        if stream_id is None or self.session_id is None:
            return
        if stream_id == self._diff_for and not force:
            return
        self._diff_for = stream_id
        self._read_diff(self.session_id, stream_id)

    @work(thread=True, exclusive=True, group="streams-diff", exit_on_error=False)
    def _read_diff(self, session_id: str, stream_id: str) -> None:
        from engine.streams import stream_diff

        files, diff = stream_diff(self.br.store, session_id, stream_id)
        self.app.call_from_thread(self._show_diff, stream_id, files, diff)

    def _show_diff(self, stream_id: str, files: list[str], diff: str) -> None:
        if not self.is_mounted:
            return
        views = self.data.streams if self.data else []
        view = next((v for v in views if v.id == stream_id), None)
        title = Text.assemble((f"{stream_id}", "bold"), f" · {len(files)} file(s) changed")
        if view is not None and view.notice:
            title.append(f"  ! {view.notice}", colour(self.app, "br-error"))
        self.query_one("#streams-diff-title", Line).set(title)
        self.diff_text = diff
        body: Any = (
            Syntax(diff, "diff", word_wrap=False, theme="ansi_dark")
            if diff
            else Text("no changes against the target", colour(self.app, "br-muted"))
        )
        self.query_one("#streams-diff", Static).update(body)

    # -- actions -------------------------------------------------------------------------------

    def action_checkpoint(self) -> None:
        if self.session_id is None:
            self.notify("no session with streams", severity="warning")
            return
        if self.checkpointing:
            self.notify("a checkpoint is already running", severity="warning")
            return
        sid = self.session_id
        streams = ", ".join(v.id for v in self.data.streams) if self.data else ""

        def chosen(ok: bool | None) -> None:
            if ok:
                self.checkpointing = True
                self.request_refresh()
                self._run_checkpoint(sid)

        self.app.push_screen(
            ConfirmScreen(
                f"Checkpoint session {sid}?",
                f"Merge {streams} in an integration worktree, run the gates, and only if all"
                " pass fast-forward the target.",
                yes="Checkpoint",
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="streams-checkpoint", exit_on_error=False)
    def _run_checkpoint(self, session_id: str) -> None:
        from engine.streams import CheckpointError, GitError, run_checkpoint

        try:
            result = run_checkpoint(self.br.store, session_id)
        except (CheckpointError, GitError) as exc:
            self.app.call_from_thread(self._checkpoint_done, f"checkpoint: {exc}", "error")
            return
        severity = "information" if result.ok else "error"
        message = f"checkpoint {result.status}: {result.message}"
        self.app.call_from_thread(self._checkpoint_done, message, severity)

    def _checkpoint_done(self, message: str, severity: str) -> None:
        self.checkpointing = False
        self.notify(message, severity=severity, timeout=8)  # type: ignore[arg-type]
        if self.is_mounted:
            self._diff_for = None
            self.request_refresh()

    def action_decide(self) -> None:
        if self.session_id is None:
            self.notify("no session with streams", severity="warning")
            return
        sid = self.session_id
        stream = self.table.cursor_key

        def chosen(text: str | None) -> None:
            if text:
                self._add_decision(sid, text, stream)

        self.app.push_screen(DecideScreen(), chosen)

    @work(thread=True, group="streams-decide", exit_on_error=False)
    def _add_decision(self, session_id: str, text: str, stream: str | None) -> None:
        import getpass

        from engine.streams import DecisionError, add_decision

        try:
            add_decision(self.br.store, session_id, text, author=f"person {getpass.getuser()}",
                         stream_id=stream)  # fmt: skip
            self.br.store.flush()
        except DecisionError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="warning")
            return
        self.app.call_from_thread(self.request_refresh)

    def action_gate_output(self) -> None:
        key = self.gates.cursor_key
        if not key or not key.startswith("g"):
            self.notify("highlight a gate first (tab to the gates table)", severity="warning")
            return
        self._read_gate(int(key[1:]))

    @work(thread=True, group="streams-gate", exit_on_error=False)
    def _read_gate(self, gate_id: int) -> None:
        from engine.streams import gate_output

        text = gate_output(self.br.store, gate_id)
        name = next(
            (g["name"] for c in (self.data.checkpoints if self.data else []) for g in c["gates"]
             if g["id"] == gate_id),
            "gate",
        )  # fmt: skip
        self.app.call_from_thread(self.app.push_screen, GateOutputScreen(f"gate {name}", text))

    def restyle(self) -> None:
        self.table.restyle()
        self.gates.restyle()
