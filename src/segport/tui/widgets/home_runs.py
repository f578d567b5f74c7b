"""Home's Runs tab: the latest runs, newest first; Enter on one opens its details.

The run records are read once for two tabs (this one, and the Exports tab's Last run column):
:func:`read_runs` does the reading, Home runs it in a worker and hands :class:`RunsRead` to both.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Static

from segport.engine.records import RunRecord
from segport.manage.context import Context
from segport.manage.running import runs
from segport.tui.format import duration_text, outcome_words, right, short_time
from segport.tui.screens.run_detail import RunDetailScreen
from segport.tui.widgets.home_pane import HomePane, selected_key

#: How many runs the Runs tab lists (newest first).
RUNS_SHOWN = 50
NO_RUNS = ("No runs yet. Run an export from the Exports tab or the command palette; every run "
           "leaves a record here.")


@dataclass
class RunsRead(Message):
    """The latest run records the user may see, and each visible export's latest run."""

    runs: list[RunRecord]
    latest: dict[str, RunRecord]
    #: Which read this answers (an older read that finishes late is ignored).
    generation: int
    #: Why the records could not be read (None: they were).
    error: str | None = None


def read_runs(ctx: Context) -> tuple[list[RunRecord], dict[str, RunRecord]]:
    """The latest :data:`RUNS_SHOWN` runs the user may see, and each visible export's latest
    run (small SQLite reads, but never for the UI thread)."""
    found = runs(ctx, limit=RUNS_SHOWN)
    latest: dict[str, RunRecord] = {}
    for record in found:
        latest.setdefault(record.export, record)
    access = ctx.member_access()
    for export in access.visible_exports():  # older than the runs listed
        if export.name not in latest:
            last = runs(ctx, export.name, limit=1)
            if last:
                latest[export.name] = last[0]
    return found, latest


class RunsPane(HomePane):
    """The runs table (or why there is none), keeping the selected run across redraws."""

    def compose(self) -> ComposeResult:
        yield Static("Reading the run records…", id="runs-note", classes="hint")
        yield DataTable(id="runs-table", cursor_type="row", header_height=2)

    def show(self, message: RunsRead) -> None:
        """Draw the runs just read (or why they could not be)."""
        table = self.query_one("#runs-table", DataTable)
        key = selected_key(table)
        newest = table.coordinate_to_cell_key((0, 0)).row_key.value if table.row_count else None
        table.clear(columns=True)
        table.add_columns("Run", "Export", "Started", "By", "Connection", "Outcome",
                          "Accepted", "Rejected /\ninvalid", "Duration")
        for record in message.runs:
            c = record.counts
            table.add_row(
                right(str(record.id)), record.export, short_time(record.started_at),
                record.who, record.connection or "—", outcome_words(record.outcome),
                right(f"{c.get('accepted', 0):,}"),
                right(f"{c.get('rejected', 0):,} / {c.get('invalid', 0):,}"),
                right(duration_text(record.duration, compact=True)), key=str(record.id))
        if message.runs and str(message.runs[0].id) != newest:
            table.move_cursor(row=0, animate=False)  # a new run: it is the one to look at
        elif key is not None and key in table.rows:
            table.move_cursor(row=table.get_row_index(key), animate=False)
        note = self.query_one("#runs-note", Static)
        if message.error is not None:
            note.update(f"Could not read the run records: {message.error}")
        elif message.runs:
            shown = (f"The latest {RUNS_SHOWN} runs" if len(message.runs) >= RUNS_SHOWN
                     else "Runs")
            note.update(f"{shown}, newest first. Select one and press Enter for its details: "
                        "counts per segment, the rejected-rows file, the API calls.")
        else:
            note.update(NO_RUNS)
        note.set_class(not message.runs and message.error is None, "empty")
        note.set_class(bool(message.runs), "hint")
        note.set_class(message.error is not None, "refusal")
        table.display = bool(message.runs)

    @on(DataTable.RowSelected, "#runs-table")
    def _run_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(RunDetailScreen(int(event.row_key.value)))
