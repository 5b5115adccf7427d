"""A DataTable kept in step with a keyed list of rows by touching only what changed.

Every DataTable mutation throws away its render cache, so a refresh that rebuilt the table
would cost in proportion to its size, many times a second. `sync` diffs against the values it
drew last: changed cells get `update_cell`, new keys are appended, stale keys removed, and only
when the order of existing rows changed is the table rebuilt (keeping the cursor on its row).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

Cell = Any
Formatter = Callable[[Any], Text | str]


@dataclass(frozen=True, slots=True)
class Col:
    """A column: its key (for update_cell), label, width, and how a raw value is drawn."""

    key: str
    label: str
    width: int | None = None
    fmt: Formatter | None = None


class LiveTable(DataTable[Cell]):
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
        with self.app.batch_update():
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
                            self.update_cell(
                                k, c.key, self._cell(c, b), update_width=c.width is None
                            )
                            self.updates += 1
                self._drawn[k] = values
            self._order = keys
        return True

    def _rebuild(self, rows: Mapping[str, tuple[Any, ...]]) -> None:
        at = self.cursor_key
        self.clear()
        for k, values in rows.items():
            self.add_row(*self._cells(values), key=k)
        self._drawn = dict(rows)
        self._order = list(rows)
        self.updates += sum(len(v) for v in rows.values())
        if at in self._drawn:
            self.move_cursor(row=self.get_row_index(at), animate=False)

    def restyle(self) -> None:
        """Redraw every cell (the theme changed, so colours did)."""
        if self._drawn:
            self._rebuild(dict(self._drawn))
