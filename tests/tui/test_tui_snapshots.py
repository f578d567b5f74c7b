"""Snapshots of every screen and wizard step: fixed user names, no keys, paths, clocks or blink.

Regenerate on purpose: ``pytest tests/tui/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, SelectionList
from tui_steps import ACCOUNT, connection_wizard, export_wizard
from tui_support import PROFILES, app_for, build_workspace, record_run, screen_text, settle

from segport.destinations import AccountInfo, DestinationAuthError, ListRef
from segport.engine.records import ApiCall
from segport.manage import Context
from segport.manage.exports import detach_export
from segport.model import Export
from segport.secrets import MemoryStore
from segport.tui.screens import connect_step, export_steps
from segport.tui.screens.attach import AttachModal
from segport.tui.screens.modals import ConfirmModal
from segport.tui.screens.run_detail import RunDetailScreen
from segport.workspace import Workspace

SIZE = (120, 40)
CONNS = {"Iterable – EU newsletter": ("iterable", True),
         "SendGrid – newsletter": ("sendgrid", False),
         "Autopilot – journeys": ("autopilot", False)}
EXPORT = Export("Newsletter", "iterable", ("Everyone",), {"email": "e_mail"},
                connection="Iterable – EU newsletter", schedule=True)
class FakeDestination:
    """Lists as a SendGrid account would return them, without a network."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    async def __aenter__(self) -> FakeDestination:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def lists(self) -> list[ListRef]:
        return list(ACCOUNT.lists)


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with three connections and one export; Connect and lists stubbed."""
    async def validate(draft: Any, key: str) -> AccountInfo:
        return ACCOUNT

    monkeypatch.setattr(connect_step, "validate_key", validate)
    monkeypatch.setattr(export_steps, "make_destination", FakeDestination)
    secrets = MemoryStore()
    build_workspace(tmp_path / "ws", connections=CONNS, exports=[EXPORT], secrets=secrets)
    SECRETS[tmp_path / "ws"] = secrets
    return tmp_path / "ws"


SECRETS: dict[Path, MemoryStore] = {}


def _app(root: Path, user: str = "ana") -> Any:
    return app_for(root, user=user, secrets=SECRETS.pop(root, MemoryStore()))


async def _settle(pilot: Any) -> None:
    await settle(pilot)


# -- home and friends ---------------------------------------------------------------------------

@pytest.mark.parametrize("tab", ["connections", "exports", "segments", "runs"])
def test_home_admin(snap_compare: Any, ws: Path, tab: str) -> None:
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.screen.show_tab(tab)
        await _settle(pilot)

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


@pytest.fixture
def ws_runs(ws: Path, frozen_clock: Any) -> Path:
    """The workspace after two runs of its export (fixed times and clock, shown in UTC)."""
    record_run(ws, "Newsletter", counts={"read": 5, "sent": 5, "accepted": 5},
               segments={"Everyone": {"read": 5, "adds": 5, "sent": 5, "accepted": 5}},
               calls=(ApiCall("GET", "/api/lists", 200, 0.1),
                      ApiCall("POST", "/api/lists", 200, 0.1),
                      ApiCall("POST", "/api/lists/subscribe", 200, 0.1)))
    rejected = ws / "runs" / "2" / "rejected.csv"
    rejected.parent.mkdir(parents=True)
    rejected.write_text("segment,key,email,stage,reason\n", encoding="utf-8")
    record_run(ws, "Newsletter", outcome="completed_with_rejections",
               started="2025-03-05T16:40:00.000+00:00", finished="2025-03-05T16:42:05.000+00:00",
               duration=125.0, counts={"read": 7, "invalid": 1, "duplicates": 1, "unchanged": 5,
                                       "sent": 0, "accepted": 0},
               segments={"Everyone": {"read": 7, "invalid": 1, "duplicates": 1,
                                      "unchanged": 5}},
               detail="Rows kept back or refused: 1 invalid, 1 duplicates.",
               rejected_file=str(rejected),
               calls=(ApiCall("GET", "/api/lists", 429, 0.1),
                      ApiCall("GET", "/api/lists", 200, 0.1)))
    return ws


def test_home_runs(snap_compare: Any, ws_runs: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.screen.show_tab("runs")
        await _settle(pilot)

    assert snap_compare(_app(ws_runs), terminal_size=SIZE, run_before=run_before)


def test_run_detail(snap_compare: Any, ws_runs: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        screen = RunDetailScreen(2)
        pilot.app.push_screen(screen)
        while not screen.loaded:
            await pilot.pause(0.02)
        await pilot.pause()

    assert snap_compare(_app(ws_runs), terminal_size=SIZE, run_before=run_before)


def test_attach_export(snap_compare: Any, ws: Path) -> None:
    detach_export(Context(Workspace(ws), user="ana", secrets=MemoryStore()), "Newsletter")

    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.screen.show_tab("exports")
        pilot.app.action_attach_export("Newsletter")
        while not isinstance(pilot.app.screen, AttachModal):
            await pilot.pause(0.02)
        await pilot.pause()

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


def test_home_contributor(snap_compare: Any, ws: Path) -> None:
    assert snap_compare(_app(ws, "bo"), terminal_size=SIZE, run_before=_settle)


def test_home_not_in_team(snap_compare: Any, ws: Path) -> None:
    assert snap_compare(_app(ws, "mallory"), terminal_size=SIZE, run_before=_settle)


def test_first_run(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path / "ws"), terminal_size=SIZE)


def test_help(snap_compare: Any, ws: Path) -> None:
    assert snap_compare(_app(ws), terminal_size=SIZE, press=["f1"], run_before=_settle)


def test_command_palette(snap_compare: Any, ws: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("ctrl+p")
        pilot.app.screen.query_one(Input).cursor_blink = False
        await pilot.press(*"export")
        await pilot.pause()

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


def test_remove_connection_confirmation(snap_compare: Any, ws: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.action_remove_connection("Iterable – EU newsletter")
        while not isinstance(pilot.app.screen, ConfirmModal):  # its worker waits for an answer
            await pilot.pause(0.02)

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


# The run panel's snapshot is in test_tui_run_panel.py (a scripted run, fixed numbers).


# -- the connection wizard ----------------------------------------------------------------------

@pytest.mark.parametrize("steps", range(7), ids=["type", "name", "key", "privacy", "connect",
                                                  "export-user", "save"])
def test_connection_wizard_step(snap_compare: Any, ws: Path, steps: int) -> None:
    async def run_before(pilot: Any) -> None:
        await connection_wizard(pilot, steps)

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


def test_connection_wizard_iterable_key_with_advanced(snap_compare: Any, ws: Path) -> None:
    async def run_before(pilot: Any) -> None:
        wizard = await connection_wizard(pilot, 2, kind="iterable")
        wizard.query_one("#conn-advanced").collapsed = False
        wizard.query_one("#conn-base-url", Input).value = "not a url"
        await pilot.pause()

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


def test_connection_wizard_connect_failed(snap_compare: Any, ws: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(draft: Any, key: str) -> AccountInfo:
        raise DestinationAuthError("SendGrid rejected the API key (HTTP 401: authorization "
                                   "required).", 401)

    monkeypatch.setattr(connect_step, "validate_key", refuse)

    async def run_before(pilot: Any) -> None:
        await connection_wizard(pilot, 4)

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


def test_connection_wizard_escape_asks(snap_compare: Any, ws: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await connection_wizard(pilot, 1)
        pilot.app.screen.action_cancel()
        await pilot.pause()

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


# -- the export wizard --------------------------------------------------------------------------

@pytest.mark.parametrize("steps", range(7), ids=["connection", "name", "destination", "mapping",
                                                  "segments", "mode", "save"])
def test_export_wizard_step(snap_compare: Any, ws: Path, steps: int) -> None:
    async def run_before(pilot: Any) -> None:
        await export_wizard(pilot, steps)

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


def test_export_wizard_sendgrid_lists(snap_compare: Any, ws: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await export_wizard(pilot, 2, connection="SendGrid – newsletter")

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


def test_export_wizard_saved(snap_compare: Any, ws: Path) -> None:
    async def run_before(pilot: Any) -> None:
        wizard = await export_wizard(pilot, 6)
        await wizard.action_next()
        await _settle(pilot)

    assert snap_compare(_app(ws), terminal_size=SIZE, run_before=run_before)


def test_export_wizard_no_connection_for_a_contributor(snap_compare: Any, tmp_path: Path) -> None:
    build_workspace(tmp_path / "ws", connections={"SendGrid – private": ("sendgrid", False)})

    async def run_before(pilot: Any) -> None:
        await export_wizard(pilot, 0)

    assert snap_compare(_app(tmp_path / "ws", "bo"), terminal_size=SIZE, run_before=run_before)


def test_export_wizard_cap_warning(snap_compare: Any, tmp_path: Path) -> None:
    rows = "".join(f"P{i},p{i}@example.com,A,B,US,CA,LA,90001,1\n" for i in range(100_050))
    build_workspace(tmp_path / "ws", connections={"SendGrid – newsletter": ("sendgrid", False)},
                    profiles=PROFILES.splitlines(keepends=True)[0] + rows)

    async def run_before(pilot: Any) -> None:
        wizard = await export_wizard(pilot, 4, connection="SendGrid – newsletter",
                                     list_id="L1", segments=("Big spenders",))
        assert "above" not in flat(pilot.app)  # two profiles: below the cap
        wizard.query_one(SelectionList).select("Everyone")
        await pilot.pause()
        text = flat(pilot.app)
        assert ("100,050 profiles is above SendGrid's documented limit of 100,000 profiles in "
                "total") in text and "Runs of this export will be refused" in text
        assert wizard.check_action("next", ()) is True  # a warning, not a refusal

    assert snap_compare(_app(tmp_path / "ws"), terminal_size=SIZE, run_before=run_before)


def flat(app: Any) -> str:
    return " ".join(screen_text(app).split())
