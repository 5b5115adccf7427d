"""The user's keymap (`$XDG_CONFIG_HOME/br-tui/keymap.toml`): a remapped key really steers the
engine (the paused session's process groups stop: state T in /proc), `?` shows the keys in
force, and a broken or wrong file warns without stopping the app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from br_tui.app import BrApp
from br_tui.keymap import clashes, keymap_path, parse, scopes
from engine import clock
from tests.test_app_control import proc_state, running_pids, start, status, wait_for

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def write_keymap(text: str) -> Path:
    path = keymap_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def warnings(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications if n.severity == "warning"]


def known_ids() -> set[str]:
    return {b.id for bs in scopes(BrApp).values() for b in bs if b.id}


# -- the file --------------------------------------------------------------------------------


def test_path_follows_xdg_config_home(tmp_path: Path) -> None:
    assert keymap_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "br-tui/keymap.toml"
    assert keymap_path({"HOME": "/home/u"}) == Path("/home/u/.config/br-tui/keymap.toml")


def test_quoted_ids_tables_and_lists_all_work() -> None:
    found = parse(
        '"sessions.pause" = "space"\n[workers]\nadd = ["plus", "a"]\n[app]\nkeys = "?"\n',
        known_ids(),
    )
    assert found.warnings == []
    assert found.keys == {
        "sessions.pause": "space",
        "workers.add": "plus,a",
        "app.keys": "question_mark",  # normalised as set_keymap does
    }


def test_a_keymap_table_is_accepted_too() -> None:
    found = parse('[keymap]\n"sessions.resume" = "R"\n', known_ids())
    assert found.keys == {"sessions.resume": "R"} and found.warnings == []


def test_unknown_ids_and_bad_values_warn_and_the_rest_applies() -> None:
    found = parse(
        '"sessions.paws" = "z"\n"sessions.pause" = "z"\n"sessions.resume" = 3\n'
        '"sessions.cancel" = "ctrl x"\n',
        known_ids(),
    )
    assert found.keys == {"sessions.pause": "z"}
    text = "\n".join(found.warnings)
    assert "unknown binding id 'sessions.paws'" in text and "did you mean 'sessions.pause'" in text
    assert "'sessions.resume': keys must be" in text
    assert "'sessions.cancel': keys must be" in text
    assert len(found.warnings) == 3


def test_broken_toml_warns_with_the_line() -> None:
    found = parse('"sessions.pause" = \n', known_ids(), "k.toml")
    assert found.keys == {}
    assert len(found.warnings) == 1 and "k.toml" in found.warnings[0]
    assert "line 1" in found.warnings[0]


def test_clashes_only_for_what_the_keymap_moved() -> None:
    all_scopes = scopes(BrApp)
    assert clashes({}, all_scopes) == []  # the defaults' own overlaps are deliberate
    same_screen = clashes({"sessions.resume": "c"}, all_scopes)
    assert same_screen == ["key 'c' is bound to sessions.cancel and sessions.resume (Sessions)"]
    hides_app = clashes({"sessions.pause": "2"}, all_scopes)
    assert hides_app == ["key '2' of sessions.pause (Sessions) hides app.workers there"]
    # moving the clashing binding away too is no clash
    assert clashes({"sessions.resume": "c", "sessions.cancel": "C"}, all_scopes) == []


# -- in the app ------------------------------------------------------------------------------


@linux_only
async def test_a_remapped_pause_key_pauses_the_session(make_app: Any, project: Path) -> None:
    write_keymap('"sessions.pause" = "z"\n')
    app = make_app(db="live.db", clock=clock.system)
    sid = start(app, project)
    async with app.run_test(size=(120, 40)) as pilot:
        pids = await wait_for(pilot, lambda: running_pids(app, sid))
        table = app.screen.query_one("#sessions-table")
        await wait_for(pilot, lambda: table.cursor_key == sid)
        await wait_for(pilot, lambda: str(table.get_cell(sid, "status")) == "running")
        bound = {k: b.binding.id for k, b in app.screen.active_bindings.items()}
        assert bound.get("z") == "sessions.pause" and "p" not in bound
        assert warnings(app) == []

        await pilot.press("z")
        await wait_for(pilot, lambda: all(proc_state(p) == "T" for p in pids))
        await wait_for(pilot, lambda: status(app, sid) == "paused")

        await pilot.press("question_mark")  # the keys in force, not the defaults
        keys = app.screen.query_one("#keys-table")
        rows = [tuple(str(c) for c in keys.get_row_at(i)) for i in range(keys.row_count)]
        assert ("Sessions", "z", "Pause", "sessions.pause") in rows
        assert not any(r[3] == "sessions.pause" and r[1] == "p" for r in rows)


async def test_a_broken_keymap_warns_and_the_app_starts(make_app: Any) -> None:
    path = write_keymap('"sessions.pause" = [\n')
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "SessionsScreen"
        found = warnings(app)
        assert len(found) == 1 and str(path) in found[0] and "default keys" in found[0]
        await pilot.press("2")  # and the default keys still work
        assert type(app.screen).__name__ == "WorkersScreen"


async def test_wrong_ids_and_clashes_warn_and_the_good_lines_apply(make_app: Any) -> None:
    write_keymap('"sessions.paws" = "z"\n"sessions.resume" = "c"\n"app.feed" = "f3"\n')
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        found = "\n".join(warnings(app))
        assert "unknown binding id 'sessions.paws'" in found
        assert "key 'c' is bound to sessions.cancel and sessions.resume" in found
        await pilot.press("f3")
        assert type(app.screen).__name__ == "FeedScreen"


def test_unreadable_keymap_warns(tmp_path: Path) -> None:
    from br_tui.keymap import load

    path = tmp_path / "keymap.toml"
    path.write_bytes(b"\xff\xfe not utf-8")
    found = load(BrApp.__new__(BrApp), path)
    assert found.keys == {} and "using the default keys" in found.warnings[0]
