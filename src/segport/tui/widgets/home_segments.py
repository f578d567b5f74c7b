"""Home's Segments tab: every segment with its live member count, counted off the UI thread."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Static

from segport.manage.catalog import segment_counts
from segport.model import Segment
from segport.tui.widgets.home_pane import HomePane
from segport.tui.widgets.workers import ReportWorkerErrors


@dataclass
class SegmentsCounted(Message):
    """The member count of every segment (or why it could not be counted)."""

    counts: list[tuple[Segment, int | None, str | None]]


class SegmentsPane(ReportWorkerErrors, HomePane):
    """The segments table; member counts arrive after the first paint."""

    #: Whether member counts are still on their way (tests wait on it).
    counting = False

    def compose(self) -> ComposeResult:
        yield Static(id="segments-note", classes="hint")
        yield DataTable(id="segments-table", cursor_type="row")

    def fill(self) -> None:
        """Show the segments, then count their members."""
        config = self.seg_app.config
        assert config is not None
        table = self.query_one("#segments-table", DataTable)
        table.clear(columns=True)
        table.add_column("Segment", key="name")
        table.add_column("Members", key="members")
        table.add_column("Definition", key="definition")
        for segment in config.segments.values():
            table.add_row(segment.name, "counting…", segment.definition, key=segment.name)
        self.query_one("#segments-note", Static).update(
            "Member counts are live from the profile source." if config.segments else
            "No segments yet. Add one with: segport segments add NAME --where \"SQL filter\".")
        self.counting = bool(config.segments)
        if config.segments:
            self.call_after_refresh(self._count_segments)  # after the first paint

    @work(thread=True, exclusive=True, exit_on_error=False, group="counts")
    def _count_segments(self) -> None:
        try:
            self.post_message(SegmentsCounted(segment_counts(self.seg_app.ctx)))
        except BaseException:
            self.counting = False
            raise

    def on_segments_counted(self, message: SegmentsCounted) -> None:
        self.counting = False
        table = self.query_one("#segments-table", DataTable)
        for segment, count, error in message.counts:
            if segment.name in table.rows:
                text = f"{count:,}" if count is not None else f"cannot count: {error}"
                table.update_cell(segment.name, "members", text, update_width=True)
