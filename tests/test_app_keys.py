"""Every key has an id and a description, `?` lists them, and the palette offers each action."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from br_tui.app import BrApp


def screen_classes() -> list[type]:
    return [s for s in BrApp.MODES.values() if isinstance(s, type)]


def test_every_binding_has_an_id_and_a_description() -> None:
    for owner in [BrApp, *screen_classes()]:
        for b in owner.BINDINGS:
            assert isinstance(b, Binding), owner
            assert b.id and b.description, (owner, b)
    ids = [b.id for owner in [BrApp, *screen_classes()] for b in owner.BINDINGS]
    assert len(ids) == len(set(ids))


async def test_number_keys_switch_screens_and_question_mark_lists_keys(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for key, name in [("2", "WorkersScreen"), ("3", "FeedScreen"), ("4", "CostsScreen"),
                          ("5", "SecurityScreen"), ("1", "SessionsScreen")]:  # fmt: skip
            await pilot.press(key)
            for _ in range(100):  # a mode's first screen is built and mounted after the key
                if type(app.screen).__name__ == name:
                    break
                await pilot.pause(0.05)
            assert type(app.screen).__name__ == name
        await pilot.press("question_mark")
        table = app.screen.query_one("#keys-table")
        ids = {str(table.get_row_at(i)[3]) for i in range(table.row_count)}
        assert {"app.sessions", "app.security", "sessions.pause", "sessions.cancel"} <= ids


async def test_palette_offers_every_action_of_the_screen(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Sessions", "Feed", "+1 worker (Workers)", "-1 worker (Workers)", "Theme"} <= titles
        await pilot.press("1")
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Pause (Sessions)", "Resume (Sessions)", "Cancel (Sessions)"} <= titles


async def test_costs_estimate_updates_as_you_type(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        for _ in range(40):
            await pilot.pause(0.05)
            if app.screen._models is not None:
                break
        await pilot.press("e", *"fix typo")
        text = str(app.screen.query_one("#estimate").render())
        assert "level simple" in text and "model" in text


async def test_number_keys_leave_the_costs_screen_unless_a_description_is_typed(
    make_app: Any,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4", "1")
        assert type(app.screen).__name__ == "SessionsScreen"
        await pilot.press("4", "e", "v", "2")
        box = app.screen.query_one("#describe")
        assert type(app.screen).__name__ == "CostsScreen" and box.value == "v2"
        await pilot.press("enter", "3")
        assert type(app.screen).__name__ == "FeedScreen"
        await pilot.press("4", "e", "backspace", "backspace", "5")  # empty: the key switches
        assert type(app.screen).__name__ == "SecurityScreen"
