"""Home: connections, exports, segments and runs; what the role may not do is disabled + why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Header,
    Static,
    TabbedContent,
    TabPane,
)

from segport.access import Role
from segport.engine.records import RunRecord
from segport.manage.catalog import segment_counts
from segport.manage.running import runs
from segport.model import DESTINATION_LABELS, Segment
from segport.tui.screens.run_detail import (
    duration_text,
    last_run_text,
    outcome_words,
    right,
    short_time,
)
from segport.tui.widgets.footer import SegFooter
from segport.tui.widgets.workers import ReportWorkerErrors, describe_error

if TYPE_CHECKING:
    from segport.tui.app import SegportApp

TABS = ("connections", "exports", "segments", "runs")
#: How many runs the Runs tab lists (newest first).
RUNS_SHOWN = 50
NO_RUNS = ("No runs yet. Run an export from the Exports tab or the command palette; every run "
           "leaves a record here.")
ROLE_NAMES = {Role.ADMIN: "administrator", Role.CONTRIBUTOR: "contributor",
              Role.NONE: "not in the team"}


@dataclass
class SegmentsCounted(Message):
    """The member count of every segment (or why it could not be counted)."""

    counts: list[tuple[Segment, int | None, str | None]]


@dataclass
class RunsRead(Message):
    """The latest run records the user may see, and each visible export's latest run."""

    runs: list[RunRecord]
    latest: dict[str, RunRecord]
    #: Which read this answers (an older read that finishes late is ignored).
    generation: int
    #: Why the records could not be read (None: they were).
    error: str | None = None


