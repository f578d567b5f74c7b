"""The export wizard: every step, live lists, suggestions, counts and refusals (the cap
warning is checked with its snapshot, on 100,050 profiles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, RadioButton, RadioSet, Select, SelectionList, Switch
from tui_steps import export_wizard
from tui_support import app_for, build_workspace, fill, footer_text, screen_text, settle, wait_for

from segport.destinations import make_destination
from segport.sandbox.defaults import DEMO_KEYS
from segport.secrets import MemoryStore
from segport.tui.screens.export_wizard import ExportWizard
from segport.tui.screens.run_panel import RunPanel
from segport.workspace import Workspace


def _radio(app: Any, selector: str, index: int) -> None:
    list(app.screen.query_one(selector, RadioSet).query(RadioButton))[index].value = True


def _flat(app: Any) -> str:
    return " ".join(screen_text(app).split())


async def _open(pilot: Any) -> ExportWizard:
    await settle(pilot)
    await pilot.press("e")
    wizard = pilot.app.screen
    assert isinstance(wizard, ExportWizard)
    return wizard


async def _next(pilot: Any, wizard: ExportWizard, title: str) -> None:
    await pilot.press("ctrl+n")
    assert title == wizard.step.TITLE, _flat(pilot.app)


async def _sendgrid_list(sandbox: Any, name: str) -> str:
    async with make_destination("sendgrid", DEMO_KEYS["sendgrid"],
                                sandbox.base_url("sendgrid")) as dest:
        return (await dest.ensure_list(name)).id


async def test_sendgrid_export_every_step_by_a_contributor(tmp_path: Path, sandbox: Any) -> None:
    secrets = MemoryStore()
    build_workspace(tmp_path / "ws", secrets=secrets,
                    connections={"SG": ("sendgrid", True), "Private": ("autopilot", False)},
                    base_urls={"SG": sandbox.base_url("sendgrid")},
                    keys={"SG": DEMO_KEYS["sendgrid"]})
    list_id = await _sendgrid_list(sandbox, "Newsletter")
    app = app_for(tmp_path / "ws", user="bo", secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await _open(pilot)
        assert [s.TITLE for s in wizard.steps] == ["Connection", "Name", "Destination",
                                                  "Data matching", "Segments",
                                                  "Mode and schedule", "Save"]
        # 1. only the connections bo may use
        labels = [str(b.label) for b in wizard.query(RadioButton)]
        assert labels == ["SG (SendGrid)"]
        assert wizard.check_action("next", ()) is None
        _radio(app, "#export-connection", 0)
        await _next(pilot, wizard, "Name")
        # 2. name
        await fill(pilot, "#export-name", "News to SG")
        await _next(pilot, wizard, "Destination")
        # 3. the account's lists, fetched live; picking one fills the ID
        await wait_for(pilot, lambda: "1 list(s) in the account." in screen_text(app),
                       what="the lists")
        assert wizard.check_action("next", ()) is None
        wizard.query_one("#dest-list-select", Select).value = list_id
        await pilot.pause()
        assert wizard.form.list_id == list_id
        await _next(pilot, wizard, "Data matching")
        # 4. suggestions from names and samples, sample values beside each field
        await wait_for(pilot, lambda: wizard.query("#map-email"), what="the mapping")
        assert wizard.form.mapping == {
            "email": "e_mail", "first_name": "given_name", "last_name": "surname",
            "country": "country_code", "state": "region", "city": "town", "postal_code": "zip"}
        assert "e.g. ana@example.com, bo@example.com" in screen_text(app)
        wizard.query_one("#map-city", Select).value = Select.NULL
        await pilot.pause()
        assert "city" not in wizard.form.mapping
        await _next(pilot, wizard, "Segments")
        # 5. segments with live counts
        assert "Everyone — 5 members" in screen_text(app)
        assert wizard.check_action("next", ()) is None
        wizard.query_one(SelectionList).select("Everyone")
        await pilot.pause()
        assert "Selected: 1 segment(s), 5 profiles in all." in screen_text(app)
        await _next(pilot, wizard, "Mode and schedule")
        # 6. mode and schedule
        _radio(app, "#export-mode", 1)
        wizard.query_one("#export-schedule", Switch).value = True
        await pilot.pause()
        await _next(pilot, wizard, "Save")
        # 7. save: it does not run
        assert "Saving does not run the export." in screen_text(app)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: "It has not run yet." in screen_text(app), what="saved")
        assert all(not lst["members"] for lst in sandbox.state("sendgrid")["lists"])
        await pilot.click("#export-run-now")
        await wait_for(pilot, lambda: isinstance(app.screen, RunPanel), what="the run panel")
        panel = app.screen
        await wait_for(pilot, lambda: panel.result is not None, timeout=30, what="the run")
        assert panel.result is not None and panel.result.counts["accepted"] > 0
        assert any(lst["members"] for lst in sandbox.state("sendgrid")["lists"])
    export = Workspace(tmp_path / "ws").load().exports["News to SG"]
    assert (export.connection, export.connection_type, export.list_id) == ("SG", "sendgrid",
                                                                            list_id)
    assert export.segments == ("Everyone",) and export.mapping["email"] == "e_mail"
    assert "city" not in export.mapping
    assert (export.mode, export.schedule, export.created_by) == ("mirror", True, "bo")


async def test_iterable_needs_no_list_and_back_keeps_choices(tmp_path: Path) -> None:
    build_workspace(tmp_path / "ws", connections={"It": ("iterable", False)})
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await _open(pilot)
        _radio(app, "#export-connection", 0)
        await _next(pilot, wizard, "Name")
        await fill(pilot, "#export-name", "News")
        await _next(pilot, wizard, "Destination")
        assert "a static list named exactly like the segment" in _flat(app)
        await _next(pilot, wizard, "Data matching")
        await wait_for(pilot, lambda: wizard.query("#map-email"), what="the mapping")
        assert [s.id for s in wizard.query(".map-row Select")] == [
            "map-email", "map-first_name", "map-last_name"]
        await _next(pilot, wizard, "Segments")
        selection = wizard.query_one(SelectionList)
        selection.select_all()
        await pilot.pause()
        await pilot.press("ctrl+b", "ctrl+b", "ctrl+b")
        assert wizard.step.TITLE == "Name"
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+n")
        assert wizard.step.TITLE == "Segments"
        assert sorted(selection.selected) == ["Big spenders", "Everyone"]
        assert wizard.form.name == "News" and wizard.form.mapping["email"] == "e_mail"


async def test_autopilot_existing_list_when_lists_cannot_be_fetched(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGPORT_CONNECT_TIMEOUT", "1")
    build_workspace(tmp_path / "ws", connections={"AP": ("autopilot", False)},
                    base_urls={"AP": "http://127.0.0.1:9"})
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await _open(pilot)
        _radio(app, "#export-connection", 0)
        await _next(pilot, wizard, "Name")
        await fill(pilot, "#export-name", "AP news")
        await _next(pilot, wizard, "Destination")
        assert wizard.check_action("next", ()) is True  # a list per segment needs no ID
        _radio(app, "#dest-autopilot", 1)
        await pilot.pause()
        await wait_for(pilot, lambda: "Could not fetch the lists" in screen_text(app),
                       what="the fetch to fail")
        assert "Type the list ID instead." in _flat(app)
        assert wizard.check_action("next", ()) is None
        await fill(pilot, "#dest-list-id", "contactlist_42")
        await _next(pilot, wizard, "Data matching")
        assert wizard.form.needs_list_id() and wizard.form.list_id == "contactlist_42"


async def test_no_connection_at_all_is_said_plainly(tmp_path: Path) -> None:
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        assert "there are no connections yet" in _flat(app)
        wizard = await _open(pilot)
        assert "There are no connections in this workspace yet. Add one first" in _flat(app)
        assert wizard.check_action("next", ()) is None
        assert "No connection you may use." in _flat(app)


async def test_none_shared_with_a_contributor_is_said_plainly(tmp_path: Path) -> None:
    build_workspace(tmp_path / "ws", connections={"Private": ("sendgrid", False)})
    app = app_for(tmp_path / "ws", user="bo")
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await _open(pilot)
        text = _flat(app)
        assert "none is shared with contributors" in text and "administrator (ana)" in text
        assert "Private" not in text
        assert wizard.check_action("next", ()) is None


async def test_the_footer_says_save_on_the_last_step_then_nothing_to_save(
        tmp_path: Path) -> None:
    build_workspace(tmp_path / "ws", connections={"Iterable – EU newsletter": ("iterable", True)})
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await export_wizard(pilot, 5)  # Mode and schedule
        await wait_for(pilot, lambda: "^n Next" in footer_text(app), what="Next in the footer")
        assert "Save" not in footer_text(app)
        await _next(pilot, wizard, "Save")
        assert str(wizard.query_one("#wizard-next", Button).label) == "Save"
        await wait_for(pilot, lambda: "^n Save" in footer_text(app), what="Save in the footer")
        assert "Next" not in footer_text(app)
        await pilot.press("ctrl+n")  # the footer's Save key saves
        await wait_for(pilot, lambda: "It has not run yet." in screen_text(app), what="saved")
        assert wizard.check_action("save", ()) is None  # saved: shown, but nothing to do
    assert "VIP to Iterable" in Workspace(tmp_path / "ws").load().exports
