"""Home: connections, exports, segments and runs; what the role may not do is disabled + why.

Each tab is a pane under :mod:`segport.tui.widgets` that fills itself; this screen composes
them, holds the keys, reads the run records (shared by the Runs tab and the Exports tab's Last
run column) and routes the buttons and actions to the app's flows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Button, DataTable, Header, Static, TabbedContent

from segport.access import Role
from segport.model import Export
from segport.tui.widgets.footer import SegFooter
from segport.tui.widgets.home_connections import ConnectionsPane
from segport.tui.widgets.home_exports import ExportsPane
from segport.tui.widgets.home_pane import selected_key
from segport.tui.widgets.home_runs import RunsPane, RunsRead, read_runs
from segport.tui.widgets.home_segments import SegmentsPane
from segport.tui.widgets.workers import ReportWorkerErrors, describe_error

if TYPE_CHECKING:
    from segport.tui.app import SegportApp

TABS = ("connections", "exports", "segments", "runs")
ROLE_NAMES = {Role.ADMIN: "administrator", Role.CONTRIBUTOR: "contributor",
              Role.NONE: "not in the team"}


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

    #: Whether the run records are still being read (tests wait on it).
    reading_runs = False

    def __init__(self) -> None:
        super().__init__()
        self._runs_generation = 0
        self._segments: SegmentsPane | None = None

    @property
    def seg_app(self) -> SegportApp:
        return self.app  # type: ignore[return-value]

    @property
    def counting(self) -> bool:
        """Whether member counts are still on their way (tests wait on it)."""
        return self._segments is not None and self._segments.counting

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="home-status")
        yield Static(id="home-problem", classes="problem")
        with TabbedContent(id="home-tabs", initial="connections"):
            yield ConnectionsPane("Connections", id="connections")
            yield ExportsPane("Exports", id="exports")
            self._segments = SegmentsPane("Segments", id="segments")
            yield self._segments
            yield RunsPane("Runs", id="runs")
        yield SegFooter()

    def on_mount(self) -> None:
        self.sub_title = self.seg_app.workspace_label
        self.seg_app.home = self
        self.refresh_data()

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
        self.query_one(ConnectionsPane).fill()
        self.query_one(ExportsPane).fill()
        self.query_one(SegmentsPane).fill()
        self._read_runs()
        self.refresh_bindings()

    def _read_runs(self) -> None:
        self.reading_runs = True
        self._runs_generation += 1
        self._runs_worker(self._runs_generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs")
    def _runs_worker(self, generation: int) -> None:
        """Read the run records (small SQLite reads, but never on the UI thread)."""
        try:
            found, latest = read_runs(self.seg_app.ctx)
        except Exception as exc:  # say so where the runs would be, not only in a toast
            self.post_message(RunsRead([], {}, generation, describe_error(exc)))
            return
        self.post_message(RunsRead(found, latest, generation))

    def on_runs_read(self, message: RunsRead) -> None:
        if message.generation != self._runs_generation:
            return  # a newer read is on its way
        self.query_one(RunsPane).show(message)
        self.query_one(ExportsPane).show_last_runs(
            message.latest if message.error is None else None, message.error)
        self.reading_runs = False

    # -- selection and actions -------------------------------------------------------------------
    def selected(self, table_id: str) -> str | None:
        """The key of the selected row of the table ``table_id`` (``#exports-table``, …)."""
        return selected_key(self.query_one(table_id, DataTable))

    def _selected_export(self) -> Export | None:
        return self.query_one(ExportsPane).selected_export()

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
        """A tab's key: show it, with the focus on its table (Enter then acts on a row)."""
        self.show_tab(tab)
        self.call_after_refresh(self._focus_table, tab)

    def _focus_table(self, tab: str) -> None:
        found = self.query(f"#{tab}-table")
        if found:
            found.first().focus()

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
