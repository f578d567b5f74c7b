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


