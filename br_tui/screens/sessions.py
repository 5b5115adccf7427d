"""Sessions: every session with its status and progress; the highlighted one's tasks below.

`p` pause, `r` resume, `c` cancel (after a confirmation), `n` new session from a plan file,
`d` delete finished sessions, `enter` into the task list, `x` cancel the highlighted task.
All control goes through the engine host on a thread; the table changes when the engine's
events say the session changed, not when the key was pressed.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import DataTable

from br_tui.screens.base import LiveScreen
from br_tui.screens.live import SESSIONS, TASKS
from br_tui.widgets.fmt import bar, duration, elapsed, money
from br_tui.widgets.line import Line
from br_tui.widgets.live_table import Col, LiveTable
from br_tui.widgets.palette import colour, state_text
from engine import clock, views
from engine.views import SessionsPage

SESSION_LIMIT = 200


class SessionsScreen(LiveScreen):
    LABEL = "Sessions"
    TOPICS = frozenset({SESSIONS, TASKS, "costs"})
    PERIOD = 1.0  # elapsed times tick

    BINDINGS = [
        Binding("p", "pause", "Pause", id="sessions.pause"),
        Binding("r", "resume", "Resume", id="sessions.resume"),
        Binding("c", "cancel", "Cancel", id="sessions.cancel"),
        Binding("n", "new", "New", id="sessions.new"),
        Binding("d", "cleanup", "Delete finished", id="sessions.cleanup"),
        Binding("x", "cancel_task", "Cancel task", id="sessions.cancel_task"),
        Binding("enter", "tasks", "Tasks", id="sessions.tasks", show=False),
        Binding("escape", "back", "Back", id="sessions.back", show=False),
    ]

    selected_status: reactive[str | None] = reactive(None, bindings=True)

    def compose_body(self) -> ComposeResult:
        self.sessions = LiveTable(
            [
                Col("id", "SESSION", 8),
                Col("name", "NAME", 16),
                Col("status", "STATUS", 9, lambda s: state_text(self.app, s)),
                Col("progress", "PROGRESS", 13, lambda f: Text(bar(f, 8))),
                Col("counts", "OK/FL/ALL", 9),
                Col("elapsed", "ELAPSED", 7, lambda s: Text(duration(s))),
                Col("cost", "COST", 7, lambda c: Text(money(c))),
                Col("workers", "WKR", 3),
            ],
            id="sessions-table",
        )
        self.tasks = LiveTable(
            [
                Col("task", "TASK", 20),
                Col("state", "STATE", 9, lambda s: state_text(self.app, s)),
                Col("worker", "WORKER", 6),
                Col("attempts", "TRIES", 5),
                Col("duration", "TIME", 6, lambda s: Text(duration(s))),
                Col("exit", "EXIT", 4),
                Col("reason", "REASON", None),
            ],
            id="tasks-table",
        )
        yield self.sessions
        yield Line("", id="tasks-title", classes="pane-title")
        yield self.tasks

    def on_mount(self) -> None:
        super().on_mount()
        self.sessions.focus()

    # -- reading -------------------------------------------------------------------------------

    def load(self, topics: frozenset[str]) -> SessionsPage:
        return views.sessions_page(self.br.store, self.sessions.cursor_key, SESSION_LIMIT)

    def show(self, data: SessionsPage) -> None:
        now = clock.now_dt()
        self.sessions.sync(
            {
                r["id"]: (
                    r["id"],
                    r["name"],
                    r["status"],
                    (r["succeeded"] + r["failed"] + r["cancelled"]) / r["total"]
                    if r["total"]
                    else 1.0,
                    f"{r['succeeded']}/{r['failed']}/{r['total']}",
                    elapsed(r["started_at"], r["ended_at"], now),
                    data.costs.get(r["id"]),
                    r["workers"] if r["workers"] is not None else "-",
                )
                for r in data.sessions
            }
        )
        self._by_id = {r["id"]: r for r in data.sessions}
        if data.tasks_of is not None and data.tasks_of == self.sessions.cursor_key:
            if getattr(self, "_tasks_of", None) != data.tasks_of:
                self.tasks.clear()
                self.tasks._drawn.clear()
                self.tasks._order.clear()
                self._tasks_of = data.tasks_of
            self.tasks.sync(
                {
                    t["id"]: (
                        t["id"],
                        t["state"],
                        t["worker_id"] or "-",
                        t["attempts"],
                        t["duration_s"]
                        if t["duration_s"] is not None
                        else elapsed(t["started_at"], t["ended_at"], now),
                        "-" if t["exit_code"] is None else t["exit_code"],
                        t["reason"] or "",
                    )
                    for t in data.tasks
                }
            )
            row = self._by_id.get(data.tasks_of)
            if row is not None:
                self.query_one("#tasks-title", Line).set(
                    Text.assemble(
                        ("tasks of ", colour(self.app, "br-muted")),
                        (f"{row['id']} {row['name']}", "bold"),
                        ("  enter: focus · x: cancel task", colour(self.app, "br-muted")),
                    )
                )
        self._update_selected()

    def _update_selected(self) -> None:
        sid = self.sessions.cursor_key
        row = getattr(self, "_by_id", {}).get(sid) if sid else None
        self.selected_status = row["status"] if row else None
        if sid and sid != self.br.current_session:
            self.br.current_session = sid

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.sessions:
            self._update_selected()
            if getattr(self, "_tasks_of", None) != self.sessions.cursor_key:
                self.request_refresh(frozenset({TASKS}))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table is self.sessions:
            self.action_tasks()

    def restyle(self) -> None:
        self.sessions.restyle()
        self.tasks.restyle()

    # -- keys ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        status = self.selected_status
        if action == "pause":
            return status == "running"
        if action == "resume":
            return status in ("paused", "created", "running") if status else False
        if action == "cancel":
            return status in ("running", "paused", "created")
        if action == "cancel_task":
            return self.tasks.has_focus and status in ("running", "paused")
        return True

    def action_pause(self) -> None:
        if sid := self.sessions.cursor_key:
            self.br.control(sid, "pause")

    def action_resume(self) -> None:
        if sid := self.sessions.cursor_key:
            self.br.control(sid, "resume")

    def action_cancel(self) -> None:
        sid = self.sessions.cursor_key
        if not sid:
            return
        from br_tui.screens.dialogs import ConfirmScreen

        row = self._by_id.get(sid, {})

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.br.control(sid, "cancel")

        self.app.push_screen(
            ConfirmScreen(
                f"Cancel session {sid} ({row.get('name', '')})?",
                "Running tasks get SIGTERM, then SIGKILL; queued tasks end cancelled.",
                yes="Cancel session",
            ),
            confirmed,
        )

    def action_new(self) -> None:
        from br_tui.screens.dialogs import NewSessionScreen

        self.app.push_screen(NewSessionScreen())

    def action_cleanup(self) -> None:
        from br_tui.screens.dialogs import ConfirmScreen

        finished = [
            r
            for r in getattr(self, "_by_id", {}).values()
            if r["status"] in ("completed", "failed", "cancelled")
        ]
        if not finished:
            self.notify("no finished sessions to delete")
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.br.cleanup_finished()

        self.app.push_screen(
            ConfirmScreen(
                f"Delete {len(finished)} finished session(s)?",
                "Their tasks, output and events are removed from the database.",
                yes="Delete",
            ),
            confirmed,
        )

    def action_cancel_task(self) -> None:
        sid, tid = self.sessions.cursor_key, self.tasks.cursor_key
        if sid and tid:
            self.br.control(sid, "cancel_task", tid)

    def action_tasks(self) -> None:
        self.tasks.focus()
        self.refresh_bindings()

    def action_back(self) -> None:
        self.sessions.focus()
        self.refresh_bindings()
