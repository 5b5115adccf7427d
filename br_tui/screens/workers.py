"""Workers: the pools of the active sessions — status, current task, done / failed, heartbeat
age, utilization — with each session's target size and queue depth. `+` / `-` scale the pool of
the highlighted worker's session (or the current session). A session on a Dask cluster also
lists the cluster's workers (address, threads, memory, current task) in a second table."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding

from br_tui.screens.base import LiveScreen
from br_tui.screens.live import SESSIONS, WORKERS
from br_tui.widgets.fmt import ago, elapsed
from br_tui.widgets.line import Line
from br_tui.widgets.live_table import Col, LiveTable
from br_tui.widgets.palette import colour, state_text
from engine import clock, views
from engine.executors.dask import format_bytes
from engine.views import Pools


class WorkersScreen(LiveScreen):
    LABEL = "Workers"
    TOPICS = frozenset({WORKERS, SESSIONS})
    FOLLOWS_SESSION = True
    PERIOD = 1.0  # heartbeats are written without events: their age is read on a timer

    BINDINGS = [
        Binding("plus,equals_sign", "scale(1)", "+1 worker", id="workers.add", key_display="+"),
        Binding("minus", "scale(-1)", "-1 worker", id="workers.remove", key_display="-"),
    ]

    def compose_body(self) -> ComposeResult:
        yield Line("", id="pools", classes="pane-title")
        self.table = LiveTable(
            [
                Col("worker", "WORKER", 7),
                Col("session", "SESSION", 9),
                Col("status", "STATUS", 8, lambda s: state_text(self.app, s)),
                Col("task", "CURRENT TASK", 24),
                Col("done", "DONE", 5),
                Col("failed", "FAIL", 5),
                Col("beat", "HEARTBEAT", 10),
                Col("util", "UTIL", 5, lambda u: Text("-" if u is None else f"{u:4.0%}")),
            ],
            id="workers-table",
        )
        yield self.table
        self.cluster = LiveTable(
            [
                Col("address", "DASK WORKER", 22),
                Col("session", "SESSION", 9),
                Col("status", "STATUS", 8, lambda s: state_text(self.app, s)),
                Col("task", "CURRENT TASK", 24),
                Col("threads", "THR", 3),
                Col("memory", "MEMORY", 20),
                Col("done", "DONE", 5),
                Col("failed", "FAIL", 5),
                Col("seen", "SEEN", 10),
            ],
            id="cluster-table",
        )
        self.cluster.display = False  # only while a session runs on a cluster
        yield self.cluster

    def load(self, topics: frozenset[str]) -> Pools:
        return views.pools(self.br.store)

    def show(self, data: Pools) -> None:
        now = clock.now_dt()
        self._sessions = {s["id"]: s for s in data.sessions}
        rows: dict[str, tuple[Any, ...]] = {}
        for w in data.workers:
            alive = elapsed(w["started_at"], w["heartbeat_at"], now)
            busy = w["busy_s"] + (
                elapsed(w["task_started"], w["heartbeat_at"], now) or 0.0
                if w["status"] == "busy"
                else 0.0
            )
            util = min(1.0, busy / alive) if alive else None
            rows[f"{w['session_id']}/{w['id']}"] = (
                w["id"],
                w["session_id"],
                w["status"],
                w["current_task"] or "-",
                w["done"],
                w["failed"],
                ago(w["heartbeat_at"], now) if w["status"] != "offline" else "-",
                util,
            )
        self.table.sync(rows)
        members = {
            f"{m['session_id']}/{m['address']}": (
                m["address"],
                m["session_id"],
                m["status"],
                m["current_task"] or "-",
                "-" if m["threads"] is None else m["threads"],
                f"{format_bytes(m['memory'])} / {format_bytes(m['memory_limit'])}",
                m["done"],
                m["failed"],
                ago(m["seen_at"], now) if m["status"] != "offline" else "-",
            )
            for m in data.members
        }
        self.cluster.display = bool(members)
        self.cluster.sync(members)
        muted = colour(self.app, "br-muted")
        line = Text()
        for s in data.sessions:
            live = sum(
                1 for w in data.workers if w["session_id"] == s["id"] and w["status"] != "offline"
            )
            if line:
                line.append("   ")
            line.append(f"{s['id']} ", "bold")
            line.append_text(state_text(self.app, s["status"]))
            line.append(
                f"  target {self._target(s)} · live {live} · running {s['running']}"
                f" · queue {s['queued']}",
                muted,
            )
        if not data.sessions:
            line = Text("no sessions yet — press 1 then n to start one from a plan", muted)
        self.query_one("#pools", Line).set(line)

    def _target(self, s: dict[str, Any]) -> int:
        return int(s["workers"] or 0)

    def _session(self) -> dict[str, Any] | None:
        key = self.table.cursor_key
        sessions = getattr(self, "_sessions", {})
        if key:
            return sessions.get(key.split("/", 1)[0])
        if self.br.current_session in sessions:
            return sessions[self.br.current_session]
        return next(iter(sessions.values()), None)

    def action_scale(self, delta: int) -> None:
        s = self._session()
        if s is None or s["status"] not in ("running", "paused"):
            self.notify("no running session to scale", severity="warning")
            return
        target = max(1, self._target(s) + delta)
        self.br.control(s["id"], "scale", str(target))

    def restyle(self) -> None:
        self.table.restyle()
        self.cluster.restyle()
