"""A Footer that doesn't keep its old keys alive.

Textual 8.2.8's `Footer` recomposes its `FooterKey`s whenever the screen's bindings change (a
screen switch, a focus change, a `reactive(..., bindings=True)` flipping). Each key binds to
the footer's `compact` reactive with `data_bind`, which appends `(key, setter)` to the footer's
watcher list; that list is pruned only when `compact` itself changes, which it never does. So
every recompose leaked a dozen widgets (with their styles and render caches): +60 widgets per
100,000 streamed lines in bench/ui.py, a steady climb in RSS. After each recompose we drop the
watchers whose widget is gone.
"""

from __future__ import annotations

from textual.widgets import Footer


class BrFooter(Footer):
    async def recompose(self) -> None:
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
