"""Every screen with realistic (frozen) data, at 120x40 and 80x24. Logic lives in the Pilot
tests; these only catch what a user would see change."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

SIZES = [(120, 40), (80, 24)]


async def settle(pilot: Any) -> None:
    """Wait until the shown screen has read its data and stopped changing.

    Reads land as messages in several steps (a table, then the selected row's details, read by a
    thread worker), so "the first load arrived" can race a machine under load; three identical
    renders in a row, with no read or worker in flight, can't.
    """
    for inp in pilot.app.screen.query(Input):
        inp.cursor_blink = False
    previous, stable = None, 0
    for _ in range(200):
        await pilot.pause(0.05)
        screen = pilot.app.screen
        busy = (
            getattr(screen, "_inflight", False)
            or getattr(screen, "_loading_output", False)
            or any(not w.is_finished for w in pilot.app.workers)  # e.g. a preview being read
        )
        ready = getattr(screen, "loads", 1) >= 1 and not busy and pilot.app.totals.project
        shot = pilot.app.export_screenshot()
        stable = stable + 1 if ready and shot == previous else 0
        previous = shot
        if stable >= 6:  # 0.3 s unchanged: a second read (e.g. budgets for the session just
            break  # picked) can land after three quiet frames on a loaded machine


def goto(key: str, *typed: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await pilot.press(key)
        await settle(pilot)
        if typed:
            await pilot.press(*typed)
        await settle(pilot)
        if key == "3":  # the feed reads the watched task's output after its task list
            await settle(pilot)

    return run_before


SCREENS = {
    "sessions": goto("1"),
    "workers": goto("2"),
    "feed": goto("3"),
    "costs": goto(
        "4",
        "e",
        *(
            "Investigate the race condition in the distributed lock manager and redesign the"
            " concurrency model; is the deadlock in the scheduler or the cache invalidation?"
        ),
    ),
    "security": goto("5"),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare: Any, make_app: Any, screen: str, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=SCREENS[screen])
