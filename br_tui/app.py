"""The br-tui app: five screens over the engine, on number keys, with live updates.

The app is a view; no engine runs in its process. It creates sessions through `EngineHost`
(a broken plan is reported at once), which hands each to a background owner process; every
session, whoever started it, is steered through control rows (on threads: a request waits for
the owner's answer) and followed from the database: the reader thread looks at the newest
event and output ids ten times a second and reads only when they moved. Everything the app
reads, it reads on that thread.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen

from br_tui.keymap import apply_user_keymap, in_force
from br_tui.notices import AppNotices, NoticeRead
from br_tui.quiet_gc import QuietCollector
from br_tui.screens.base import LiveScreen
from br_tui.screens.costs import CostsScreen
from br_tui.screens.dialogs import KeysScreen, QuitScreen
from br_tui.screens.feed import FeedScreen
from br_tui.screens.live import ALL, Live
from br_tui.screens.security import SecurityScreen
from br_tui.screens.sessions import SessionsScreen
from br_tui.screens.streams import StreamsScreen
from br_tui.screens.workers import WorkersScreen
from br_tui.widgets.palette import with_semantic
from br_tui.widgets.topbar import Totals
from engine import clock, views
from engine.host import EngineHost
from engine.store import Store
from engine.views import SessionTotals

TICK_S = 0.05  # 20 Hz: streamed output is drained this often
REFRESH_S = 0.2  # tables re-read at most 5 times a second, unless a user is waiting (wake-up)
TOTALS_S = 0.5  # the top bar's totals at most twice a second
FOLLOW_S = 0.1  # how often the reader thread looks for new events / output (two max(id)s)
#: The UI loop gives the GIL up at every select() and message hand-off; with other threads
#: busy (the reader, Textual's driver), CPython's default 5 ms switch interval makes it wait up
#: to that long to get it back each time. 1 ms keeps the UI close to the front of the queue.
SWITCH_INTERVAL_S = 0.001


class Reader:
    """One long-lived thread for the app's database reads.

    A Textual thread worker is a new thread each time, and `Store.reader` gives every new
    thread a new SQLite connection: at 5 reads a second that was a connection opened (schema
    parsed, page cache refilled) per read and a fresh malloc arena's worth of churn, which
    showed as RSS creeping up with the database. Reads here run in order on one thread that
    keeps one connection; results go back to the UI loop as messages (never waiting on it).
    """

    def __init__(self, every: Callable[[], None] | None = None, period: float = FOLLOW_S) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._every = every  # also run this every `period` seconds, between reads
        self._period = period

    def start(self) -> None:
        self.submit(lambda: None)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="br-ui-reader", daemon=True)
                self._thread.start()
        self._queue.put((fn, args))

    def _run(self) -> None:
        due = time.monotonic()
        while True:
            item: Any = ()
            if self._every is not None:
                now = time.monotonic()
                if now >= due:
                    due = now + self._period
                    self._call(self._every, ())
                try:
                    item = self._queue.get(timeout=max(0.0, due - time.monotonic()))
                except queue.Empty:
                    continue
            else:
                item = self._queue.get()
            if item is None:
                return
            self._call(*item)

    @staticmethod
    def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except Exception as exc:  # the callables report their own errors; never die
            print(f"br-tui: read failed: {exc!r}", file=sys.stderr)

    def close(self) -> None:
        self._queue.put(None)


class BrApp(App[str | None]):
    """`store` is the project database; `host` runs this process' sessions."""

    CSS_PATH = "app.tcss"
    TITLE = "br-tui"
    MODES = {
        "sessions": SessionsScreen,
        "workers": WorkersScreen,
        "feed": FeedScreen,
        "costs": CostsScreen,
        "security": SecurityScreen,
        "streams": StreamsScreen,
    }
    DEFAULT_MODE = "sessions"

    BINDINGS = [
        Binding("1", "switch_mode('sessions')", "Sessions", id="app.sessions", show=False),
        Binding("2", "switch_mode('workers')", "Workers", id="app.workers", show=False),
        Binding("3", "switch_mode('feed')", "Feed", id="app.feed", show=False),
        Binding("4", "switch_mode('costs')", "Costs", id="app.costs", show=False),
        Binding("5", "switch_mode('security')", "Security", id="app.security", show=False),
        Binding("6", "switch_mode('streams')", "Streams", id="app.streams", show=False),
        Binding("question_mark", "keys", "Keys", id="app.keys"),
        Binding("ctrl+t", "change_theme", "Theme", id="app.theme", show=False),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    totals: reactive[Totals] = reactive(Totals)
    current_session: reactive[str | None] = reactive(None)

    class Wake(Message):
        """The engine did something a user is waiting to see."""

    class TotalsRead(Message):
        """The reader thread read the top bar's totals (None: the read failed)."""

        def __init__(self, totals: SessionTotals | None) -> None:
            super().__init__()
            self.totals = totals

    def __init__(
        self,
        store: Store,
        host: EngineHost | None = None,
        *,
        project_root: Path | None = None,
        started: Iterable[str] = (),
        watch_files: bool = True,
        theme: str | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.host = host if host is not None else EngineHost(store)
        self.project_root = (project_root or Path.cwd()).resolve()
        self.started: list[str] = list(started)
        self.watch_files = watch_files
        self.live = Live(lambda: self.post_message(self.Wake()))
        self.reader = Reader(self._follow)
        self.quiet_gc = QuietCollector()
        self.notices = AppNotices(self)  # [notify]: toasts / bell for sessions' transitions
        self._unsubscribe: Callable[[], None] | None = None
        self._seen: tuple[int, int] | None = None  # newest (event id, output id) read
        self._pending: set[str] = set()
        self._last_refresh = 0.0
        self._last_totals = 0.0
        self._looking = False
        if theme:
            self.theme = theme
        if self.started:
            self.current_session = self.started[-1]

    # -- theme ---------------------------------------------------------------------------------

    def get_css_variables(self) -> dict[str, str]:
        variables = with_semantic(super().get_css_variables())
        self.theme_variables = variables
        return variables

    def _theme_changed(self, _theme: object) -> None:
        for screen in self._live_screens():
            screen.restyle()

    def _live_screens(self) -> list[LiveScreen]:
        out = []
        for stack in self._screen_stacks.values():
            out += [s for s in stack if isinstance(s, LiveScreen)]
        return out

    # -- life ----------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._unsubscribe = self.store.subscribe(self.live.on_batch)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.set_interval(TICK_S, self._tick)
        self.reader.start()
        self.quiet_gc.start()
        self._look()
        apply_user_keymap(self)  # $XDG_CONFIG_HOME/br-tui/keymap.toml; problems are toasts
        self.notices.on_mount()

    def on_unmount(self) -> None:
        self.quiet_gc.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.reader.close()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.quiet_gc.input_seen()
        await super().on_event(event)

    def on_live_screen_loaded(self, message: LiveScreen.Loaded) -> None:
        message.screen.loaded(message)

    def on_feed_screen_output_read(self, message: FeedScreen.OutputRead) -> None:
        message.screen.output_read(message)

    def on_notice_read(self, message: NoticeRead) -> None:
        self.notices.show(message.notice)

    def on_br_app_wake(self, _: Wake) -> None:
        self._tick(urgent=True)

    def _tick(self, urgent: bool = False) -> None:
        """Coalesce: whatever changed since the last refresh is read once, at most 5 times a
        second — at once when the change is one a user just asked for."""
        self._pending |= self.live.take()
        if not urgent:
            self.quiet_gc.tick()
        try:
            screen = self.screen
        except ScreenStackError:  # between modes, or shutting down
            return
        now = time.monotonic()
        if isinstance(screen, LiveScreen):
            if self._pending and (urgent or now - self._last_refresh >= REFRESH_S):
                screen.request_refresh(frozenset(self._pending))
                self._last_refresh = now
                if self._pending & {"sessions", "alerts", "costs"} and (
                    urgent or now - self._last_totals >= TOTALS_S
                ):
                    self._last_totals = now
                    self._look()
                self._pending.clear()
            screen.tick()

    def _look(self) -> None:
        if not self._looking:
            self._looking = True
            self.reader.submit(self._read_totals)

    def _read_totals(self) -> None:
        """Totals for the top bar (reader thread)."""
        try:
            totals = views.session_totals(self.store)
        except Exception:
            self.post_message(self.TotalsRead(None))
            raise
        self.post_message(self.TotalsRead(totals))

    def on_br_app_totals_read(self, message: TotalsRead) -> None:
        self._looking = False
        if message.totals is not None:
            self.totals = top_bar_totals(message.totals, self.project_root.name)

    def _follow(self) -> None:
        """Reader thread, 10 Hz: did any process (owners, other terminals) write events or
        output? Two primary-key max()es; the new events' types only when they moved."""
        now = views.activity(self.store)
        seen, self._seen = self._seen, now
        if seen is None or now == seen:
            return
        types = views.event_types_between(self.store, seen[0], now[0]) if now[0] > seen[0] else []
        self.live.on_remote(types, max(0, now[1] - seen[1]))
        if now[0] > seen[0]:
            self.notices.follow(seen[0], now[0])

    # -- engine verbs (on threads: they block) -------------------------------------------------

    @work(thread=True, exit_on_error=False, group="control")
    def control(self, session_id: str, action: str, arg: str | None = None) -> None:
        try:
            if action == "resume":
                result = self.host.resume(session_id)
            else:
                result = self.host.control(session_id, action, arg)
        except Exception as exc:  # SessionError etc.: one line for the user
            self.call_from_thread(self.notify, str(exc), severity="error", timeout=4)
        else:
            self.call_from_thread(self.notify, f"{session_id}: {result}", timeout=2)
        self.live.mark(ALL)
        self.call_from_thread(self._tick, True)

    def start_plan(self, path: Path, workers: int | None = None) -> str:
        """Blocking (loads the plan, writes its rows): call from a thread."""
        sid = self.host.start_plan(path, workers=workers)
        self.started.append(sid)
        self.call_from_thread(setattr, self, "current_session", sid)
        self.call_from_thread(self.notify, f"started session {sid} from {path.name}", timeout=3)
        self.live.mark(ALL)
        return sid

    @work(thread=True, exit_on_error=False, group="control")
    def cleanup_finished(self) -> None:
        from engine.sessions import cleanup

        rows = cleanup(self.store, 0.0)
        self.call_from_thread(self.notify, f"deleted {len(rows)} finished session(s)")
        self.live.mark(ALL)

    # -- keys ----------------------------------------------------------------------------------

    def _all_bindings(self, screen: Screen[Any]) -> list[tuple[str, Binding, str]]:
        """(where, binding, namespace) for the app's keys and the screen's."""
        out = [("app", b, "app") for b in self.BINDINGS if isinstance(b, Binding)]
        label = getattr(screen, "LABEL", "") or type(screen).__name__
        out += [
            (label, b, "screen") for b in getattr(screen, "BINDINGS", []) if isinstance(b, Binding)
        ]
        return [(where, in_force(b, self._keymap), ns) for where, b, ns in out]  # keys in force

    def action_keys(self) -> None:
        screen = self.screen
        rows = [
            (where, self.get_key_display(b), b.description or b.action, b.id or "")
            for where, b, _ in self._all_bindings(screen)
        ]
        self.push_screen(KeysScreen(rows))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for where, b, ns in self._all_bindings(screen):
            if not b.description or b.action in ("quit", "change_theme"):
                continue
            target = self if ns == "app" else screen

            def run(action: str = b.action, target: Any = target) -> Any:
                return self.run_action(action, target)

            yield SystemCommand(
                f"{b.description}" + (f" ({where})" if ns == "screen" else ""),
                f"key {self.get_key_display(b)} · {b.id}",
                run,
            )

    async def action_quit(self) -> None:
        running = self.host.running()
        if not running:
            self.exit(None)
            return

        def chosen(mode: str | None) -> None:
            if mode:
                self.exit(mode)

        self.push_screen(QuitScreen(len(running)), chosen)


# -- the top bar ---------------------------------------------------------------------------------


def top_bar_totals(t: SessionTotals, project: str) -> Totals:
    return Totals(
        project=project,
        running=t.running,
        paused=t.paused,
        sessions=t.sessions,
        done=t.done,
        total=t.total,
        failed=t.failed,
        cost_usd=t.cost_today_usd,
        alerts=t.alerts,
        alerts_known=True,
    )


# -- the command line ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="br-tui", description="Run build plans in parallel, live.")
    p.add_argument("plan", nargs="?", help="a plan file to start as a new session")
    p.add_argument("--workers", type=int, help="parallel workers for the new session")
    p.add_argument("--db", help="database path (default $BR_DB or ./.buildrunner/br.db)")
    p.add_argument("--theme", help="a Textual theme name (ctrl+t picks one in the app)")
    return p


def main(argv: list[str]) -> int:
    """Open the app on the database (starting PLAN if given); print a summary on the way out."""
    from engine.plan import PlanError
    from engine.store import StoreError, resolve_db_path

    args = build_parser().parse_args(argv)
    if args.workers is not None and args.workers < 1:
        print("br-tui: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        store = Store(resolve_db_path(args.db))
    except StoreError as exc:
        print(f"br-tui: {exc}", file=sys.stderr)
        return 2
    host = EngineHost(store)
    started: list[str] = []
    try:
        if args.plan:
            started.append(host.start_plan(args.plan, workers=args.workers))
    except PlanError as exc:
        print(f"br-tui: {exc}", file=sys.stderr)
        host.shutdown("cancel")
        store.close()
        return 2
    app = BrApp(store, host, started=started, theme=args.theme)
    began = clock.now_dt().isoformat()
    mode = None
    try:
        mode = app.run()
    finally:
        running = host.running()
        how = mode or "pause"  # the app died without asking: keep the work resumable
        if mode is None and os.environ.get("BR_SERVED"):  # a browser tab closed or reloaded:
            how = "detach"  # the owners carry on (br-tui serve)
        if running and how != "detach":
            verb = {"pause": "pausing", "cancel": "cancelling"}[how]
            print(f"br-tui: {verb} {len(running)} session(s)…", file=sys.stderr)
        host.shutdown(how)
        print(exit_summary(store, app.started, began, detached=running if how == "detach" else []))
        store.close()
    return 0


def exit_summary(store: Store, started: list[str], since: str, detached: list[str]) -> str:
    """What ran while the app was open: the sessions it started, and any that ran meanwhile."""
    ids = list(dict.fromkeys(started))
    ids += [sid for sid in views.sessions_since(store, since) if sid not in ids]
    if not ids:
        return "br-tui: nothing ran"
    out = []
    for sid in ids:
        try:
            out.append(views.run_summary(store, sid).text())
        except views.NotFound:  # deleted meanwhile
            pass
    if detached:
        out.append(
            "still running in the background: "
            + ", ".join(detached)
            + " (br-tui status ID; logs in .buildrunner/logs/)"
        )
    return "\n".join(out)
