"""Feed: the session's tasks on the left, the highlighted task's output streaming on the right,
and the event log below it.

Tasks run in owner processes; the watched task is followed by reading its new rows of `output`
whenever the app's reader thread sees the output table grow (it looks ten times a second). The
view is capped, so memory is flat however long a task prints. `f` follow, `/` search (`n` /
`N` next / previous), `v` cycles the event log's minimum level, `g` jumps to the next running
task, `s` cycles sessions, `x` cancels the highlighted task.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Log

from br_tui.screens.base import LiveScreen
from br_tui.screens.live import EVENTS, SESSIONS, TASKS
from br_tui.widgets.fmt import duration, elapsed
from br_tui.widgets.line import Line
from br_tui.widgets.live_table import Col, LiveTable
from br_tui.widgets.palette import colour, state_text
from br_tui.widgets.scrolling import NoLayoutOnGrow
from br_tui.widgets.stream_log import StreamLog
from engine import clock, views
from engine.views import Feed

TAIL = 1000  # lines read back from the database when a task is picked
OUTPUT_CAP = 5000  # lines kept on screen per watched task
EVENT_CAP = 1000
LEVELS = ("debug", "info", "warning", "error", "critical")


class EventLog(NoLayoutOnGrow, Log):
    """The event log: growing doesn't re-lay out the screen."""


