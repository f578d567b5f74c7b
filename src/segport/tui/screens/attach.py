"""Attach a detached export: pick a connection of its type, or read plainly why there is none."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option


class AttachModal(ModalScreen[str | None]):
    """Dismisses with the chosen connection's name, or None when cancelled (or none to pick)."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", "Cancel", id="attach.cancel"),
    ]
    HELP = ("Attach a detached export to a connection of the same type: pick one with the "
            "arrow keys and press Enter (or Attach). Its settings are kept and it becomes "
            "active again. Escape cancels.")

    def __init__(self, export: str, label: str, choices: list[str],
                 why_none: str | None = None) -> None:
        """``label``: the platform ("SendGrid"); ``why_none``: said when ``choices`` is empty."""
        super().__init__()
        self.export_name = export
        self.platform = label
        self.choices = choices
        self.why_none = why_none

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Attach export '{self.export_name}'", classes="dialog-title")
            if self.choices:
                yield Static(f"Pick the {self.platform} connection this export sends to. Its "
                             "segments, data matching and list settings are kept, and it "
                             "becomes active again.", classes="dialog-body")
                yield OptionList(*(Option(name, id=name) for name in self.choices),
                                 id="attach-connections")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Cancel", id="cancel")
                    yield Button("Attach", id="attach", variant="primary")
            else:
                yield Static(f"No {self.platform} connection is available to you",
                             classes="lead")
                yield Static(self.why_none or "", id="attach-why-none",
                             classes="dialog-body refusal")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Close", id="cancel", variant="primary")

    def on_mount(self) -> None:
        if self.choices:
            options = self.query_one(OptionList)
            options.highlighted = 0
            options.focus()
        else:
            self.query_one("#cancel", Button).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#attach")
    def _attach_pressed(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(self.choices[options.highlighted])

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
