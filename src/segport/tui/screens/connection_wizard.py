"""Add connection: type → name and access → API key → privacy → Connect → export user → Save."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from segport.errors import SegportError
from segport.manage.connections import add_connection
from segport.model import Connection
from segport.tui.screens.connect_step import ConnectStep, ExportUserStep, SaveConnectionStep
from segport.tui.screens.connection_steps import (
    ConnectionForm,
    KeyStep,
    NameStep,
    PrivacyStep,
    TypeStep,
)
from segport.tui.widgets.wizard import WizardScreen, WizardStep


class ConnectionWizard(WizardScreen[Connection]):
    """Dismisses with the saved :class:`Connection`, or None when cancelled."""

    SCREEN_NAME = "Add connection"
    WIZARD_TITLE = "Add connection"
    HELP: ClassVar[str] = (
        "Add a connection, one step at a time: the platform; a display name and who can use it; "
        "the API key (Iterable: data centre; a base URL under Advanced for the sandbox); the "
        "data privacy and compliance statement, which you must agree to; Connect, which checks "
        "the key live and shows what it can see; yourself as export user; Save. Back keeps "
        "what you typed; Escape asks before discarding it.")

    def __init__(self, form: ConnectionForm | None = None, *, start: int = 0) -> None:
        self.form = form or ConnectionForm()
        super().__init__(start=start)

    def make_steps(self) -> list[WizardStep]:
        form = self.form
        return [
            TypeStep(form, id="step-type"),
            NameStep(form, id="step-name"),
            KeyStep(form, id="step-key"),
            PrivacyStep(form, id="step-privacy"),
            ConnectStep(form, id="step-connect"),
            ExportUserStep(form, id="step-export-user"),
            SaveConnectionStep(form, id="step-save"),
        ]

    def has_input(self) -> bool:
        return self.form.touched()

    def finish(self) -> None:
        step = self.step_of(SaveConnectionStep)
        if step.saving:
            return
        step.saving = True
        self.update_nav()
        self.run_worker(self._save(), exclusive=True, exit_on_error=False, group="save")

    async def _save(self) -> None:
        step = self.step_of(SaveConnectionStep)
        app = self.app
        try:
            connection = await asyncio.to_thread(
                add_connection, app.ctx, self.form.draft(),  # type: ignore[attr-defined]
                self.form.key, agreed=self.form.agreed)
        except SegportError as exc:
            step.failed(str(exc))
            return
        self.form.key = ""
        self.finished = True
        self.dismiss(connection)
