"""Inputs that validate with Textual :class:`Validator`s and show the reason beside the field."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Static

from segport.errors import SegportError


class SegInput(Input):
    """An Input that follows the app's cursor-blink setting (off in tests and snapshots)."""

    def on_mount(self) -> None:
        self.cursor_blink = bool(getattr(self.app, "CURSOR_BLINK", True))


class CheckedBy(Validator):
    """A validator from a domain check: ``check(value)`` raises a SegportError to refuse."""

    def __init__(self, check: Callable[[str], object]) -> None:
        super().__init__()
        self._check = check

    def validate(self, value: str) -> ValidationResult:
        try:
            self._check(value)
        except SegportError as exc:
            return self.failure(str(exc))
        return self.success()


class NotTaken(Validator):
    """Refuses a value already in use (a connection or export name)."""

    def __init__(self, taken: Callable[[], Iterable[str]], what: str) -> None:
        super().__init__()
        self._taken = taken
        self._what = what

    def validate(self, value: str) -> ValidationResult:
        if value in set(self._taken()):
            article = "An" if self._what[:1] in "aeiou" else "A"
            return self.failure(f"{article} {self._what} named '{value}' already exists; choose "
                                "another name.")
        return self.success()


class Field(Vertical):
    """A label, an input and the reason the value is refused (empty when it is fine)."""

    DEFAULT_CLASSES = "field"

    def __init__(self, label: str, input_: Input, *, hint: str = "",
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.input = input_
        self.hint = hint
        self._touched = False

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield self.input
        if self.hint:
            yield Static(self.hint, classes="hint")
        yield Static("", classes="reason")

    @property
    def value(self) -> str:
        return self.input.value

    def problem(self) -> str | None:
        """Why the current value is refused, or None (without marking an untouched input)."""
        value = self.input.value
        if not value and self.input.valid_empty:
            return None
        result = ValidationResult.merge([v.validate(value) for v in self.input.validators])
        if result.is_valid:
            return None
        return "; ".join(result.failure_descriptions) or "Not valid."

    def show_problem(self) -> None:
        """Show the reason beside the field (once the user has typed)."""
        reason = self.problem() if self._touched else None
        self.query_one(".reason", Static).update(reason or "")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input is self.input:
            self._touched = True
            self.show_problem()
