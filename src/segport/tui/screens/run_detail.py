"""One run record: who, when, where, how it ended, counts per segment, rejected file, API calls.

Times, ages, durations and outcome words come from :mod:`segport.tui.format`, shared with
Home's Runs tab and its Exports "Last run" column, so a run reads the same everywhere.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from segport.engine.records import ApiCall, RunRecord
from segport.errors import SegportError
from segport.manage.running import call_summary, run_record
from segport.model import DESTINATION_LABELS
from segport.tui.format import (
    count_text,
    duration_text,
    local_time,
    outcome_words,
    right,
    shown_path,
)
from segport.tui.widgets.footer import SegFooter
from segport.tui.widgets.segment_counts import SegmentCounts
from segport.tui.widgets.workers import ReportWorkerErrors

if TYPE_CHECKING:
    from segport.tui.app import SegportApp

#: Per-segment counts as the run detail shows them, (record key, column label), in two tables
#: so that each fits the screen: what planning found, then what sending did.
PLANNED_COLUMNS = (
    ("read", "Read"), ("invalid", "Invalid"), ("duplicates", "Dupes"), ("adds", "Adds"),
    ("updates", "Updates"), ("removals", "Removals"), ("unchanged", "Unchanged"),
)
SENT_COLUMNS = (
    ("sent", "Sent"), ("accepted", "Accepted"), ("rejected", "Rejected"),
    ("failed", "Failed"), ("removed", "Removed"),
)


class RunDetailScreen(ReportWorkerErrors, Screen[None]):
    """The run record of one run, read off the UI thread."""

    SCREEN_NAME = "Run details"
    HELP = ("One run of an export: who ran it and when, on which connection and as which "
            "export user, how it ended and why, what happened to each segment's rows (read, "
            "invalid, duplicates, planned adds/updates/removals, unchanged, sent, accepted, "
            "rejected by the platform, failed, removed), the file of rows kept back or refused "
            "with reasons, and the API calls made. Escape goes back.")
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", "Back", id="run-detail.close"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        #: The record once read (tests wait on ``loaded``).
        self.record: RunRecord | None = None
        self.loaded = False

    @property
    def seg_app(self) -> SegportApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="run-detail"):
            yield Static(f"Run {self.run_id}", id="run-title", classes="lead")
            yield Static("Reading the run record…", id="run-summary")
            yield Static(id="run-outcome-detail")
            yield Static("Segments: read and planned", classes="section-title run-segments")
            yield SegmentCounts(PLANNED_COLUMNS, id="run-planned", classes="run-segments")
            yield Static("Segments: sent", classes="section-title run-segments")
            yield SegmentCounts(SENT_COLUMNS, id="run-sent", classes="run-segments")
            yield Static("API calls", id="run-calls-title", classes="section-title")
            yield DataTable(id="run-calls", cursor_type="none", zebra_stripes=True)
        yield SegFooter()

    def on_mount(self) -> None:
        self.sub_title = f"Run {self.run_id}"
        self.run_worker(self._load(), exclusive=True, exit_on_error=False, group="run-detail")

    async def _load(self) -> None:
        try:
            record, calls = await asyncio.to_thread(run_record, self.seg_app.ctx, self.run_id)
            kept = (await asyncio.to_thread(Path(record.rejected_file).is_file)
                    if record.rejected_file else False)
        except SegportError as exc:
            self.query_one("#run-summary", Static).update(str(exc))
            self.loaded = True
            return
        self._show(record, calls, kept)
        self.loaded = True

    def _show(self, record: RunRecord, calls: list[ApiCall], kept: bool) -> None:
        self.record = record
        outcome = outcome_words(record.outcome)
        self.query_one("#run-title", Static).update(
            f"Run {record.id} of '{record.export}' — {outcome}")
        kind = (DESTINATION_LABELS.get(record.connection_type, "")  # type: ignore[call-overload]
                if record.connection_type else "")
        connection = record.connection or "—"
        if kind and record.connection:
            connection += f" ({kind})"
        if record.rejected_file:
            rejected = shown_path(record.rejected_file)
            if not kept:
                rejected += " (the file is no longer there)"
        else:
            rejected = "none: no row was kept back or refused"
        c = record.counts
        rows = [
            ("Export", record.export),
            ("Outcome", outcome),
            ("Run by", record.who),
            ("Started", local_time(record.started_at)),
            ("Finished", local_time(record.finished_at) if record.finished_at else "not yet"),
            ("Duration", duration_text(record.duration) or "—"),
            ("Connection", connection),
            ("Export user", record.export_user or "—"),
            ("Rows", " · ".join(f"{count_text(c, key)} {key}" for key in (
                "read", "accepted", "rejected", "invalid", "duplicates", "failed", "removed"))),
            ("Rejected rows", rejected),
        ]
        width = max(len(k) for k, _ in rows)
        self.query_one("#run-summary", Static).update(
            "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows))
        detail = self.query_one("#run-outcome-detail", Static)
        detail.update(record.detail or "")
        detail.display = bool(record.detail)
        detail.set_class(record.outcome != "succeeded", "warning")

        for table in self.query(SegmentCounts):
            table.show(record.segments)
        self.query(".run-segments").set(display=bool(record.segments))

        grouped = call_summary(calls)
        self.query_one("#run-calls-title", Static).update(
            f"API calls ({len(calls):,} in all)" if calls else "API calls: none recorded")
        table = self.query_one("#run-calls", DataTable)
        table.clear(columns=True)
        table.add_columns("Call (method, path, status)", "Count")
        for name, count in grouped:
            table.add_row(name, right(f"{count:,}"))
        table.display = bool(grouped)

    def action_close(self) -> None:
        self.dismiss(None)
