"""Small modal dialogs that dismiss with a typed result."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmModal(ModalScreen[bool]):
    """Ask before something that cannot be undone; dismisses True to go ahead."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
    ]
    HELP = "Confirm or cancel the action described. Escape cancels."

    def __init__(self, title: str, body: str, *, confirm: str = "Confirm",
                 cancel: str = "Cancel", danger: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm
        self.cancel_label = cancel
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static(self.body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.cancel_label, id="cancel")
                yield Button(self.confirm_label, id="confirm",
                             variant="error" if self.danger else "primary")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class RunPendingScreen(ModalScreen[None]):
    """Stands in for the run panel until the engine is wired to the TUI."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", "Close", id="run-pending.close"),
    ]
    HELP = "The run panel will show an export's progress live once the engine is available."

    def __init__(self, export: str) -> None:
        super().__init__()
        self.export = export

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Run export '{self.export}'", classes="dialog-title")
            yield Static(
                "The run engine is not available in this build yet, so the run panel cannot "
                "start this export. Its settings are saved and nothing was sent.",
                classes="dialog-body",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
