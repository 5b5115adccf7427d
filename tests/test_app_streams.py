"""The Streams screen (key 6): streams with state and diff, gates and their output, decisions
from a key, a checkpoint from a key — on a real git repository and the app's own database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.plan import load_plan
from engine.sessions import create_session
from engine.store import Store
from engine.streams import add_decision, commit_task, ensure_worktree, records, run_checkpoint
from tests.streams_helpers import make_repo

PLAN = """
[[stream]]
id = "api"
[[stream]]
id = "web"
[[gate]]
name = "lint"
run = "echo 'lint says no: api.txt'; exit 1"
[[task]]
id = "t-api"
stream = "api"
run = "true"
[[task]]
id = "t-web"
stream = "web"
run = "true"
"""


def seed_streams(tmp_path: Path, db: Path) -> str:
    repo = make_repo(tmp_path / "repo")
    (repo / "plan.toml").write_text(PLAN)
    store = Store(db)
    try:
        sid = create_session(store, load_plan(repo / "plan.toml"), name="streams-app")
        store.flush()
        for stream, text in (("api", "api work\n"), ("web", "web work\n")):
            path = ensure_worktree(records.stream(store, sid, stream)).path
            (path / f"{stream}.txt").write_text(text)
            commit_task(path, session_id=sid, stream_id=stream, task_id=f"t-{stream}")
        add_decision(store, sid, "routes are kebab-case", author="person dev")
        assert run_checkpoint(store, sid).status == "gate_failed"
        store.write([("UPDATE sessions SET status='completed' WHERE id=?", (sid,))])
        store.flush()
    finally:
        store.close()
    return sid


async def wait_until(pilot: Any, cond: Any, tries: int = 200) -> None:
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("timed out")


async def test_streams_screen_shows_state_diff_gates_and_decisions(
    tmp_path: Path, project: Path, make_app: Any
) -> None:
    sid = seed_streams(tmp_path, project / ".buildrunner" / "br.db")
    app = make_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await pilot.press("6")
        screen = app.screen
        assert type(screen).__name__ == "StreamsScreen"
        await wait_until(pilot, lambda: screen.table.row_count == 2)
        rows = [screen.table.get_row_at(i) for i in range(2)]
        assert [str(r[0]) for r in rows] == ["api", "web"]
        assert {str(r[1]) for r in rows} == {"gate_failed"}
        assert str(rows[0][3]) == "+1" and "br-tui: task t-api" in str(rows[0][6])
        title = str(screen.query_one("#streams-title").render())
        assert sid in title and "target main" in title
        await wait_until(pilot, lambda: "+api work" in screen.diff_text)
        diff_title = str(screen.query_one("#streams-diff-title").render())
        assert "1 file(s) changed" in diff_title and "lint says no" in diff_title
        assert "routes are kebab-case" in str(screen.query_one("#decisions").render())

        # the highlighted stream's diff follows the cursor
        screen.table.focus()
        await pilot.press("down")
        await wait_until(pilot, lambda: "+web work" in screen.diff_text)

        # a gate's output, from the gates table
        assert screen.gates.row_count == 1
        screen.gates.focus()
        await pilot.press("o")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "GateOutputScreen")
        assert "lint says no" in str(app.screen.query_one("#gate-output").render())
        await pilot.press("escape")

        # a decision from a key
        await pilot.press("d")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "DecideScreen")
        await pilot.press(*"ship behind a flag", "enter")
        await wait_until(
            pilot, lambda: "ship behind a flag" in str(screen.query_one("#decisions").render())
        )
        rows = app.store.query("SELECT text, author, stream_id FROM decisions ORDER BY id")
        assert rows[-1]["text"] == "ship behind a flag" and rows[-1]["author"].startswith("person")
        assert rows[-1]["stream_id"] == "web"  # the highlighted stream

        # a checkpoint from a key: confirmed, run in a worker, recorded, gate still failing
        await pilot.press("k")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: (
                len(app.store.query("SELECT id FROM checkpoints WHERE ended_at IS NOT NULL")) == 2
            ),
        )
        await wait_until(pilot, lambda: screen.gates.row_count == 2 and not screen.checkpointing)


async def test_streams_screen_without_streams_says_so(project: Path, make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("6")
        screen = app.screen
        await wait_until(pilot, lambda: screen.loads > 0)
        assert "no session with streams" in str(screen.query_one("#streams-title").render())
        await pilot.press("k")
        assert type(app.screen).__name__ == "StreamsScreen"
