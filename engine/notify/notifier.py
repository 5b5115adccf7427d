"""Notifications from the process that owns a session (`br-tui run`, a background owner).

The owner publishes each transition exactly once, so it is where a command or a desktop
notification is sent from: once per session, whichever program started it. The app only adds
its toast and bell (it follows the database; see `notices_between`).

Subscribers run on the store's writer thread and must be quick: events are only queued there;
a thread of ours builds the notice (reading the session's row) and runs the command.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from typing import Any

from engine.notify import channels
from engine.notify.config import NotifyConfig, NotifyConfigError, load_config
from engine.notify.notices import Notice, Seen, describe
from engine.store import Store
from engine.store.writer import Batch


class Notifier:
    """Subscribes to `store`, tells each wanted transition once. `bell`: ring the terminal's
    (only a foreground run in a terminal should). `sent` keeps what was told, for tests."""

    def __init__(self, store: Store, config: NotifyConfig, *, bell: bool = False) -> None:
        self.store = store
        self.config = config
        self.ring = bell and config.bell
        self.seen = Seen()
        self.sent: list[Notice] = []
        self._queue: queue.SimpleQueue[tuple[str, str | None, dict[str, Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._unsubscribe: Any = None

    @property
    def active(self) -> bool:
        return bool(self.config.types) and bool(
            self.ring or self.config.desktop or self.config.command
        )

    def start(self) -> Notifier:
        if self.active:
            self._thread = threading.Thread(target=self._run, name="br-notify", daemon=True)
            self._thread.start()
            self._unsubscribe = self.store.subscribe(self.on_batch)
        return self

    def on_batch(self, batch: Batch) -> None:
        for ev in batch.events:
            kind = self.config.kind_of(str(ev.type))
            if kind is not None:
                data = {**ev.data, "level": str(ev.level)} if kind == "alert_raised" else ev.data
                self._queue.put((kind, ev.session_id, data))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            kind, session_id, data = item
            try:
                if self.seen.first(kind, session_id, data):
                    self.deliver(describe(self.store, kind, session_id, data))
            except Exception as exc:  # a notification must never take the owner down
                print(f"br-tui: notification failed: {exc!r}", file=sys.stderr)

    def deliver(self, notice: Notice) -> None:
        self.sent.append(notice)
        if self.ring:
            channels.bell()
        if self.config.desktop:
            self._report(channels.desktop(notice))
        if self.config.command:
            self._report(
                channels.run_command(
                    channels.fill(self.config.command, notice), self.config.timeout_s
                )
            )

    @staticmethod
    def _report(problem: str | None) -> None:
        if problem:
            print(f"br-tui: notify: {problem}", file=sys.stderr)

    def stop(self, timeout: float | None = None) -> None:
        """Tell what the session's last commits announced, then stop (waits for the command,
        at most its timeout per notice still queued)."""
        if self._thread is None:
            return
        try:
            self.store.flush()
        except Exception:  # a closed store: whatever reached us is all there is
            pass
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._queue.put(None)
        limit = timeout if timeout is not None else self.config.timeout_s * 4 + 5
        deadline = time.monotonic() + limit
        self._thread.join(max(0.0, deadline - time.monotonic()))


def start_notifier(store: Store, *, bell: bool = False) -> Notifier:
    """The project's `[notify]` for a session run in this process. A bad table never stops a
    build: it is one line on stderr and no notifications for this run."""
    try:
        config = load_config()
    except NotifyConfigError as exc:
        print(f"br-tui: {exc}; notifications are off for this run", file=sys.stderr)
        config = NotifyConfig(kinds=())
    return Notifier(store, config, bell=bell).start()
