"""Home's Connections tab: the connections the user may see, and who may use each."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Static

from segport.model import DESTINATION_LABELS
from segport.tui.widgets.home_pane import HomePane, selected_key

NO_CONNECTIONS = ("No connections yet. Add one: type, name, API key, data privacy agreement, "
                  "Connect, Save.")


class ConnectionsPane(HomePane):
    """The connections table, with Add / Share / Remove (disabled, with why, for contributors)."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="actions"):
            yield Button("Add connection", id="add-connection", variant="primary")
            yield Button("Share / unshare", id="toggle-sharing")
            yield Button("Remove", id="remove-connection", variant="error")
        yield Static(id="connections-note", classes="refusal")
        yield DataTable(id="connections-table", cursor_type="row")

    def selected(self) -> str | None:
        """The name of the selected connection."""
        return selected_key(self.query_one("#connections-table", DataTable))

    def fill(self) -> None:
        """Show the connections (details only to those who may see them)."""
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
            note = NO_CONNECTIONS
        elif not admin:
            note += " You see the connections shared with contributors, by name and type."
            if table.row_count == 0:
                note += " None is shared with you yet."
        note_widget = self.query_one("#connections-note", Static)
        note_widget.update(note.strip())
        note_widget.display = bool(note.strip())
