"""Full garbage collections when nobody is waiting on the screen.

CPython's cycle collector walks every tracked object when it decides the oldest generation has
grown enough. For this app that is 80-120 ms with the UI loop stopped (~145,000 objects:
Textual's render caches, table rows, styles), and it lands on whatever key was pressed at that
moment: in bench/ui.py the slowest key presses were the ones that met a full collection.

So, while the app runs:
- the automatic full collection is off; young generations are untouched (they are cheap and
  free short-lived cycles at once), and reference counting frees everything acyclic as before;
- a full collection runs here once the user has been idle for a moment, and regardless after a
  long while, so a user who never stops typing still gets one;
- after a thorough sweep (everything unfrozen, collected) the survivors are frozen
  (`gc.freeze`), so the next full collections walk only what was made since: ~10 ms instead
  of ~100. Something frozen that later turns into cyclic garbage waits for the next thorough
  sweep, which runs every few minutes when the user is idle for longer (and after ten minutes
  regardless, so frozen garbage is bounded in time too).
On Python 3.14+ the collector is incremental and ignores the oldest generation's threshold;
there this policy changes little, and needs less.
The previous thresholds are restored and the heap unfrozen when the app stops, so a host
process (tests, an embedding program) keeps its own behaviour.
"""

from __future__ import annotations

import gc
import time

NEVER = 1 << 30  # a gen-2 threshold no run reaches


class QuietCollector:
    def __init__(
        self,
        idle_s: float = 0.3,
        min_gap_s: float = 2.0,
        max_gap_s: float = 10.0,
        sweep_idle_s: float = 1.0,
        sweep_every_s: float = 120.0,
        first_sweep_s: float = 2.0,
        max_sweep_gap_s: float = 600.0,
    ) -> None:
        self.idle_s, self.min_gap_s, self.max_gap_s = idle_s, min_gap_s, max_gap_s
        self.sweep_idle_s, self.sweep_every_s = sweep_idle_s, sweep_every_s
        self.max_sweep_gap_s = max_sweep_gap_s
        self._saved: tuple[int, int, int] | None = None
        now = time.monotonic()
        self.last_input = self.last_full = now
        self.next_sweep = now + first_sweep_s
        self.last_sweep = now
        self.collections = self.sweeps = 0

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.set_threshold(self._saved[0], self._saved[1], NEVER)

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
            if self.sweeps:
                gc.unfreeze()

    def input_seen(self) -> None:
        self.last_input = time.monotonic()

    def tick(self) -> str | None:
        """Call often (the app's 20 Hz tick); returns "sweep" or "collect" when it did one."""
        if self._saved is None or not gc.isenabled():
            return None
        now = time.monotonic()
        idle = now - self.last_input
        due = (idle >= self.sweep_idle_s and now >= self.next_sweep) or (
            self.sweeps and now - self.last_sweep >= self.max_sweep_gap_s
        )
        if due:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.sweeps += 1
            self.last_full = self.last_sweep = time.monotonic()
            self.next_sweep = self.last_full + self.sweep_every_s
            return "sweep"
        since_full = now - self.last_full
        if (idle >= self.idle_s and since_full >= self.min_gap_s) or since_full >= self.max_gap_s:
            gc.collect()
            self.collections += 1
            self.last_full = time.monotonic()
            return "collect"
        return None
