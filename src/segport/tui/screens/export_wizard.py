"""Add export: connection → name → destination → data matching → segments → mode → Save."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Label, RadioButton, RadioSet, Static, Switch

from segport.errors import SegportError
from segport.manage.catalog import segment_counts, show_source
from segport.manage.exports import add_export
from segport.model import DEFAULT_MAX_REMOVAL_SHARE, EXPORT_MODES, Segment
from segport.sources.base import ColumnInfo
from segport.tui.screens.export_matching import MappingStep, SegmentsStep
from segport.tui.screens.export_steps import (
    DestinationStep,
    ExportForm,
    ExportNameStep,
    ExportStep,
    PickConnectionStep,
)
from segport.tui.widgets.wizard import WizardScreen, WizardStep, pressed_index


@dataclass(frozen=True)
class ExportSaved:
    """The wizard's result: the saved export, and whether to run it now."""

    name: str
    run_now: bool


@dataclass
class SourceRead(Message):
    """The profile columns and segment counts, read in a thread (or why they could not be)."""

    columns: list[ColumnInfo]
    counts: list[tuple[Segment, int | None, str | None]]
    error: str | None = None


class ModeStep(ExportStep):
    TITLE = "Mode and schedule"

    def compose(self) -> ComposeResult:
        yield Label("Mode", classes="field-label")
        with RadioSet(id="export-mode"):
            yield RadioButton("Upsert: add new members and update changed ones",
                              self.form.mode == "upsert")
            yield RadioButton("Mirror: also remove members who left the segment",
                              self.form.mode == "mirror")
        yield Static("Mirror removes from the list the members who left the segment, but only "
                     "memberships segport itself added, never someone added by hand. A run that "
                     f"would remove more than {DEFAULT_MAX_REMOVAL_SHARE:.0%} of a list is "
                     "refused unless you allow it.", classes="hint")
        yield Label("Schedule", classes="field-label")
        with Horizontal(classes="switch-row"):
            yield Switch(self.form.schedule, id="export-schedule")
            yield Static("Run unattended", classes="switch-label")
        yield Static("On: 'segport run --all' (from cron or a systemd timer) runs this export; "
                     "'segport schedule NAME' prints a ready line. Off: it runs only when someone "
                     "runs it.", classes="hint")

    def sync(self) -> None:
        self.form.mode = EXPORT_MODES[pressed_index(self.query_one("#export-mode", RadioSet)) or 0]
        self.form.schedule = self.query_one("#export-schedule", Switch).value


