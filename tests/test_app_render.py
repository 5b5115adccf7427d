"""What keeps the app cheap under load: tables repaint only changed rows, and switching screens
doesn't leak footer keys."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets._footer import FooterKey

from br_tui.widgets.footer import BrFooter
from br_tui.widgets.live_table import Col, LiveTable


def state(value: str) -> Text:
    return Text(value, style="red" if value == "failed" else "")


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LiveTable([Col("id", "ID", 6), Col("state", "STATE", 9, state)], id="t")


async def test_changed_cell_repaints_its_row_only() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(LiveTable)
        rows = {f"r{i}": (f"r{i}", "queued") for i in range(5)}
        table.sync(rows)
        await pilot.pause()
        updates = table._update_count
        table.sync({**rows, "r2": ("r2", "running")})
        await pilot.pause()
        assert table._update_count == updates  # no table-wide cache reset
        assert table.row_repaints == 1
        assert str(table.get_cell("r2", "state")) == "running"
        assert "running" in "".join(s.text for s in table.render_line(3))  # header + r0, r1
        assert not table.sync({**rows, "r2": ("r2", "running")})  # nothing changed


async def test_cursor_stays_on_its_row_when_rows_above_go() -> None:
    """Rows above the cursor leave (tasks finishing): the cursor keeps its task, and when its
    own row goes, the row now under it is announced to whoever follows the cursor."""
    highlighted: list[str] = []

    class Following(TableApp):
        def on_data_table_row_highlighted(self, event: LiveTable.RowHighlighted) -> None:
            highlighted.append(str(event.row_key.value))

    app = Following()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(LiveTable)
        rows = {f"r{i}": (f"r{i}", "running") for i in range(6)}
        table.sync(rows)
        table.move_cursor(row=3)
        await pilot.pause()
        assert table.cursor_key == "r3"
        table.sync({k: v for k, v in rows.items() if k not in ("r0", "r1")})
        await pilot.pause()
        assert table.cursor_key == "r3", "the cursor moved off its task"
        highlighted.clear()
        table.sync({k: v for k, v in rows.items() if k not in ("r0", "r1", "r3")})
        await pilot.pause()
        assert table.cursor_key == "r4"
        assert highlighted == ["r4"], "the row now under the cursor, announced once"
        highlighted.clear()
        table.sync({k: rows[k] for k in ("r5", "r4", "r2")})  # reordered: a rebuild
        await pilot.pause()
        assert table.cursor_key == "r4" and highlighted == [], "rebuild kept the cursor quietly"
        table.sync({k: (k, "queued") for k in ("a", "b", "c", "d")})  # every row replaced
        await pilot.pause()
        assert table.cursor_key == "b" and highlighted == ["b"], "same place, announced once"


class WideApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LiveTable([Col("id", "ID", 4), Col("message", "MSG", None)], id="t")


async def test_cells_drawn_before_a_column_widens_are_redrawn() -> None:
    """A cell drawn before DataTable works out (when idle) that its auto-width column must
    widen is drawn again at the new width, not kept cut to the old one from the cache."""
    app = WideApp()
    async with app.run_test(size=(60, 8)) as pilot:
        table = app.query_one(LiveTable)
        await pilot.pause()
        table.sync({"a": ("a", "SQL built from a non-constant string")})
        table.render_line(1)  # drawn (and cached) before the idle pass widens the column
        await pilot.pause()
        await pilot.pause()
        line = "".join(s.text for s in table.render_line(1))
        assert "SQL built from a non-constant string" in line, line


async def test_fast_cell_path_draws_what_datatable_draws() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(LiveTable)
        table.sync({"a": ("a-very-long-id", "x"), "b": ("b", "failed")})
        await pilot.pause()
        text = "".join(s.text for s in table.render_line(1))
        assert text.startswith(" a-very ")  # cropped to the column's 6 cells, padded by 1
        line = table.render_line(2)  # not under the cursor, whose colours take precedence
        assert any(s.text == "failed" and s.style.color.name == "red" for s in line)


async def test_switching_screens_does_not_keep_old_footer_keys(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(4):
            await pilot.press("3")
            await pilot.pause()
            await pilot.press("1")
            await pilot.pause()
        await pilot.pause(0.2)
        footer = app.screen.query_one(BrFooter)
        watchers = getattr(footer, "__watchers", {}).get("compact", [])
        assert len(watchers) <= len(footer.query(FooterKey))
