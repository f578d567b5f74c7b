"""Home's Exports tab: which segments go where, and how each export's last run went."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Static

from segport.engine.records import RunRecord
from segport.model import Export
from segport.tui.format import last_run_text
from segport.tui.widgets.home_pane import HomePane, selected_key

#: How often the "Last run" column is redrawn, in seconds ("2 min ago" keeps telling the truth).
AGES_EVERY = 30


class ExportsPane(HomePane):
    """The exports table with its Last run column, and the buttons that act on the selection."""

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(title, id=id)
        #: Each visible export's latest run, as last read (None: not read yet).
        self.latest_runs: dict[str, RunRecord] | None = None
        #: Why the run records could not be read, if they could not.
        self.runs_error: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="actions"):
            yield Button("Add export", id="add-export", variant="primary")
            yield Button("Plan (dry run)", id="plan-export")
            yield Button("Run now", id="run-export", variant="success")
            yield Button("Detach", id="detach-export")
            yield Button("Attach…", id="attach-export")
            yield Button("Remove", id="remove-export", variant="error")
        yield Static(id="exports-note", classes="refusal")
        yield DataTable(id="exports-table", cursor_type="row")

    def on_mount(self) -> None:
        self.set_interval(AGES_EVERY, self._show_last_runs)

    def selected(self) -> str | None:
        """The name of the selected export."""
        return selected_key(self.query_one("#exports-table", DataTable))

    def selected_export(self) -> Export | None:
        """The selected export, as the app last read it."""
        access = self.seg_app.access()
        name = self.selected()
        return access.config.exports.get(name) if access and name else None

    def fill(self) -> None:
        """Show the exports the user may see, and why Add export cannot be used if it cannot."""
        app = self.seg_app
        access = app.access()
        assert access is not None
        table = self.query_one("#exports-table", DataTable)
        table.clear(columns=True)
        table.add_columns("Export", "Connection", "Segments", "Mode", "Schedule")
        table.add_column("Last run", key="last-run")
        for export in access.visible_exports():
            table.add_row(export.name, export.connection or "(detached)",
                          ", ".join(export.segments), export.mode,
                          "on" if export.schedule else "off", self._last_run(export.name),
                          key=export.name)
        usable = access.visible_connections()
        note = ""
        if not usable:
            note = ("Add export needs a connection you may use: "
                    + ("there are no connections yet." if not access.config.connections
                       else "none is shared with you; ask an administrator "
                       f"({app.admins_text()}) to share one."))
        elif table.row_count == 0:
            note = "No exports yet. Add one to choose which segments go to which connection."
        self.query_one("#exports-note", Static).update(note)
        self.query_one("#exports-note").display = bool(note)
        self._update_buttons()

    def show_last_runs(self, latest: dict[str, RunRecord] | None, error: str | None) -> None:
        """Take the latest run of each export (None and ``error``: they could not be read)."""
        self.latest_runs, self.runs_error = latest, error
        self._show_last_runs()

    def _last_run(self, export: str) -> str:
        if self.latest_runs is None:
            return "unknown" if self.runs_error else "…"
        return last_run_text(self.latest_runs.get(export))

    def _show_last_runs(self) -> None:
        table = self.query_one("#exports-table", DataTable)
        for row_key in list(table.rows):
            if row_key.value is not None and "last-run" in table.columns:
                table.update_cell(row_key, "last-run", self._last_run(row_key.value),
                                  update_width=True)

    def _update_buttons(self) -> None:
        export = self.selected_export()
        self.query_one("#plan-export", Button).disabled = export is None
        self.query_one("#run-export", Button).disabled = export is None or not export.active
        self.query_one("#detach-export", Button).disabled = export is None or not export.active
        self.query_one("#attach-export", Button).disabled = export is None or export.active
        self.query_one("#remove-export", Button).disabled = export is None

    @on(DataTable.RowHighlighted, "#exports-table")
    def _export_highlighted(self) -> None:
        self._update_buttons()
        self.screen.refresh_bindings()
