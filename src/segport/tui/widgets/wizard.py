"""A wizard: steps in a ContentSwitcher, Back/Next, and Next disabled until the step is valid.

On the last step Next saves: the button and the footer say "Save" there. The footer's key is one
of two bindings of the same key, ``wizard.next`` and ``wizard.save``; :meth:`check_action`
hides the one that does not apply to the step shown (Textual's dynamic bindings). A keymap that
moves one of them moves both (:func:`wizard_keymap`), unless it gives each its own key.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Mapping
from typing import ClassVar, Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    Header,
    Input,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
    Static,
    Switch,
)

from segport.tui.widgets.footer import SegFooter
from segport.tui.widgets.workers import ReportWorkerErrors

ResultT = TypeVar("ResultT")
StepT = TypeVar("StepT", bound="WizardStep")


def pressed_index(radio_set: RadioSet) -> int | None:
    """The index of the pressed button, read from the buttons (no message round trip)."""
    buttons = list(radio_set.query(RadioButton))
    return next((i for i, button in enumerate(buttons) if button.value), None)


def wizard_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """``keymap`` with the Save key following the Next key unless it has one of its own.

    Both start on one key, and Textual's keymap moves a key's bindings away together: remapping
    only ``wizard.next`` would leave the last step without a Save key (and remapping only
    ``wizard.save`` would leave the others without Next)."""
    found = dict(keymap)
    if "wizard.next" in found or "wizard.save" in found:
        default = next(b.key for b in WizardScreen.BINDINGS if b.id == "wizard.next")
        found.setdefault("wizard.next", default)
        found.setdefault("wizard.save", found["wizard.next"])
    return found


class StepChanged(Message):
    """Something in a step changed that may make it valid or not (e.g. a worker finished)."""


class WizardStep(VerticalScroll):
    """One step. Subclasses say why Next is refused (:meth:`problem`) and keep their values."""

    DEFAULT_CLASSES = "wizard-step"
    can_focus = False  # Tab goes from field to field, not to the step around them
    TITLE: ClassVar[str] = ""
    NEXT_LABEL: ClassVar[str] = "Next"
    #: The widget that gets the focus when the step is entered (None: the first that takes it).
    FOCUS: ClassVar[str | None] = None

    def problem(self) -> str | None:
        """Why the wizard may not go on from this step (None: it may)."""
        return None

    def sync(self) -> None:
        """Copy the widgets' values into the draft. Read at check time, not from Changed
        messages, so a quick Next right after a keypress sees what is on screen."""

    def checked_problem(self) -> str | None:
        """:meth:`problem` on the values shown right now."""
        if self.is_mounted:
            self.sync()
        return self.problem()

    def entered(self) -> Awaitable[None] | None:
        """The step became current (start fetching, adapt to earlier choices); may be async."""

    def changed(self) -> None:
        """Tell the wizard to check this step again."""
        self.post_message(StepChanged())

    def focus_first(self) -> None:
        """Focus the step's :attr:`FOCUS` widget, else the first of the step that takes focus."""
        if self.FOCUS is not None:
            target = self.query(self.FOCUS)
            if target and target.first().focusable:
                target.first().focus()
                return
        for widget in self.screen.focus_chain:
            if self in widget.ancestors:
                widget.focus()
                return


