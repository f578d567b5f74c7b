"""What Home's tabs share: a pane that knows the app, and the key of a table's selected row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import DataTable, TabPane

if TYPE_CHECKING:
    from segport.tui.app import SegportApp


def selected_key(table: DataTable[object]) -> str | None:
    """The key of the row under ``table``'s cursor (None: the table is empty)."""
    if table.row_count == 0:
        return None
    key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    return str(key) if key is not None else None


class HomePane(TabPane):
    """One of Home's tabs; it fills itself from the workspace as the app last read it."""

    @property
    def seg_app(self) -> SegportApp:
        return self.app  # type: ignore[return-value]
