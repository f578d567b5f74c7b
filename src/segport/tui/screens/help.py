"""F1 / ?: the keys that work here and what each screen does."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

SCREENS_OVERVIEW = """\
Home: your connections, exports, segments and runs, one tab each. What your role may not see \
is not shown; what it may not do is disabled, with the reason.
Add connection (administrators): type, name and who may use it, API key, data privacy \
agreement, Connect (the key is checked live), export user, Save. The key goes to the OS keyring.
Add export: connection, name, destination list, data matching (email and optional fields), \
segments with live member counts, mode and schedule, Save. Saving does not run it.
Plan (dry run; p on Exports): what a run would add, update, remove and keep back, with sample \
rows and any refusal by the cap or the blast-radius guard. Nothing is sent; Run now runs it.
Command palette (Ctrl+P): every action by name, e.g. "connection: add", "export: run …", \
"theme: …"."""


class HelpScreen(ModalScreen[None]):
    """The keys of the screen it was opened over, and an overview of every screen."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("f1", "close", "Close", show=False, id="help.close-f1"),
    ]

    def __init__(self, screen_name: str, screen_help: str,
                 keys: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.screen_name = screen_name
        self.screen_help = screen_help
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Static(f"Help · {self.screen_name}", classes="dialog-title")
            with VerticalScroll():
                if self.screen_help:
                    yield Static(self.screen_help, classes="dialog-body")
                yield Static("Keys", classes="section-title")
                yield DataTable(id="help-keys", cursor_type="none", zebra_stripes=True)
                yield Static("Screens", classes="section-title")
                yield Static(SCREENS_OVERVIEW, classes="dialog-body")
                yield Static("Change a key in tui.toml in segport's config folder: "
                             '[keymap] "binding id" = "key".', classes="hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("key", "does", "binding id")
        table.can_focus = False
        for row in self.keys:
            table.add_row(*row)
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