class HomeScreen(ReportWorkerErrors, Screen[None]):
    """The workspace at a glance."""

    SCREEN_NAME = "Home"
    HELP = ("Home shows the workspace: Connections (links to platform accounts), Exports (which "
            "segments go where, and how their last run went), Segments (with live member counts) "
            "and Runs (the latest runs; Enter on one opens its details). On Exports, Plan (dry "
            "run, key p) shows what a run would add, update and remove without sending "
            "anything. Select a row, then use the buttons, the keys below or the command "
            "palette (Ctrl+P).")
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("c", "add_connection", "Add connection", id="home.add-connection"),
        Binding("e", "add_export", "Add export", id="home.add-export"),
        Binding("r", "run_export", "Run export", id="home.run-export"),
        Binding("p", "plan_export", "Plan (dry run)", show=False, id="home.plan-export"),
        Binding("delete", "remove_selected", "Remove", id="home.remove"),
        Binding("f5", "refresh", "Refresh", id="home.refresh"),
        *(Binding(str(i + 1), f"show_tab('{tab}')", tab.title(), show=False,
                  id=f"home.tab-{tab}") for i, tab in enumerate(TABS)),
    ]

    @property
    def seg_app(self) -> SegportApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="home-status")
        yield Static(id="home-problem", classes="problem")
        with TabbedContent(id="home-tabs", initial="connections"):
            with TabPane("Connections", id="connections"):
                with Horizontal(classes="actions"):
                    yield Button("Add connection", id="add-connection", variant="primary")
                    yield Button("Share / unshare", id="toggle-sharing")
                    yield Button("Remove", id="remove-connection", variant="error")
                yield Static(id="connections-note", classes="refusal")
                yield DataTable(id="connections-table", cursor_type="row")
            with TabPane("Exports", id="exports"):
                with Horizontal(classes="actions"):
                    yield Button("Add export", id="add-export", variant="primary")
                    yield Button("Plan (dry run)", id="plan-export")
                    yield Button("Run now", id="run-export", variant="success")
                    yield Button("Detach", id="detach-export")
                    yield Button("Attach…", id="attach-export")
                    yield Button("Remove", id="remove-export", variant="error")
                yield Static(id="exports-note", classes="refusal")
                yield DataTable(id="exports-table", cursor_type="row")
            with TabPane("Segments", id="segments"):
                yield Static(id="segments-note", classes="hint")
                yield DataTable(id="segments-table", cursor_type="row")
            with TabPane("Runs", id="runs"):
                yield Static("Reading the run records…", id="runs-note", classes="hint")
                yield DataTable(id="runs-table", cursor_type="row", header_height=2)
        yield SegFooter()

    #: Whether member counts are still on their way (tests wait on it).
    counting = False
    #: Whether the run records are still being read (tests wait on it).
    reading_runs = False

    def __init__(self) -> None:
        super().__init__()
        #: Each visible export's latest run, as last read (None: not read yet).
        self.latest_runs: dict[str, RunRecord] | None = None
        #: Why the run records could not be read, if they could not.
        self.runs_error: str | None = None
        self._runs_generation = 0

    def on_mount(self) -> None:
        self.sub_title = self.seg_app.workspace_label
        self.seg_app.home = self
        self.refresh_data()
        self.set_interval(30, self._show_last_runs)  # "2 min ago" keeps telling the truth

    def on_unmount(self) -> None:
        if self.seg_app.home is self:
            self.seg_app.home = None

    # -- data ------------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        """Show the workspace as the app last read it."""
        app = self.seg_app
        access = app.access()
        problem = app.load_error
        if problem is None and access is not None and not access.can_read():
            problem = app.refusal("see this workspace")
        status = f"Workspace {app.workspace_label} · you are {app.ctx.user}"
        if access is not None and access.can_read():
            status += f" ({ROLE_NAMES[access.role]})"
        self.query_one("#home-status", Static).update(status)
        self.query_one("#home-problem", Static).update(problem or "")
        self.query_one("#home-problem").display = problem is not None
        self.query_one("#home-tabs").display = problem is None
        if problem is not None or access is None:
            return
        self._fill_connections()
        self._fill_exports()
        self._fill_segments()
        self._read_runs()
        self.refresh_bindings()

    def _fill_connections(self) -> None:
        app = self.seg_app
        access = app.access()
        assert access is not None
        admin = access.can_manage_connections()
        table = self.query_one("#connections-table", DataTable)
        table.clear(columns=True)
        if admin:
            table.add_columns("Connection", "Type", "Who can use it", "Export user")
        else:
            table.add_columns("Connection", "Type")
        for conn in access.visible_connections():
            row = [conn.name, DESTINATION_LABELS[conn.type]]
            if access.can_see_connection_details(conn):
                row += ["Administrators and Contributors" if conn.shared_with_contributors
                        else "Administrators only", conn.export_user]
            table.add_row(*row, key=conn.name)
        refusal = app.refusal("add connections")
        for button_id in ("#add-connection", "#toggle-sharing", "#remove-connection"):
            button = self.query_one(button_id, Button)
            button.disabled = refusal is not None or (button_id != "#add-connection"
                                                     and table.row_count == 0)
            button.tooltip = refusal
        note = refusal or ""
        if not note and table.row_count == 0:
            note = ("No connections yet. Add one: type, name, API key, data privacy agreement, "
                    "Connect, Save.")
        elif not admin:
            note += " You see the connections shared with contributors, by name and type."
            if table.row_count == 0:
                note += " None is shared with you yet."
        note_widget = self.query_one("#connections-note", Static)
        note_widget.update(note.strip())
        note_widget.display = bool(note.strip())

    def _fill_exports(self) -> None:
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
        self._update_export_buttons()

    def _fill_segments(self) -> None:
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

    # -- runs --------------------------------------------------------------------------------------
    def _read_runs(self) -> None:
        self.reading_runs = True
        self._runs_generation += 1
        self._runs_worker(self._runs_generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs")
    def _runs_worker(self, generation: int) -> None:
        """Read the run records (small SQLite reads, but never on the UI thread)."""
        try:
            ctx = self.seg_app.ctx
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
        except Exception as exc:  # say so where the runs would be, not only in a toast
            self.post_message(RunsRead([], {}, generation, describe_error(exc)))
            return
        self.post_message(RunsRead(found, latest, generation))

    def on_runs_read(self, message: RunsRead) -> None:
        if message.generation != self._runs_generation:
            return  # a newer read is on its way
        self.latest_runs = message.latest if message.error is None else None
        self.runs_error = message.error
        table = self.query_one("#runs-table", DataTable)
        key = self.selected("#runs-table")
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
        if key is not None and key in table.rows:
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
        self._show_last_runs()
        self.reading_runs = False

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

    @on(DataTable.RowSelected, "#runs-table")
    def _run_selected(self, event: DataTable.RowSelected) -> None:
        from segport.tui.screens.run_detail import RunDetailScreen

        if event.row_key.value is not None:
            self.app.push_screen(RunDetailScreen(int(event.row_key.value)))

    # -- selection and actions -------------------------------------------------------------------
    def selected(self, table_id: str) -> str | None:
        table = self.query_one(table_id, DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def _selected_export(self):  # type: ignore[no-untyped-def]
        access = self.seg_app.access()
        name = self.selected("#exports-table")
        return access.config.exports.get(name) if access and name else None

    def _update_export_buttons(self) -> None:
        export = self._selected_export()
        self.query_one("#plan-export", Button).disabled = export is None
        self.query_one("#run-export", Button).disabled = export is None or not export.active
        self.query_one("#detach-export", Button).disabled = export is None or not export.active
        self.query_one("#attach-export", Button).disabled = export is None or export.active
        self.query_one("#remove-export", Button).disabled = export is None

    @on(DataTable.RowHighlighted, "#exports-table")
    def _export_highlighted(self) -> None:
        self._update_export_buttons()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = self.seg_app
        access = app.access()
        if action in ("add_connection", "add_export", "run_export", "plan_export",
                      "remove_selected") and (access is None or not access.can_read()):
            return False  # nothing to act on: not shown
        if action == "add_connection":
            return None if app.refusal("add connections") else True
        if action == "run_export":
            export = self._selected_export() if self.is_mounted else None
            return True if export is not None and export.active else None
        if action == "plan_export":
            export = self._selected_export() if self.is_mounted else None
            return True if export is not None else None
        return True

    def show_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        focused = self.focused
        if focused is not None and tabs in focused.ancestors:
            self.set_focus(None)  # a focused widget in the old pane would pull its tab back
        tabs.active = tab

    def action_show_tab(self, tab: str) -> None:
        self.show_tab(tab)

    def action_refresh(self) -> None:
        self.seg_app.refresh_home()

    def action_add_connection(self) -> None:
        self.seg_app.action_add_connection()

    def action_add_export(self) -> None:
        self.seg_app.action_add_export()

    def action_run_export(self) -> None:
        export = self._selected_export()
        if export is not None:
            self.seg_app.action_run_export(export.name)

    def action_plan_export(self) -> None:
        export = self._selected_export()
        if export is not None:
            self.seg_app.action_plan_export(export.name)

    def action_remove_selected(self) -> None:
        tab = self.query_one(TabbedContent).active
        if tab == "connections" and (name := self.selected("#connections-table")):
            self.seg_app.action_remove_connection(name)
        elif tab == "exports" and (name := self.selected("#exports-table")):
            self.seg_app.action_remove_export(name)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        app = self.seg_app
        button = event.button.id
        if button == "add-connection":
            app.action_add_connection()
        elif button == "add-export":
            app.action_add_export()
        elif button in ("remove-connection", "toggle-sharing"):
            name = self.selected("#connections-table")
            if name:
                (app.action_remove_connection if button == "remove-connection"
                 else app.action_toggle_sharing)(name)
        elif button in ("plan-export", "run-export", "detach-export", "attach-export",
                        "remove-export"):
            export = self._selected_export()
            if export is not None:
                {"plan-export": app.action_plan_export, "run-export": app.action_run_export,
                 "detach-export": app.action_detach_export,
                 "attach-export": app.action_attach_export,
                 "remove-export": app.action_remove_export}[button](export.name)
