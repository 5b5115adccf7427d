"""A DataTable kept in step with a keyed list of rows by touching only what changed.

Every DataTable mutation throws away its render cache, so a refresh that rebuilt the table
would cost in proportion to its size, many times a second. `sync` diffs against the values it
drew last: changed cells get `update_cell`, new keys are appended, stale keys removed, and only
when the order of existing rows changed is the table rebuilt (keeping the cursor on its row).

A plain `DataTable.update_cell` still bumps the table-wide update counter that keys all its
render caches, so one changed cell re-renders every visible row (under load that was half of
the UI thread's time). Here a changed cell of a fixed-width column only drops the cached
renders of its own row and repaints that row's region; the rest of the table is served from
cache. Adding, removing or reordering rows, and columns that size to their content, still
take DataTable's whole-table path.

Drawing a cell is cheap too: a one-line `Text` cell is truncated, padded and styled directly
(the same segments DataTable gets from Rich's `Styled(Padding(...))` render, at a fraction of
the cost); headers and anything else still go through DataTable's own renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from br_tui.widgets.scrolling import NoLayoutOnGrow

Cell = Any
CACHE_LINES = 200  # rendered lines / rows kept per table (a tall terminal shows ~60)
Formatter = Callable[[Any], Text | str]


@dataclass(frozen=True, slots=True)
class Col:
    """A column: its key (for update_cell), label, width, and how a raw value is drawn."""

    key: str
    label: str
    width: int | None = None
    fmt: Formatter | None = None


class LiveTable(NoLayoutOnGrow, DataTable[Cell]):
    """Rows are `{key: tuple_of_raw_values}`; formatters turn raw values into cells."""

    DEFAULT_CSS = """
    LiveTable { height: 1fr; }
    """

    def __init__(self, columns: Sequence[Col], **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(**kwargs)
        self.cols = list(columns)
        self._drawn: dict[str, tuple[Any, ...]] = {}
        self._order: list[str] = []
        self.updates = 0  # cells touched: for tests and the bench
        self.row_repaints = 0  # rows repainted alone (without invalidating the whole table)
        # DataTable's render caches hold up to 1,000 lines / rows and 10,000 cells each, and
        # fill up slowly as cells, cursor positions and styles change (≈ +20 MiB over a long
        # run, four tables). Rows are invalidated one by one here, so a few screens' worth is
        # plenty: memory stays flat.
        lines = CACHE_LINES
        self._line_cache.maxsize = lines
        self._row_render_cache.maxsize = lines
        self._row_renderable_cache.maxsize = lines
        self._cell_render_cache.maxsize = lines * max(1, len(self.cols))
        self._dirty: set[RowKey] = set()

    def on_mount(self) -> None:
        for c in self.cols:
            self.add_column(c.label, key=c.key, width=c.width)

    def _cell(self, col: Col, value: Any) -> Text | str:
        if col.fmt is not None:
            return col.fmt(value)
        return Text("-" if value is None else str(value))

    def _cells(self, values: tuple[Any, ...]) -> list[Text | str]:
        return [self._cell(c, v) for c, v in zip(self.cols, values, strict=True)]

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def sync(self, rows: Mapping[str, tuple[Any, ...]]) -> bool:
        """Make the table show `rows` (in this order); returns whether anything changed."""
        keys = list(rows)
        if keys == self._order and all(self._drawn[k] == rows[k] for k in keys):
            return False
        with self.app.batch_update(), self._keeping_cursor():
            kept = [k for k in self._order if k in rows]
            new = [k for k in keys if k not in self._drawn]
            if keys != kept + new:  # existing rows moved, or new ones go in between
                self._rebuild(rows)
                return True
            for k in self._order:
                if k not in rows:
                    self.remove_row(k)
                    del self._drawn[k]
            for k, values in rows.items():
                old = self._drawn.get(k)
                if old is None:
                    self.add_row(*self._cells(values), key=k)
                    self.updates += len(values)
                elif old != values:
                    for c, a, b in zip(self.cols, old, values, strict=True):
                        if a != b:
                            self._set_cell(k, c, self._cell(c, b))
                            self.updates += 1
                self._drawn[k] = values
            self._order = keys
            self._repaint_dirty()
        return True

    @contextmanager
    def _keeping_cursor(self) -> Iterator[None]:
        """Rows changing must not carry the cursor off its row. DataTable keeps the cursor's
        index when rows above it go (so it silently lands on another row), and a rebuild
        starts it again at the top. Inside, highlight messages are held back; afterwards the
        cursor is put back on its row, or where its row was if that row went, and the row
        under it is announced once, only if it is not the row it was on."""
        at, at_row = self.cursor_key, self.cursor_coordinate.row
        with self.prevent(DataTable.RowHighlighted):
            yield
            if self.row_count:
                row = (
                    self.get_row_index(at) if at in self._drawn else min(at_row, self.row_count - 1)
                )
                if row != self.cursor_coordinate.row:
                    self.move_cursor(row=row, animate=False)
        if self.row_count and self.cursor_key != at:
            self._highlight_cursor()

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """DataTable's cell renderer, with a fast path for one-line `Text` cells."""
        if row_index < self.fixed_rows or column_index < self.fixed_columns:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        lines = self._cell_render_cache.get(cache_key)
        if lines is not None:
            return lines
        row = self.rows.get(row_key) if row_key is not None else None
        cell = self._get_row_renderables(row_index).cells[column_index] if row else None
        pad = self.cell_padding
        inner = width - 2 * pad
        if (
            row is None
            or row.height != 1
            or not isinstance(cell, Text)
            or cell.justify not in (None, "default", "left")
            or "\n" in cell.plain
            or inner < 1
        ):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component, post = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component
        text = cell.copy()
        text.truncate(inner, overflow=text.overflow or "fold")
        fill = inner - text.cell_len
        console = self.app.console
        base = pre
        segments = [Segment(" " * pad, pre + post)] if pad else []
        if text.style:  # Rich turns the text's own style into the first span when it renders
            pre = pre + console.get_style(text.style, default=Style.null())
        for seg in text.render(console, end=""):
            style = pre + seg.style + post if seg.style else pre + post
            segments.append(Segment(seg.text, style))
        if fill > 0 or pad:
            segments.append(Segment(" " * (max(0, fill) + pad), base + post))
        lines = [segments]
        self._cell_render_cache[cache_key] = lines
        return lines

    async def _on_idle(self, event: events.Idle) -> None:
        """New or changed cells can widen auto-width columns (DataTable works widths out when
        idle). Stock DataTable re-renders every cell after that because the layout it
        triggers resizes the table; with `NoLayoutOnGrow` nothing does, and cells cached at
        the old width stayed cut short ("SQL bui"). So a width change invalidates them here."""
        widths = [c.content_width for c in self.columns.values()]
        await super()._on_idle(event)
        if widths != [c.content_width for c in self.columns.values()]:
            self._update_count += 1  # part of every cell and row cache key
            self.refresh()

    def _set_cell(self, row: str, col: Col, value: Cell) -> None:
        if col.width is None:  # the column may need to grow: DataTable's whole-table path
            self.update_cell(row, col.key, value, update_width=True)
            return
        key = RowKey(row)
        self._data[key][ColumnKey(col.key)] = value
        self._dirty.add(key)

    def _repaint_dirty(self) -> None:
        """Drop the cached renders of the rows whose cells changed; repaint just those rows."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        indexes = {self._row_locations.get(k) for k in dirty if k in self._row_locations}
        for cache, at, match in (
            (self._row_render_cache, 0, dirty),
            (self._cell_render_cache, 0, dirty),
            (self._row_renderable_cache, 1, indexes),
        ):
            for ck in [ck for ck in cache.keys() if ck[at] in match]:  # noqa: SIM118 - LRUCache
                cache.discard(ck)
        ys: set[int] = set()
        regions = []
        for index in indexes:
            region = self._get_row_region(index)
            ys.update(range(region.y, region.bottom))
            regions.append(region)
        for ck in [ck for ck in self._line_cache.keys() if ck[0] in ys]:  # noqa: SIM118
            self._line_cache.discard(ck)
        for region in regions:
            self._refresh_region(region)
            self.row_repaints += 1

    def _rebuild(self, rows: Mapping[str, tuple[Any, ...]]) -> None:
        self.clear()
        for k, values in rows.items():
            self.add_row(*self._cells(values), key=k)
        self._drawn = dict(rows)
        self._order = list(rows)
        self.updates += sum(len(v) for v in rows.values())

    def restyle(self) -> None:
        """Redraw every cell (the theme changed, so colours did)."""
        if self._drawn:
            with self._keeping_cursor():
                self._rebuild(dict(self._drawn))