class WizardScreen(ReportWorkerErrors, Screen[ResultT], Generic[ResultT]):
    """Steps in order; Back never loses what was typed; Escape asks before discarding."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+n", "next", "Next", id="wizard.next"),
        Binding("ctrl+n", "save", "Save", id="wizard.save"),
        Binding("ctrl+b", "back", "Back", id="wizard.back"),
        Binding("escape", "cancel", "Cancel", id="wizard.cancel"),
    ]
    WIZARD_TITLE: ClassVar[str] = "Wizard"

    def __init__(self, *, start: int = 0) -> None:
        """``start``: the step to open at (earlier ones are built from the draft if revisited)."""
        super().__init__()
        self.steps: list[WizardStep] = self.make_steps()
        self.start = start
        self.index = start
        self.finished = False
        self._nav_state: tuple[int, bool, str | None] | None = None
        self._ready = False  # mounted: the navigation can be updated

    # -- to implement ----------------------------------------------------------------------------
    def make_steps(self) -> list[WizardStep]:
        raise NotImplementedError

    def finish(self) -> None:
        """Next on the last step (save)."""
        raise NotImplementedError

    def has_input(self) -> bool:
        """Whether leaving now would lose something the user entered."""
        return True

    # -- frame ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="wizard"):
            yield Static(id="wizard-progress")
            with ContentSwitcher(initial=self.steps[self.start].id, id="wizard-steps"):
                yield self.steps[self.start]  # the others are mounted when first shown
            with Horizontal(id="wizard-nav"):
                yield Button("Back", id="wizard-back")
                yield Static("", id="wizard-reason")
                yield Button("Next", id="wizard-next", variant="primary")
        yield SegFooter()

    async def on_mount(self) -> None:
        self.sub_title = self.WIZARD_TITLE
        self._ready = True
        await self.show_step(self.start)

    @property
    def step(self) -> WizardStep:
        return self.steps[self.index]

    @property
    def on_last_step(self) -> bool:
        """Whether the step shown is the last one, where Next saves."""
        return self.index == len(self.steps) - 1

    def step_of(self, step_type: type[StepT]) -> StepT:
        """The wizard's step of that class (mounted or not yet)."""
        return next(s for s in self.steps if isinstance(s, step_type))

    async def show_step(self, index: int) -> None:
        switcher = self.query_one(ContentSwitcher)
        step = self.steps[index]
        if not step.is_attached:
            await switcher.mount(step)
        self.index = index
        switcher.current = step.id
        entered = step.entered()
        if inspect.isawaitable(entered):
            await entered
        self.update_progress()
        self.update_nav()
        step.focus_first()  # now, so that keys typed right after Next land in the new step

    async def go_to(self, step_type: type[WizardStep]) -> None:
        """Jump back to an earlier step (e.g. from Connect to the key)."""
        for i, step in enumerate(self.steps):
            if isinstance(step, step_type) and i <= self.index:
                await self.show_step(i)
                return

    def update_progress(self) -> None:
        parts = []
        for i, step in enumerate(self.steps):
            style = "bold reverse" if i == self.index else ("" if i < self.index else "dim")
            parts.append(Content.styled(f" {i + 1} {step.TITLE} ", style))
        crumbs = Content(" › ").join(parts)
        title = Content.styled(f"{self.WIZARD_TITLE} · step {self.index + 1} of "
                               f"{len(self.steps)}: {self.step.TITLE}", "bold")
        self.query_one("#wizard-progress", Static).update(Content("\n").join([title, crumbs]))

    def update_nav(self) -> None:
        """Enable Next only when the step is valid, and say why not beside it."""
        if not self._ready:
            return
        reason = None if self.finished else self.step.checked_problem()
        state = (self.index, self.finished, reason)
        if state == self._nav_state:
            return  # nothing changed: spare the footer a repaint on every key
        self._nav_state = state
        next_button = self.query_one("#wizard-next", Button)
        next_button.label = self.step.NEXT_LABEL
        next_button.disabled = reason is not None or self.finished
        self.query_one("#wizard-back", Button).disabled = self.index == 0 or self.finished
        self.query_one("#wizard-reason", Static).update(reason or "")
        self.query_one("#wizard-nav").display = not self.finished
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next", "save"):
            if self.on_last_step != (action == "save"):
                return False  # the other one of the pair applies to this step: hide this one
            return None if self.finished or self.step.checked_problem() is not None else True
        if action == "back":
            return None if self.finished or self.index == 0 else True
        return True

    # -- actions -------------------------------------------------------------------------------
    async def action_next(self) -> None:
        if self.finished or self.step.checked_problem() is not None:
            self.app.bell()
            return
        if self.on_last_step:
            self.finish()
        else:
            await self.show_step(self.index + 1)

    async def action_save(self) -> None:
        """The last step's key: the same as Next there (the footer says Save)."""
        await self.action_next()

    async def action_back(self) -> None:
        if self.index > 0 and not self.finished:
            self.step.sync()
            await self.show_step(self.index - 1)

    def action_cancel(self) -> None:
        from segport.tui.screens.modals import ConfirmModal

        if self.finished or not self.has_input():
            self.dismiss(None)
            return

        def answer(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmModal(f"Discard this {self.WIZARD_TITLE.lower().removeprefix('add ')}?",
                         "What you entered in this wizard will be lost.",
                         confirm="Discard", cancel="Keep editing"),
            answer,
        )

    # -- events --------------------------------------------------------------------------------
    @on(Button.Pressed, "#wizard-next")
    async def _next_pressed(self) -> None:
        await self.action_next()

    @on(Button.Pressed, "#wizard-back")
    async def _back_pressed(self) -> None:
        await self.action_back()

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_next()

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(RadioSet.Changed)
    @on(Select.Changed)
    @on(SelectionList.SelectedChanged)
    @on(Switch.Changed)
    @on(StepChanged)
    def _something_changed(self) -> None:
        self.update_nav()
