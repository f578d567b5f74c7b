"""Open the wizards at any step with a draft filled as the earlier steps would leave it
(for snapshots; the pilot tests walk every step by hand)."""

from __future__ import annotations

from typing import Any

from tui_support import settle

from segport.destinations import AccountInfo, ListRef
from segport.sandbox.config import MARKETING_SCOPES
from segport.tui.screens.connection_steps import ConnectionForm
from segport.tui.screens.connection_wizard import ConnectionWizard
from segport.tui.screens.export_steps import ExportForm
from segport.tui.screens.export_wizard import ExportWizard

#: What a stubbed Connect sees (the real one is covered by the pilot tests, on ephemeral ports).
ACCOUNT = AccountInfo("sendgrid", "http://127.0.0.1:8702", account="marketing-team",
                      lists=(ListRef("3f2a", "Newsletter", 1200), ListRef("9c1b", "VIP", 40)),
                      scopes=MARKETING_SCOPES,
                      warnings=("This key can do far more than segport needs.",))


def connection_form(done: int, kind: str = "sendgrid") -> ConnectionForm:
    """The draft after ``done`` steps (Connect is left to run, so it can be stubbed)."""
    form = ConnectionForm()
    if done >= 1:
        form.type = kind  # type: ignore[assignment]
    if done >= 2:
        form.name = "SendGrid – EU news"
    if done >= 3:
        form.key = "not-a-real-key-0000"
    if done >= 4:
        form.agreed = True
    if done >= 5:
        form.account, form.validated_for = ACCOUNT, form.fingerprint()
    if done >= 6:
        form.export_user_confirmed = True
    return form


def export_form(app: Any, done: int, *, connection: str = "Iterable – EU newsletter",
                segments: tuple[str, ...] = ("Everyone",), list_id: str = "") -> ExportForm:
    """The draft after ``done`` steps."""
    form = ExportForm()
    if done >= 1:
        form.connection = app.config.connections[connection]
    if done >= 2:
        form.name = "VIP to Iterable"
    if done >= 3:
        form.list_id = list_id
    if done >= 4:
        form.mapping = {"email": "e_mail", "first_name": "given_name", "last_name": "surname"}
    if done >= 5:
        form.segments = list(segments)
    return form


async def _open(pilot: Any, screen: Any) -> Any:
    await settle(pilot)
    pilot.app.push_screen(screen)
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def connection_wizard(pilot: Any, done: int, **kw: Any) -> ConnectionWizard:
    """The connection wizard on step ``done`` (0-based)."""
    return await _open(pilot, ConnectionWizard(connection_form(done, **kw), start=done))


async def export_wizard(pilot: Any, done: int, **kw: Any) -> ExportWizard:
    """The export wizard on step ``done`` (0-based)."""
    await settle(pilot)
    return await _open(pilot, ExportWizard(export_form(pilot.app, done, **kw), start=done))
