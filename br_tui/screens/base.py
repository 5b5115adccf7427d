"""What every screen shares: the top bar, the footer, and refreshing off the UI loop.

A screen says what to read (`load`, on the app's reader thread: SQLite blocks) and how to show
it (`show`, on the UI loop). Refreshes never overlap: a request made while one is in flight is
folded into one more pass when it lands, so a burst of engine events costs at most two reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen

from br_tui.screens.live import ALL
from br_tui.widgets.footer import BrFooter
from br_tui.widgets.topbar import TopBar

if TYPE_CHECKING:
    from br_tui.app import BrApp


class LiveScreen(Screen[None]):
    """A top-level screen (one per mode) that shows engine state."""

    LABEL = ""
    #: Topics whose change makes this screen re-read.
    TOPICS: frozenset[str] = ALL
    #: Re-read at least this often (s), for things no event announces (heartbeat ages).
    PERIOD: float | None = None
    #: Read on the app's one reader thread (short SQLite reads). A screen whose load is long
    #: work (a scan) sets this False and reads in a thread worker of its own.
    READER = True
    #: The screen shows the app's current session: re-read as soon as another one is picked
    #: (on another screen, or by `[`/`]`), not at the next event or tick.
    FOLLOWS_SESSION = False

    def __init__(self) -> None:
        super().__init__()
        self._inflight = False
        self._again: set[str] = set()
        self.loads = 0

    @property
    def br(self) -> BrApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield TopBar(self.LABEL)
        yield from self.compose_body()
        yield BrFooter()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        if self.PERIOD:
            self.set_interval(self.PERIOD, lambda: self.request_refresh(ALL))
        if self.FOLLOWS_SESSION:
            self.watch(self.app, "current_session", self._session_picked, init=False)

    def _session_picked(self, _sid: str | None) -> None:
        if self.app.screen is self:  # a hidden screen re-reads when it is shown again
            self.request_refresh(ALL)

    def on_screen_resume(self) -> None:
        self.request_refresh(ALL)

    def request_refresh(self, topics: frozenset[str] = ALL) -> None:
        if not (topics & self.TOPICS) or not self.is_mounted:
            return
        if self._inflight:
            self._again |= topics
            return
        self._inflight = True
        self._load(frozenset(topics))

    def _load(self, topics: frozenset[str]) -> None:
        if self.READER:
            self.br.reader.submit(self._read, topics)
        else:
            self._read_in_worker(topics)

    @work(thread=True, exit_on_error=False, group="load")
    def _read_in_worker(self, topics: frozenset[str]) -> None:
        self._read(topics)

    class Loaded(Message):
        """A screen's read finished on the reader thread: the read model's typed answer
        (`load`'s result), or the error that stopped it. Posted to the app, which hands it
        to `screen` on the UI loop between the app's other messages."""

        def __init__(
            self, screen: LiveScreen, data: Any, error: BaseException | None = None
        ) -> None:
            super().__init__()
            self.screen, self.data, self.error = screen, data, error

    def _read(self, topics: frozenset[str]) -> None:
        """Runs on a thread; posts the result without waiting for the UI loop."""
        try:
            data = self.load(topics)
        except Exception as exc:  # the database is busy or gone: say so, keep going
            self.br.post_message(self.Loaded(self, None, exc))
            return
        self.br.post_message(self.Loaded(self, data))

    def loaded(self, message: Loaded) -> None:
        self._landed(message.data, message.error)

    def _landed(self, data: Any, error: BaseException | None) -> None:
        self._inflight = False
        self.loads += 1
        if error is not None:
            self.notify(f"could not read the database: {error}", severity="error", timeout=4)
        elif self.is_mounted:
            try:
                self.show(data)
            except NoMatches:
                if not (self._pruning or self._closing or self.app._closing):
                    raise  # a real bug (a selector that matches nothing), not a teardown
                # else the screen is being torn down and its widgets went first
        if self._again:
            again, self._again = frozenset(self._again), set()
            self.request_refresh(again)

    def load(self, topics: frozenset[str]) -> Any:
        """Read what the screen shows. Runs on a thread: no widgets here."""
        return None

    def show(self, data: Any) -> None:
        """Put freshly read data on screen, touching only what changed."""

    def tick(self) -> None:
        """Called by the app 20 times a second while this screen is shown (keep it cheap)."""

    def restyle(self) -> None:
        """The theme changed: redraw what carries semantic colours."""
