"""The app's side of `[notify]`: a toast (and the bell, if asked for) for each transition any
session in the database goes through, whoever owns it.

The session's owner sends the command and the desktop notification; the app only shows what
it reads. It follows the events the reader thread already sees move (`BrApp._follow`), asks
the engine for the notices among them, and hands them to the UI loop. Events from before the
app opened are history, not news: only ids after the first look count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from engine.notify import NotifyConfig, NotifyConfigError, Seen, load_config, notices_between

if TYPE_CHECKING:
    from br_tui.app import BrApp
    from engine.notify import Notice


class NoticeRead(Message):
    """The reader thread found a transition to tell (the app shows it on the UI loop)."""

    def __init__(self, notice: Notice) -> None:
        super().__init__()
        self.notice = notice


class AppNotices:
    def __init__(self, app: BrApp) -> None:
        self.app = app
        self.seen = Seen()
        try:
            self.config = load_config(app.project_root)
            self.problem: str | None = None
        except NotifyConfigError as exc:
            self.config = NotifyConfig(kinds=())
            self.problem = f"{exc}; notifications are off"

    @property
    def wanted(self) -> bool:
        return bool(self.config.types) and (self.config.toast or self.config.bell)

    def on_mount(self) -> None:
        if self.problem:
            self.app.notify(self.problem, title="notify", severity="warning", timeout=12)

    def follow(self, after_id: int, upto_id: int) -> None:
        """Reader thread: events `after_id < id <= upto_id` were just written."""
        if not self.wanted:
            return
        found = notices_between(self.app.store, self.config, after_id, upto_id, self.seen)
        for notice in found:
            self.app.post_message(NoticeRead(notice))

    def show(self, notice: Notice) -> None:
        """UI loop."""
        if self.config.toast:
            self.app.notify(
                notice.summary,
                title=notice.title.removeprefix("br-tui: "),
                severity=notice.severity,  # type: ignore[arg-type]
                timeout=8 if notice.severity == "information" else 15,
            )
        if self.config.bell:
            self.app.bell()
