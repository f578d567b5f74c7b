"""A table of counts per segment that fits its width: the Segment column takes what the numbers
leave, and a name longer than that wraps onto more lines (shown in full, never cut).

Only when the numbers alone are wider than the table (a narrow terminal) does it scroll sideways.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

from segport.tui.format import count_text, right

#: The Segment column is never narrower than this (unless every name is shorter).
MIN_NAME_WIDTH = 10


class SegmentCounts(DataTable[Text]):
    """One row per segment: its name, then one count per column of ``columns`` ((record key,
    label) pairs); see the module doc."""

    def __init__(self, columns: tuple[tuple[str, str], ...], *, id: str,
                 classes: str = "") -> None:
        super().__init__(id=id, classes=classes, cursor_type="none", zebra_stripes=True)
        self.count_columns = columns
        self.segments: dict[str, Mapping[str, int]] = {}
        #: (available width, Segment column width) of the current layout.
        self._laid_out: tuple[int, int] | None = None

    def show(self, segments: Mapping[str, Mapping[str, int]]) -> None:
        """Show these segments' counts (by segment name)."""
        self.segments = dict(segments)
        self._laid_out = None
        self._lay_out()

    def name_width(self, available: int) -> int:
        """The Segment column's width (without padding) in a table ``available`` cells wide."""
        pad = 2 * self.cell_padding
        numbers = sum(pad + max(cell_len(label), *(cell_len(count_text(c, key))
                                                   for c in self.segments.values()))
                      for key, label in self.count_columns)
        longest = max((cell_len(n) for n in (*self.segments, "Segment")), default=0)
        return min(longest, max(available - numbers - pad, MIN_NAME_WIDTH))

    def on_resize(self) -> None:
        self._lay_out()

    def _lay_out(self) -> None:
        available = self.scrollable_content_region.width
        if not available or not self.segments:
            return
        width = self.name_width(available)
        if self._laid_out is not None and self._laid_out[1] == width:
            self._laid_out = (available, width)
            return
        self._laid_out = (available, width)
        self.clear(columns=True)
        self.add_column("Segment", width=width, key="segment")
        for key, label in self.count_columns:
            self.add_column(Text(label, justify="right"), key=key)
        for name, counts in self.segments.items():
            self.add_row(Text(name), *(right(count_text(counts, key))
                                       for key, _ in self.count_columns),
                         key=name, height=None)
        # a vertical scrollbar that appears with the rows narrows the table: fit again then
        self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        laid_out = self._laid_out
        if laid_out is not None and self.scrollable_content_region.width != laid_out[0]:
            self._lay_out()
