"""A Footer that recomposes only when the keys it shows change, and doesn't keep old keys alive.

Textual 8.2.8's `Footer` recomposes its `FooterKey`s whenever the screen's bindings are
refreshed (a screen switch, a focus change, a `reactive(..., bindings=True)` flipping), even
when the keys it would show are the same. A recompose mounts a dozen widgets, each styled from
the stylesheet: under load that was a sixth of the UI loop's time and most of a screen switch or
a pause. Here the footer remembers what it composed (key, label, enabled, tooltip, group) and
skips the recompose when nothing it shows changed.

Each key binds to the footer's `compact` reactive with `data_bind`, which appends
`(key, setter)` to the footer's watcher list; that list is pruned only when `compact` itself
changes, which it never does. So every recompose leaked a dozen widgets (with their styles and
render caches). After each recompose we drop the watchers whose widget is gone.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class BrFooter(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[Any, ...] | None = None
        self.recomposes = 0  # for tests and the bench

    def _signature(self) -> tuple[Any, ...]:
        """What `Footer.compose` would draw, as a comparable value."""
        app = self.app
        keys = tuple(
            (
                b.key,
                app.get_key_display(b),
                b.description,
                b.action,
                enabled,
                tooltip,
                b.group,
            )
            for (_, b, enabled, tooltip) in self.screen.active_bindings.values()
            if b.show
        )
        palette = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
        return (
            keys,
            self.show_command_palette,
            self.compact,
            app.ENABLE_COMMAND_PALETTE,
            palette[1:] if palette else None,
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._maybe_recompose)

    async def _maybe_recompose(self) -> None:
        if not self.is_attached:
            return
        try:
            shown = self._signature()
        except Exception:  # between screens: let Footer decide
            shown = None
        if shown is not None and shown == self._shown:
            return
        self._shown = shown
        await self.recompose()

    async def recompose(self) -> None:
        self.recomposes += 1
        await super().recompose()
        self.prune_watchers()

    def prune_watchers(self) -> int:
        """Forget watchers registered by widgets that are closed or no longer mounted."""
        watchers = getattr(self, "__watchers", None)
        dropped = 0
        for callbacks in (watchers or {}).values():
            keep = [
                (node, cb)
                for node, cb in callbacks
                if not (getattr(node, "_closing", False) or getattr(node, "_closed", False))
                and getattr(node, "is_attached", True)
            ]
            dropped += len(callbacks) - len(keep)
            callbacks[:] = keep
        return dropped
