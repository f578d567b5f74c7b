"""Themes (shipped and the user's), the remembered theme, and keymap overrides from tui.toml."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_steps import connection_wizard
from tui_support import app_for, build_workspace, footer_text, settle, wait_for

from segport.tui.settings import TuiSettings, load_settings, save_settings, settings_path
from segport.tui.themes import builtin_themes, theme_from_toml, user_themes
from segport.tui.widgets.wizard import wizard_keymap
from segport.workspace import Workspace


def test_shipped_themes_load() -> None:
    names = [t.name for t in builtin_themes()]
    assert names == ["segport-dark", "segport-high-contrast", "segport-light"]


def test_bad_theme_files_are_named_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "ok.toml").write_text('name = "mine"\nprimary = "#123456"\n')
    (tmp_path / "bad.toml").write_text('name = "bad"\nprimary = "not a colour"\n')
    (tmp_path / "odd.toml").write_text('name = "odd"\nprimary = "#000000"\nsparkle = 1\n')
    themes, warnings = user_themes(tmp_path)
    assert [t.name for t in themes] == ["mine"]
    assert len(warnings) == 2 and any("sparkle" in w for w in warnings)
    with pytest.raises(ValueError, match="not valid TOML"):
        theme_from_toml("name = ", "x.toml")


def test_settings_round_trip_and_bad_entries() -> None:
    assert load_settings() == (TuiSettings(), [])
    save_settings(TuiSettings(theme="segport-light", keymap={"home.add-export": "x"}))
    assert load_settings()[0] == TuiSettings("segport-light", {"home.add-export": "x"})
    settings_path().write_text('theme = 3\n[keymap]\n"a" = 1\n')
    settings, warnings = load_settings()
    assert settings == TuiSettings() and len(warnings) == 2


async def test_theme_from_the_palette_is_remembered(tmp_path: Path) -> None:
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == "segport-dark"
        await pilot.press("ctrl+p", *"port-light")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "segport-light"
    assert load_settings()[0].theme == "segport-light"
    again = app_for(tmp_path / "ws")
    async with again.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert again.theme == "segport-light"


async def test_user_theme_and_keymap_override(tmp_path: Path) -> None:
    themes = settings_path().parent / "themes"
    themes.mkdir(parents=True)
    (themes / "mine.toml").write_text('name = "my-theme"\nprimary = "#FF8800"\ndark = true\n')
    save_settings(TuiSettings(theme="my-theme", keymap={"home.add-connection": "n"}))
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == "my-theme"
        await pilot.press("n")
        assert app.screen.__class__.__name__ == "ConnectionWizard"


def test_the_wizard_save_key_follows_the_next_key_unless_set() -> None:
    assert wizard_keymap({"home.add-export": "x"}) == {"home.add-export": "x"}
    assert wizard_keymap({"wizard.next": "ctrl+right"}) == {"wizard.next": "ctrl+right",
                                                            "wizard.save": "ctrl+right"}
    assert wizard_keymap({"wizard.save": "ctrl+s"}) == {"wizard.next": "ctrl+n",
                                                        "wizard.save": "ctrl+s"}


async def test_a_remapped_next_key_also_saves_on_the_last_step(tmp_path: Path) -> None:
    save_settings(TuiSettings(keymap={"wizard.next": "ctrl+right"}))
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await connection_wizard(pilot, 6)  # the last step: Save
        active = {key: b.binding.id for key, b in wizard.active_bindings.items()}
        assert active.get("ctrl+right") == "wizard.save" and "ctrl+n" not in active
        await wait_for(pilot, lambda: "Save" in footer_text(app), what="Save in the footer")
        await pilot.press("ctrl+right")
        await wait_for(pilot, lambda: app.screen is not wizard, what="the wizard to close")
    assert list(Workspace(tmp_path / "ws").load().connections) == ["SendGrid – EU news"]