class FeedScreen(LiveScreen):
    LABEL = "Feed"
    TOPICS = frozenset({TASKS, EVENTS, SESSIONS})
    FOLLOWS_SESSION = True

    BINDINGS = [
        Binding("f", "follow", "Follow", id="feed.follow"),
        Binding("slash", "search", "Search", id="feed.search", key_display="/"),
        Binding("n", "find(False)", "Next match", id="feed.next", show=False),
        Binding("N", "find(True)", "Prev match", id="feed.prev", show=False),
        Binding("v", "level", "Level", id="feed.level"),
        Binding("g", "next_running", "Next running", id="feed.next_running"),
        Binding("s", "next_session", "Session", id="feed.session"),
        Binding("x", "cancel_task", "Cancel task", id="feed.cancel_task"),
        Binding("escape", "close_search", "Close search", id="feed.close_search", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session_id: str | None = None
        self.watching: tuple[str, str] | None = None
        self.last_seq = 0
        self.min_level = "info"
        self.needle = ""
        self._event_cursor = 0
        self._ticks = 0
        self._loading_output = False
        self._output_again = False
        self._events: list[dict[str, Any]] = []

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="feed-main"):
            self.tasks = LiveTable(
                [
                    Col("task", "TASK", 18),
                    Col("state", "STATE", 9, lambda s: state_text(self.app, s)),
                    Col("time", "TIME", 6, lambda s: Text(duration(s))),
                ],
                id="feed-tasks",
            )
            yield self.tasks
            with Vertical(id="feed-right"):
                yield Line("", id="output-title", classes="pane-title")
                self.output = StreamLog(max_lines=OUTPUT_CAP, id="output")
                yield self.output
                yield Input(
                    placeholder="search output (enter: next, esc: close)",
                    id="search",
                    classes="-hidden",
                )
                yield Line("", id="events-title", classes="pane-title")
                self.events = EventLog(max_lines=EVENT_CAP, id="events")
                yield self.events

    def on_mount(self) -> None:
        super().on_mount()
        self.tasks.focus()
        self._title()

    # -- reading -------------------------------------------------------------------------------

    def load(self, topics: frozenset[str]) -> Feed:
        sid = self.br.current_session or self.session_id
        return views.feed(self.br.store, sid, after_event=self._event_cursor, cap=EVENT_CAP)

    def show(self, data: Feed) -> None:
        if data.session is None:
            self.query_one("#output-title", Line).set(
                Text("no sessions yet — press 1 then n to start one", colour(self.app, "br-muted"))
            )
            return
        sid = data.session["id"]
        self._session_ids = data.session_ids
        if sid != self.session_id:
            self.session_id = sid
            self._event_cursor = 0
            self._events.clear()
            self.events.clear()
        self.session_status = data.session["status"]
        now = clock.now_dt()
        self.tasks.sync(
            {
                t["id"]: (
                    t["id"],
                    t["state"],
                    t["duration_s"]
                    if t["duration_s"] is not None
                    else elapsed(t["started_at"], t["ended_at"], now),
                )
                for t in data.tasks
            }
        )
        if data.events:
            self._event_cursor = data.events[-1]["id"]
            self._events = (self._events + data.events)[-EVENT_CAP:]
            self.events.write_lines(
                [self._event_line(e) for e in data.events if self._level_ok(e["level"])]
            )
        self._states = {t["id"]: t["state"] for t in data.tasks}
        if self.watching is None or self.watching[0] != sid:
            first = next((t["id"] for t in data.tasks if t["state"] == "running"), None)
            if first is not None:
                self.tasks.move_cursor(row=self.tasks.get_row_index(first), animate=False)
            key = self.tasks.cursor_key
            if key is not None:
                self._watch(sid, key)
        self._title()

    # -- output --------------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.tasks and self.session_id and event.row_key.value:
            self._watch(self.session_id, str(event.row_key.value))

    def _watch(self, sid: str, tid: str) -> None:
        if self.watching == (sid, tid):
            return
        self.watching = (sid, tid)
        self.output.reset()
        self.last_seq = 0
        self._read_output(sid, tid, True)
        self._title()

    def _read_output(self, sid: str, tid: str, first: bool) -> None:
        if self._loading_output:
            self._output_again = True  # one more read of whatever is watched when it lands
            return
        self._loading_output = True
        self.br.reader.submit(self._fetch, sid, tid, first)

    class OutputRead(Message):
        """A task's output rows (seq, line), read on the reader thread."""

        def __init__(
            self,
            screen: FeedScreen,
            sid: str,
            tid: str,
            rows: list[dict[str, Any]],
            error: str | None = None,
        ) -> None:
            super().__init__()
            self.screen, self.sid, self.tid, self.rows, self.error = screen, sid, tid, rows, error

    def _fetch(self, sid: str, tid: str, first: bool) -> None:
        """Reader thread: the watched task's tail (first) or its rows after the last seen."""
        store = self.br.store
        try:
            if first:
                rows = views.output_tail(store, sid, tid, TAIL)
            else:
                rows = views.output_after(store, sid, tid, self.last_seq, OUTPUT_CAP)
        except Exception as exc:
            self.br.post_message(
                self.OutputRead(self, sid, tid, [], f"could not read output: {exc}")
            )
            return
        self.br.post_message(self.OutputRead(self, sid, tid, rows))

    def output_read(self, message: OutputRead) -> None:
        self._got_output(message.sid, message.tid, message.rows)
        if message.error:
            self.notify(message.error, severity="error")

    def _got_output(self, sid: str, tid: str, rows: list[dict[str, Any]]) -> None:
        self._loading_output = False
        if self.watching == (sid, tid):
            fresh = [r["line"] for r in rows if r["seq"] > self.last_seq]
            if rows:
                self.last_seq = max(self.last_seq, rows[-1]["seq"])
            self.output.append(fresh)
        if self._output_again and self.watching is not None:
            self._output_again = False
            self._read_output(*self.watching, self.last_seq == 0)

    def tick(self) -> None:
        """20 Hz: when output was written anywhere, read the watched task's new rows."""
        self._ticks += 1
        if self.watching is not None and self.br.live.take_output():
            self._read_output(*self.watching, False)
        if self._ticks % 10 == 0:  # "N lines shown" twice a second is plenty
            self._title()

    def on_screen_resume(self) -> None:
        if self.watching is not None:
            self._read_output(*self.watching, False)
        super().on_screen_resume()

    # -- titles, events ------------------------------------------------------------------------

    def _title(self) -> None:
        muted = colour(self.app, "br-muted")
        t = Text()
        if self.watching:
            t.append(f"output · {self.watching[1]}", "bold")
            t.append(f"  {len(self.output.lines)} lines shown", muted)
            t.append(
                "  following" if self.output.follow else "  paused (f follows)",
                colour(self.app, "br-ok" if self.output.follow else "br-warn"),
            )
            if self.needle:
                t.append(f"  /{self.needle}", colour(self.app, "br-running"))
        else:
            t.append("output · pick a task", muted)
        self.query_one("#output-title", Line).set(t)
        e = Text()
        e.append("events", "bold")
        if self.session_id:
            e.append(f" · session {self.session_id}", muted)
        e.append(f"  level ≥ {self.min_level} (v)", muted)
        self.query_one("#events-title", Line).set(e)

    def _level_ok(self, level: str) -> bool:
        return LEVELS.index(level) >= LEVELS.index(self.min_level) if level in LEVELS else True

    @staticmethod
    def _event_line(e: dict[str, Any]) -> str:
        data = json.loads(e["data"] or "{}")
        detail = " ".join(f"{k}={v}" for k, v in list(data.items())[:4])
        parts = [e["ts"][11:19], f"{e['level'][:4].upper():4}", f"{e['type']:<16}"]
        parts += [x for x in (e["task_id"], e["worker_id"], detail) if x]
        return " ".join(parts)

    # -- keys ----------------------------------------------------------------------------------

    def action_follow(self) -> None:
        self.output.follow = not self.output.follow
        self._title()

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.remove_class("-hidden")
        box.focus()

    def action_close_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("-hidden")
        self.tasks.focus()

    @on(Input.Submitted, "#search")
    def _searched(self, event: Input.Submitted) -> None:
        self.needle = event.value
        self.action_find(False)

    def action_find(self, backwards: bool) -> None:
        found = self.output.find(self.needle, backwards=backwards)
        if self.needle and found is None:
            self.notify(f"'{self.needle}' not in the shown output", timeout=2)
        elif found:
            self.notify(f"line {found[0] + 1} ({found[1]} matches)", timeout=1.5)
        self._title()

    def action_level(self) -> None:
        self.min_level = LEVELS[(LEVELS.index(self.min_level) + 1) % 4]
        self.events.clear()
        self.events.write_lines(
            [self._event_line(e) for e in self._events if self._level_ok(e["level"])]
        )
        self._title()

    def action_next_session(self) -> None:
        ids = getattr(self, "_session_ids", [])
        if not ids:
            return
        at = ids.index(self.session_id) + 1 if self.session_id in ids else 0
        self.session_id = None
        self.br.current_session = ids[at % len(ids)]
        self.watching = None
        self.request_refresh()

    def action_next_running(self) -> None:
        """Jump to the next running task after the cursor (wrapping): the one worth watching."""
        order = list(getattr(self, "_states", {}))
        if not order:
            return
        at = order.index(self.tasks.cursor_key) if self.tasks.cursor_key in order else -1
        for tid in order[at + 1 :] + order[: at + 1]:
            if self._states[tid] == "running":
                self.tasks.move_cursor(row=self.tasks.get_row_index(tid), animate=False)
                return
        self.notify("no task is running", timeout=2)

    def action_cancel_task(self) -> None:
        if self.watching:
            self.br.control(self.watching[0], "cancel_task", self.watching[1])

    def restyle(self) -> None:
        self.tasks.restyle()
        self._title()
