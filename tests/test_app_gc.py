"""The app's collection policy: full collections when the user is idle, frozen survivors, and
the host process' own settings back when the app stops."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from br_tui import quiet_gc
from br_tui.quiet_gc import NEVER, QuietCollector


@pytest.fixture
def restore_gc():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)
    gc.unfreeze()


class Clock:
    """A hand-moved monotonic clock: the policy's timing without sleeping (no flakes)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(quiet_gc.time, "monotonic", c)
    return c


def test_full_collections_wait_for_idle_and_survivors_are_frozen(restore_gc, clock) -> None:
    q = QuietCollector(idle_s=0.3, min_gap_s=2, max_gap_s=10, sweep_idle_s=1,
                       sweep_every_s=120, first_sweep_s=2)  # fmt: skip
    before = gc.get_threshold()
    q.start()
    assert gc.get_threshold()[2] == NEVER, "automatic full collections are off"
    clock.now += 2.5
    q.input_seen()
    assert q.tick() is None, "the user just pressed a key: no pause now"
    clock.now += 0.5
    assert q.tick() == "collect", "idle for a moment: collect"
    assert gc.get_freeze_count() == 0
    clock.now += 1.0
    assert q.tick() == "sweep", "idle a second, first sweep due"
    assert gc.get_freeze_count() > 0, "survivors of the sweep are frozen"
    q.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0, "the host process gets its heap back unfrozen"


def test_a_user_who_never_stops_still_gets_collections_and_sweeps(restore_gc, clock) -> None:
    q = QuietCollector(idle_s=0.3, min_gap_s=2, max_gap_s=10, sweep_idle_s=1,
                       sweep_every_s=120, first_sweep_s=2, max_sweep_gap_s=600)  # fmt: skip
    q.start()
    clock.now += 3
    assert q.tick() == "sweep"  # idle at start-up: the first sweep
    seen = {"collect": 0, "sweep": 0}
    for _ in range(6500):  # a key every 0.1 s for 650 s
        clock.now += 0.1
        q.input_seen()
        done = q.tick()
        if done:
            seen[done] += 1
    assert seen["collect"] >= 60, "a full collection at least every 10 s"
    assert seen["sweep"] == 1, "frozen garbage waits at most 10 minutes"
    q.stop()


def test_cyclic_garbage_in_the_old_generation_is_collected(restore_gc, clock) -> None:
    q = QuietCollector(idle_s=0.3, min_gap_s=2, first_sweep_s=10_000)
    q.start()

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    gc.collect(0)
    gc.collect(1)  # survived two young collections: now in the oldest generation
    del a, b
    for _ in range(5):
        gc.collect(0)
        gc.collect(1)
    assert gone() is not None, "young collections do not reach the oldest generation"
    clock.now += 3
    assert q.tick() == "collect"
    assert gone() is None, "the quiet full collection freed it"
    q.stop()


async def test_app_switches_policy_on_and_back_off(tmp_path: Path, restore_gc) -> None:
    from br_tui.app import BrApp
    from engine.store import Store

    before = gc.get_threshold()
    store = Store(tmp_path / "br.db")
    app = BrApp(store, project_root=tmp_path, watch_files=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert gc.get_threshold()[2] == NEVER
        seen = app.quiet_gc.last_input
        await pilot.press("2")
        assert app.quiet_gc.last_input > seen, "a key press counts as input"
    assert gc.get_threshold() == before
    store.close()
