"""One run record: who, when, where, how it ended, counts per segment, rejected file, API calls.

The formatting helpers here (outcome words, local times, ages, durations) are shared with
Home's Runs tab and its Exports "Last run" column, so a run reads the same everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from segport.engine.records import ApiCall, RunRecord
from segport.errors import SegportError
from segport.manage.running import call_summary, run_record
from segport.model import DESTINATION_LABELS
from segport.tui.widgets.footer import SegFooter
from segport.tui.widgets.workers import ReportWorkerErrors

if TYPE_CHECKING:
    from segport.tui.app import SegportApp

OUTCOME_WORDS = {
    "succeeded": "succeeded",
    "completed_with_rejections": "completed with rejections",
    "failed": "failed",
    "cancelled": "cancelled",
    "running": "running",
}

#: Per-segment counts as the run detail shows them: (record key, column label).
SEGMENT_COLUMNS = (
    ("read", "Read"), ("invalid", "Invalid"), ("duplicates", "Dupes"), ("adds", "Adds"),
    ("updates", "Updates"), ("removals", "Removals"), ("unchanged", "Unchanged"),
    ("sent", "Sent"), ("accepted", "Accepted"), ("rejected", "Rejected"),
    ("failed", "Failed"), ("removed", "Removed"),
)


def current_time() -> datetime:
    """Now, in UTC (tests freeze it)."""
    return datetime.now(UTC)


def outcome_words(outcome: str) -> str:
    """An outcome as people say it ("completed with rejections")."""
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


def parse_time(stamp: str | None) -> datetime | None:
    """A record's ISO 8601 time (UTC when it names no zone); None when absent or unreadable."""
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def local_time(stamp: str | None) -> str:
    """A record's time in this computer's time zone, in full: ``2026-03-04 14:05:09``."""
    when = parse_time(stamp)
    if when is None:
        return stamp or "—"
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def short_time(stamp: str | None, now: datetime | None = None) -> str:
    """A record's local time for a table: ``today 14:05``, ``Mar 4 14:05``, ``2025-03-04``."""
    when = parse_time(stamp)
    if when is None:
        return stamp or "—"
    local, today = when.astimezone(), (now or current_time()).astimezone()
    if local.date() == today.date():
        return f"today {local:%H:%M}"
    if local.year == today.year:
        return f"{local:%b} {local.day} {local:%H:%M}"
    return f"{local:%Y-%m-%d}"


def ago(stamp: str | None, now: datetime | None = None) -> str:
    """How long ago, for the last day ("just now", "2 min ago", "5 h ago"), else the date."""
    when = parse_time(stamp)
    if when is None:
        return stamp or "—"
    seconds = ((now or current_time()) - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return when.astimezone().strftime("%Y-%m-%d")


def duration_text(seconds: float | None, *, compact: bool = False) -> str:
    """``3.2 s``, ``4 min 05 s``, ``2 h 10 min`` (compact: ``4m 05s``, ``2h 10m``); empty when
    unknown (still running)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    minute, second, hour = ("m", "s", "h") if compact else (" min", " s", " h")
    if whole < 3600:
        return f"{whole // 60}{minute} {whole % 60:02d}{second}"
    return f"{whole // 3600}{hour} {whole % 3600 // 60:02d}{minute}"


def last_run_text(record: RunRecord | None, now: datetime | None = None) -> str:
    """An export's latest run for the Exports table: ``succeeded · 2 min ago``, or ``never``."""
    if record is None:
        return "never"
    return f"{outcome_words(record.outcome)} · {ago(record.finished_at or record.started_at, now)}"


def shown_path(path: str) -> str:
    """A file path as a person at this terminal would type it (relative to here, or to ~)."""
    from segport.tui.app import workspace_label

    return workspace_label(Path(path))


def _count(counts: Mapping[str, int], key: str) -> str:
    return f"{counts.get(key, 0):,}"


def right(text: str) -> Text:
    """A table cell aligned right (numbers)."""
    return Text(text, justify="right")


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
            yield Static("Segments", classes="section-title")
            yield DataTable(id="run-segments", cursor_type="none", zebra_stripes=True)
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
            ("Rows", f"{_count(c, 'read')} read · {_count(c, 'accepted')} accepted · "
                     f"{_count(c, 'rejected')} rejected · {_count(c, 'invalid')} invalid · "
                     f"{_count(c, 'duplicates')} duplicates · {_count(c, 'failed')} failed · "
                     f"{_count(c, 'removed')} removed"),
            ("Rejected rows", rejected),
        ]
        width = max(len(k) for k, _ in rows)
        self.query_one("#run-summary", Static).update(
            "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows))
        detail = self.query_one("#run-outcome-detail", Static)
        detail.update(record.detail or "")
        detail.display = bool(record.detail)
        detail.set_class(record.outcome != "succeeded", "warning")

        segments = self.query_one("#run-segments", DataTable)
        segments.clear(columns=True)
        segments.add_columns("Segment", *(label for _, label in SEGMENT_COLUMNS))
        for name, counts in record.segments.items():
            segments.add_row(name, *(right(_count(counts, key)) for key, _ in SEGMENT_COLUMNS),
                             key=name)
        if not record.segments:
            segments.display = False

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
