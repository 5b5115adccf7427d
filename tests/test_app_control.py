"""Keys change the engine, not just the screen (sessions run in a real background owner
process, steered through control rows): a paused session's process groups are stopped
(state T in /proc), resumed ones run again, a cancelled session's tasks end cancelled, the pool
scales, and quitting with sessions running asks what to do with them."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import clock

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

PLAN = """
name = "sleepers"
workers = 2

[[task]]
id = "slow-a"
run = "echo start-a; sleep 30"

[[task]]
id = "slow-b"
run = "echo start-b; sleep 30"

[[task]]
id = "later"
run = "sleep 30"
needs = ["slow-a"]
"""


def proc_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


async def wait_for(pilot: Any, pred: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {pred.__doc__ or pred}")


def start(app: Any, project: Path, workers: int | None = None) -> str:
    plan = project / "sleepers.toml"
    plan.write_text(PLAN)
    sid = app.host.start_plan(plan, workers=workers)
    app.started.append(sid)
    app.current_session = sid
    return sid


def running_pids(app: Any, sid: str, n: int = 2) -> list[int] | None:
    rows = app.store.query(
        "SELECT pid FROM attempts WHERE session_id=? AND ended_at IS NULL AND pid IS NOT NULL",
        (sid,),
    )
    return [r["pid"] for r in rows] if len(rows) >= n else None


def pool_target(app: Any, sid: str) -> int:
    """The owner (another process) records its pool's target on the session row."""
    return int(app.store.query("SELECT workers FROM sessions WHERE id=?", (sid,))[0]["workers"])


def live_workers(app: Any, sid: str) -> int:
    return int(app.store.query(
        "SELECT count(*) AS n FROM workers WHERE session_id=? AND status != 'offline'", (sid,)
    )[0]["n"])  # fmt: skip


def status(app: Any, sid: str) -> str:
    return app.store.query("SELECT status FROM sessions WHERE id=?", (sid,))[0]["status"]


async def test_pause_resume_cancel_from_the_sessions_screen(make_app: Any, project: Path) -> None:
    app = make_app(db="live.db", clock=clock.system)
    sid = start(app, project)
    async with app.run_test(size=(120, 40)) as pilot:
        pids = await wait_for(pilot, lambda: running_pids(app, sid))
        table = app.screen.query_one("#sessions-table")
        await wait_for(pilot, lambda: table.cursor_key == sid)
        # the owner (another process) took the session and the app followed it from the db
        await wait_for(pilot, lambda: str(table.get_cell(sid, "status")) == "running")

        await pilot.press("p")
        await wait_for(pilot, lambda: all(proc_state(p) == "T" for p in pids))
        await wait_for(pilot, lambda: status(app, sid) == "paused")
        await wait_for(pilot, lambda: str(table.get_cell(sid, "status")) == "paused")

        await pilot.press("r")
        await wait_for(pilot, lambda: all(proc_state(p) in "RS" for p in pids))
        await wait_for(pilot, lambda: status(app, sid) == "running")

        await pilot.press("c")
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("y")
        await wait_for(pilot, lambda: status(app, sid) == "cancelled", timeout=15)
        states = {r["state"] for r in app.store.query(
            "SELECT state FROM tasks WHERE session_id=?", (sid,))}  # fmt: skip
        assert states == {"cancelled"}
        await wait_for(pilot, lambda: all(proc_state(p) in ("gone", "Z") for p in pids))
        await wait_for(pilot, lambda: str(table.get_cell(sid, "status")) == "cancelled")


async def test_plus_and_minus_scale_the_pool(make_app: Any, project: Path) -> None:
    app = make_app(db="live.db", clock=clock.system)
    sid = start(app, project, workers=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: running_pids(app, sid))
        await pilot.press("2")
        table = app.screen.query_one("#workers-table")
        await wait_for(pilot, lambda: table.row_count == 2)
        await pilot.press("plus")
        await wait_for(pilot, lambda: pool_target(app, sid) == 3)
        await wait_for(pilot, lambda: table.row_count == 3)
        await wait_for(pilot, lambda: live_workers(app, sid) == 3)
        await pilot.press("minus")
        await wait_for(pilot, lambda: pool_target(app, sid) == 2)
        await wait_for(pilot, lambda: "target 2" in str(app.screen.query_one("#pools").render()))


async def test_quit_with_sessions_running_asks_what_to_do(make_app: Any, project: Path) -> None:
    app = make_app(db="live.db", clock=clock.system)
    start(app, project)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+q")
        assert type(app.screen).__name__ == "QuitScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "SessionsScreen"
        await pilot.press("ctrl+q", "c")
    assert app.return_value == "cancel"


async def test_feed_streams_the_selected_tasks_output_and_searches_it(
    make_app: Any, project: Path
) -> None:
    plan = project / "talk.toml"
    plan.write_text(
        'name = "talk"\n[[task]]\nid = "talker"\n'
        'run = \'seq 1 100 | sed "s/^/line /"; sleep 0.7; seq 101 400 | sed "s/^/line /";'
        " sleep 30'\n"
    )
    app = make_app(db="live.db", clock=clock.system)
    sid = app.host.start_plan(plan, workers=1)
    app.current_session = sid
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        log = app.screen.query_one("#output")
        await wait_for(pilot, lambda: "line 400" in log.lines, timeout=15)
        assert log.lines.count("line 200") == 1  # read-back and streaming don't double up
        await pilot.press("slash", *"line 42", "enter")
        assert not log.follow  # searching stops following
        await pilot.press("escape", "f")
        assert log.follow
