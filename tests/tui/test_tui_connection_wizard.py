"""The connection wizard, step by step, against the sandbox: save, Back, Escape, every error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Checkbox, Collapsible, Input, RadioButton, RadioSet
from tui_steps import connection_wizard
from tui_support import (
    app_for,
    build_workspace,
    fill,
    footer_text,
    screen_text,
    settle,
    type_into,
    wait_for,
)

from segport.destinations import AccountInfo, WrongDataCenterError
from segport.errors import SecretStoreError
from segport.privacy import PRIVACY_STATEMENT_VERSION
from segport.sandbox.defaults import DEMO_KEYS
from segport.secrets import KeyringStore, MemoryStore, connection_entry
from segport.tui.screens import connect_step
from segport.tui.screens.connect_step import ConnectStep, ExportUserStep, SaveConnectionStep
from segport.tui.screens.connection_steps import ConnectionForm, KeyStep, TypeStep
from segport.tui.screens.connection_wizard import ConnectionWizard
from segport.tui.screens.home import HomeScreen
from segport.tui.screens.modals import ConfirmModal
from segport.workspace import Workspace

KINDS = ["iterable", "sendgrid", "autopilot"]


def _radio(app: Any, selector: str, index: int) -> None:
    list(app.screen.query_one(selector, RadioSet).query(RadioButton))[index].value = True


async def _connect_result(pilot: Any, wizard: ConnectionWizard) -> str:
    step = wizard.query_one(ConnectStep)
    await wait_for(pilot, lambda: step.state != "busy", timeout=15, what="Connect")
    await pilot.pause()
    return " ".join(screen_text(pilot.app).split())


async def _at_connect(pilot: Any, kind: str, key: str, base_url: str,
                      dc: str = "us") -> ConnectionWizard:
    """The wizard opened at Connect with the earlier steps done (they are walked above)."""
    await settle(pilot)
    form = ConnectionForm(type=kind, name="Conn", key=key,  # type: ignore[arg-type]
                          base_url=base_url, data_center=dc, agreed=True)  # type: ignore[arg-type]
    wizard = ConnectionWizard(form, start=4)
    pilot.app.push_screen(wizard)
    await pilot.pause()
    return wizard


async def test_every_step_in_order_saves_the_connection(tmp_path: Path, sandbox: Any) -> None:
    secrets = MemoryStore()
    build_workspace(tmp_path / "ws", secrets=secrets)
    app = app_for(tmp_path / "ws", secrets=secrets, sandbox=sandbox)  # as 'segport demo' does
    key = DEMO_KEYS["sendgrid"]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        wizard = app.screen
        assert isinstance(wizard, ConnectionWizard)
        assert [s.TITLE for s in wizard.steps] == ["Type", "Name and access", "API key",
                                                  "Data privacy", "Connect", "Export user",
                                                  "Save"]
        # 1. type: Next is disabled until a platform is picked
        assert wizard.check_action("next", ()) is None
        assert wizard.query_one("#wizard-next", Button).disabled
        assert "Pick the platform." in screen_text(app)
        await pilot.press("ctrl+n")
        assert isinstance(wizard.step, TypeStep)
        await pilot.press("down", "enter")  # SendGrid
        await pilot.press("ctrl+n")
        # 2. name (with the advice) and who can use it
        assert "Name it after its purpose and target" in screen_text(app)
        assert "The connection name must not be empty." in screen_text(app)
        await type_into(pilot, "#conn-name", "SG news")
        await pilot.press("tab", "down", "enter")  # Administrators and Contributors
        assert wizard.form.shared
        await pilot.press("ctrl+n")
        # 3. API key: masked, checked, base URL under Advanced
        key_input = wizard.query_one("#conn-key", Input)
        assert key_input.password
        assert "The API key is empty" in screen_text(app)
        await fill(pilot, "#conn-key", key)
        assert key not in screen_text(app)
        # the in-process sandbox is offered under Advanced
        assert not wizard.query_one(Collapsible).collapsed
        assert wizard.query_one("#conn-base-url", Input).value == sandbox.base_url("sendgrid")
        await pilot.click("#conn-advanced CollapsibleTitle")
        assert wizard.query_one(Collapsible).collapsed
        await pilot.press("ctrl+n")
        # 4. privacy: the full statement; no agreement, no connection
        assert "personal data, and it may be sensitive" in screen_text(app).replace("\n", " ")
        await pilot.press("ctrl+n")
        assert wizard.step.TITLE == "Data privacy"
        await pilot.press("space")  # the checkbox has the focus
        await pilot.press("ctrl+n")
        # 5. Connect, live against the sandbox
        text = await _connect_result(pilot, wizard)
        assert "Connected to SendGrid" in text and "Scopes: marketing.read" in text
        assert app.focused is not None and app.focused.id == "wizard-next"
        await pilot.press("enter")  # Next has the focus once Connect worked
        # 6. export user
        assert "signed in to this computer as 'ana'" in screen_text(app)
        assert wizard.check_action("next", ()) is None
        await pilot.press("space")
        await pilot.press("ctrl+n")
        # 7. save
        text = screen_text(app)
        assert "SG news" in text and "Administrators and Contributors" in text
        assert key not in text
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
        await settle(pilot)
        assert "SG news" in screen_text(app)
    conn = Workspace(tmp_path / "ws").load().connections["SG news"]
    assert (conn.type, conn.shared_with_contributors, conn.export_user) == ("sendgrid", True, "ana")
    assert conn.privacy.agreed_by == "ana" and conn.privacy.version == PRIVACY_STATEMENT_VERSION
    assert conn.base_url == sandbox.base_url("sendgrid")
    assert secrets.get(connection_entry("SG news")) == key
    assert key not in (tmp_path / "ws" / "segport.toml").read_text()


@pytest.mark.keyring
async def test_the_key_goes_to_the_real_os_keyring(tmp_path: Path, sandbox: Any,
                                                    clean_keyring: Any) -> None:
    store = KeyringStore()
    build_workspace(tmp_path / "ws", secrets=store)
    app = app_for(tmp_path / "ws", secrets=store)
    key = DEMO_KEYS["iterable"]
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await _at_connect(pilot, "iterable", key, sandbox.base_url("iterable"))
        wizard.form.name = "Iterable – US news"
        assert "Connected to Iterable" in await _connect_result(pilot, wizard)
        await pilot.press("ctrl+n")
        app.screen.query_one("#conn-export-user", Checkbox).value = True
        await pilot.pause()
        await pilot.press("ctrl+n")
        assert "OS keyring" in screen_text(app)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
    assert clean_keyring.items() == {"connection:Iterable – US news": key}
    conn = Workspace(tmp_path / "ws").load().connections["Iterable – US news"]
    assert conn.data_center == "us" and not conn.shared_with_contributors


async def test_back_and_forth_keeps_what_was_typed(tmp_path: Path) -> None:
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c", "enter", "ctrl+n")  # Iterable
        await fill(pilot, "#conn-name", "It EU")
        _radio(app, "#conn-sharing", 1)
        await pilot.press("ctrl+n")
        await fill(pilot, "#conn-key", "abc-123")
        _radio(app, "#conn-dc", 1)
        await pilot.press("ctrl+b", "ctrl+b")
        wizard = app.screen
        assert isinstance(wizard.step, TypeStep)
        assert wizard.query_one("#conn-type", RadioSet).pressed_index == 0
        await pilot.press("ctrl+n")
        assert wizard.query_one("#conn-name", Input).value == "It EU"
        assert wizard.query_one("#conn-sharing", RadioSet).pressed_index == 1
        await pilot.click("#wizard-next")
        assert isinstance(wizard.step, KeyStep)
        assert wizard.query_one("#conn-key", Input).value == "abc-123"
        assert wizard.query_one("#conn-dc", RadioSet).pressed_index == 1
        await pilot.click("#wizard-back")
        await pilot.click("#wizard-next")
        form = wizard.form
        assert (form.type, form.name, form.shared, form.key, form.data_center) == (
            "iterable", "It EU", True, "abc-123", "eu")
        assert "abc-123" not in repr(form)


async def test_escape_asks_before_discarding(tmp_path: Path) -> None:
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c", "escape")  # nothing entered: nothing to lose
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("c", "down", "enter", "ctrl+n")
        await fill(pilot, "#conn-name", "Keep me")
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmModal)
        assert "Discard this connection?" in screen_text(app)
        await pilot.press("escape")  # = keep editing
        assert isinstance(app.screen, ConnectionWizard)
        assert app.screen.query_one("#conn-name", Input).value == "Keep me"
        await pilot.press("escape")
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
    assert Workspace(tmp_path / "ws").load().connections == {}


async def test_name_already_taken_is_refused_beside_the_field(tmp_path: Path) -> None:
    build_workspace(tmp_path / "ws", connections={"Taken": ("autopilot", False)})
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c", "enter", "ctrl+n")
        await type_into(pilot, "#conn-name", "Taken")
        assert "A connection named 'Taken' already exists" in screen_text(app)
        assert app.screen.check_action("next", ()) is None


async def test_wrong_key_then_unreachable_then_timeout_then_connected(
        tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGPORT_CONNECT_TIMEOUT", "1")
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await _at_connect(pilot, "autopilot", "wrong-key-0000",
                                   sandbox.base_url("autopilot"))
        # a wrong key: the platform's refusal, what to do, and a way back to the key
        text = await _connect_result(pilot, wizard)
        assert "Autopilot refused the key" in text and "Go back to the API key" in text
        assert "wrong-key-0000" not in text
        assert wizard.check_action("next", ()) is None
        assert "Connect failed: fix the key (Back) or try again." in text
        await pilot.click("#connect-back")
        assert isinstance(wizard.step, KeyStep)
        # nothing listens there
        await fill(pilot, "#conn-key", DEMO_KEYS["autopilot"])
        await fill(pilot, "#conn-base-url", "http://127.0.0.1:9")
        await pilot.press("ctrl+n", "ctrl+n")  # privacy is still agreed
        text = await _connect_result(pilot, wizard)
        assert "Cannot reach Autopilot" in text and "Check the network" in text
        # the platform hangs
        sandbox.configure("autopilot", {"faults": {"timeout_rate": 1.0, "hang_seconds": 30}})
        await pilot.click("#connect-back")
        await fill(pilot, "#conn-base-url", sandbox.base_url("autopilot"))
        await pilot.press("ctrl+n", "ctrl+n")
        text = await _connect_result(pilot, wizard)
        assert "Autopilot did not answer in time (1 s)" in text
        assert "SEGPORT_CONNECT_TIMEOUT" in text
        # it answers again: Try again
        sandbox.configure("autopilot", {"faults": {"timeout_rate": 0.0}})
        await pilot.click("#connect-retry")
        assert "Connected to Autopilot" in await _connect_result(pilot, wizard)
        assert wizard.check_action("next", ()) is True


async def test_iterable_key_of_the_other_data_centre(tmp_path: Path, sandbox: Any) -> None:
    sandbox.configure("iterable", {"keys": {"eu-key-123456": "eu"}})
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await _at_connect(pilot, "iterable", "eu-key-123456",
                                   sandbox.base_url("iterable"))
        text = await _connect_result(pilot, wizard)
        assert "Iterable refused the key" in text
        assert "may belong to the EU data centre" in text


async def test_wrong_data_centre_offers_the_switch(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str | None] = []

    async def validate(draft: Any, key: str) -> AccountInfo:
        calls.append(draft.data_center)
        if draft.data_center == "us":
            raise WrongDataCenterError("Iterable rejected the key on the US data centre, but the "
                                       "EU data centre accepts it.", 401, suggested="eu")
        return AccountInfo("iterable", "https://api.eu.iterable.com", data_center="eu")

    monkeypatch.setattr(connect_step, "validate_key", validate)
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await _at_connect(pilot, "iterable", "some-key-1234", "")
        text = await _connect_result(pilot, wizard)
        assert "This key belongs to the other data centre" in text
        await pilot.click("#connect-switch-dc")
        text = await _connect_result(pilot, wizard)
        assert "Connected to Iterable" in text and "Data centre: EU" in text
        assert wizard.form.data_center == "eu" and calls == ["us", "eu"]


class RefusingStore(MemoryStore):
    """A keyring that cannot store (locked, or no Secret Service)."""

    def set(self, entry: str, secret: str) -> None:
        raise SecretStoreError("The OS keyring could not store a key (locked). Unlock it.")


async def test_save_failure_is_shown_and_nothing_is_saved(tmp_path: Path) -> None:
    store = RefusingStore()
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws", secrets=store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        form = ConnectionForm(type="autopilot", name="AP", key="k-123456", agreed=True,
                              export_user_confirmed=True,
                              account=AccountInfo("autopilot", "https://api2.autopilothq.com/v1"))
        form.validated_for = form.fingerprint()
        wizard = ConnectionWizard(form, start=6)
        app.push_screen(wizard)
        await pilot.pause()
        await pilot.press("ctrl+n")  # Save
        await wait_for(pilot, lambda: "could not store a key" in screen_text(app))
        assert app.screen is wizard and wizard.check_action("save", ()) is True  # try again
    assert Workspace(tmp_path / "ws").load().connections == {}


async def test_the_footer_says_save_on_the_last_step_like_its_button(tmp_path: Path) -> None:
    secrets = MemoryStore()
    build_workspace(tmp_path / "ws", secrets=secrets)
    app = app_for(tmp_path / "ws", secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await connection_wizard(pilot, 5)
        assert isinstance(wizard.step, ExportUserStep)
        await pilot.press("space")  # confirm the export user: Next is enabled
        assert wizard.check_action("next", ()) is True
        await wait_for(pilot, lambda: "^n Next" in footer_text(app), what="Next in the footer")
        assert "Save" not in footer_text(app)
        await pilot.press("ctrl+n")
        assert isinstance(wizard.step, SaveConnectionStep)
        assert str(wizard.query_one("#wizard-next", Button).label) == "Save"
        await wait_for(pilot, lambda: "^n Save" in footer_text(app), what="Save in the footer")
        assert "Next" not in footer_text(app)
        assert wizard.check_action("next", ()) is False  # hidden: its pair shows instead
        await pilot.press("ctrl+b")  # Back: Next again
        assert isinstance(wizard.step, ExportUserStep)
        await wait_for(pilot, lambda: "^n Next" in footer_text(app), what="Next again")
        assert "Save" not in footer_text(app)
        await pilot.press("ctrl+n", "ctrl+n")  # the footer's Save key saves
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
    assert list(Workspace(tmp_path / "ws").load().connections) == ["SendGrid – EU news"]