class SaveExportStep(ExportStep):
    TITLE = "Save"
    NEXT_LABEL = "Save"

    def __init__(self, form: ExportForm, *, id: str) -> None:
        super().__init__(form, id=id)
        self.saving = False

    def compose(self) -> ComposeResult:
        yield Static("Check, then save. Saving does not run the export.", classes="lead")
        yield Static(id="export-summary")
        yield Static(id="export-save-error", classes="reason")
        yield Static(id="export-saved")
        with Horizontal(classes="actions", id="export-done"):
            yield Button("Run now", id="export-run-now", variant="success")
            yield Button("Done", id="export-close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#export-done").display = False

    def entered(self) -> None:
        form = self.form
        source = self.screen.source  # type: ignore[attr-defined]
        counts = {seg.name: n for seg, n, _ in source.counts} if source else {}
        rows = [
            ("Connection", form.connection.label if form.connection else ""),
            ("Name", form.name),
            ("Destination", f"list {form.list_id.strip()}" if form.needs_list_id()
             else "a list per segment, named after it"),
            ("Data matching", ", ".join(f"{f} ← {c}" for f, c in form.mapping.items())),
            ("Segments", ", ".join(f"{s} ({counts.get(s) or 0:,})" for s in form.segments)),
            ("Mode", form.mode),
            ("Schedule", "on" if form.schedule else "off"),
        ]
        width = max(len(k) for k, _ in rows)
        self.query_one("#export-summary", Static).update(
            "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows))

    def source_ready(self) -> None:
        self.entered()  # the member counts arrived

    def problem(self) -> str | None:
        return "Saving…" if self.saving else None

    def failed(self, message: str) -> None:
        self.saving = False
        self.query_one("#export-save-error", Static).update(message)
        self.changed()

    def saved(self, total: int, warnings: list[str]) -> None:
        self.saving = False
        text = [f"✓ Export '{self.form.name}' saved: {len(self.form.segments)} segment(s), "
                f"{total:,} profiles. It has not run yet."]
        text += [f"⚠ {w}" for w in warnings]
        self.query_one("#export-saved", Static).update("\n".join(text))
        self.query_one("#export-done").display = True
        self.query_one("#export-run-now", Button).focus()


class ExportWizard(WizardScreen[ExportSaved]):
    """Dismisses with :class:`ExportSaved`, or None when cancelled."""

    SCREEN_NAME = "Add export"
    WIZARD_TITLE = "Add export"
    HELP: ClassVar[str] = (
        "Add an export, one step at a time: the connection (only those you may use); a name; "
        "the destination list (SendGrid: a list of the account, fetched live, or a typed ID; "
        "Iterable and Autopilot: a list per segment, named after it); data matching (the email "
        "column is required, other fields optional, with sample values); segments with live "
        "member counts and the platform's cap; mode and schedule; Save. Saving does not run "
        "the export: Run now does.")

    def __init__(self, form: ExportForm | None = None, *, start: int = 0) -> None:
        self.form = form or ExportForm()
        self.source: SourceRead | None = None  # columns and counts, once read
        super().__init__(start=start)

    def make_steps(self) -> list[WizardStep]:
        form = self.form
        return [
            PickConnectionStep(form, id="step-connection"),
            ExportNameStep(form, id="step-name"),
            DestinationStep(form, id="step-destination"),
            MappingStep(form, id="step-mapping"),
            SegmentsStep(form, id="step-segments"),
            ModeStep(form, id="step-mode"),
            SaveExportStep(form, id="step-save"),
        ]

    def on_mount(self) -> None:
        # WizardScreen.on_mount runs too: Textual calls the handler of every class in the MRO
        self._read_source()

    def has_input(self) -> bool:
        return self.form.touched()

    @work(thread=True, exclusive=True, exit_on_error=False, group="source")
    def _read_source(self) -> None:
        ctx = self.app.ctx  # type: ignore[attr-defined]
        try:
            columns = show_source(ctx).columns
            counts = segment_counts(ctx)
        except SegportError as exc:
            self.post_message(SourceRead([], [], str(exc)))
            return
        self.post_message(SourceRead(columns, counts))

    def on_source_read(self, message: SourceRead) -> None:
        if message.error:
            self.notify(f"Cannot read the profile source: {message.error}", severity="error",
                        timeout=15)
        self.source = message
        for step in (self.step_of(MappingStep), self.step_of(SegmentsStep),
                     self.step_of(SaveExportStep)):
            if step.is_mounted:
                step.source_ready()
        self.update_nav()

    def finish(self) -> None:
        step = self.step_of(SaveExportStep)
        if step.saving:
            return
        step.saving = True
        self.update_nav()
        self.run_worker(self._save(), exclusive=True, exit_on_error=False, group="save")

    async def _save(self) -> None:
        step = self.step_of(SaveExportStep)
        try:
            check = await asyncio.to_thread(add_export, self.app.ctx,  # type: ignore[attr-defined]
                                            self.form.export())
        except SegportError as exc:
            step.failed(str(exc))
            return
        self.finished = True
        self.update_nav()
        step.saved(check.total, check.warnings)

    def action_cancel(self) -> None:
        if self.finished:
            self.dismiss(ExportSaved(self.form.name, run_now=False))
        else:
            super().action_cancel()

    @on(Button.Pressed, "#export-run-now")
    def _run_now(self) -> None:
        self.dismiss(ExportSaved(self.form.name, run_now=True))

    @on(Button.Pressed, "#export-close")
    def _close(self) -> None:
        self.dismiss(ExportSaved(self.form.name, run_now=False))
