"""The app's collection policy: full collections when the user is idle, frozen survivors, and
the host process' own settings back when the app stops."""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest

from br_tui.quiet_gc import NEVER, QuietCollector


@pytest.fixture
def restore_gc():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)
    gc.unfreeze()


def test_full_collections_wait_for_idle_and_survivors_are_frozen(restore_gc) -> None:
    q = QuietCollector(idle_s=0.05, min_gap_s=0.0, max_gap_s=60, sweep_idle_s=0.1,
                       sweep_every_s=60, first_sweep_s=0.0)  # fmt: skip
    before = gc.get_threshold()
    q.start()
    assert gc.get_threshold()[2] == NEVER, "automatic full collections are off"
    q.input_seen()
    assert q.tick() is None, "the user just pressed a key: no pause now"
    time.sleep(0.06)
    assert q.tick() == "collect", "idle for a moment: collect"
    time.sleep(0.1)
    assert q.tick() == "sweep"
    assert gc.get_freeze_count() > 0, "survivors of the sweep are frozen"
    q.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0, "the host process gets its heap back unfrozen"


def test_a_user_who_never_stops_still_gets_a_collection(restore_gc) -> None:
    q = QuietCollector(idle_s=10, min_gap_s=0, max_gap_s=0.05, first_sweep_s=100)
    q.start()
    q.input_seen()
    assert q.tick() is None
    time.sleep(0.06)
    q.input_seen()
    assert q.tick() == "collect"
    q.stop()


def test_cyclic_garbage_is_still_collected(restore_gc) -> None:
    q = QuietCollector(idle_s=0, min_gap_s=0, first_sweep_s=100)
    q.start()

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    import weakref

    gone = weakref.ref(a)
    del a, b
    for _ in range(5):  # young collections may not reach it; the quiet one must
        gc.collect(0)
    assert q.tick() == "collect"
    assert gone() is None
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
