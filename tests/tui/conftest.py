"""TUI tests: no cursor blink, no animations, the workspace shown relative to the test folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import tui_support

from segport.tui.app import SegportApp


@pytest.fixture(scope="session", autouse=True)
def _workspace_templates(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each distinct test workspace is built once per session, then copied."""
    tui_support.TEMPLATES = tmp_path_factory.mktemp("tui-workspaces")


@pytest.fixture(autouse=True)
def _steady_tui(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(SegportApp, "CURSOR_BLINK", False)
    monkeypatch.chdir(tmp_path)  # the workspace label is then "ws", never a temp path
    monkeypatch.delenv("SEGPORT_CONNECT_TIMEOUT", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)  # snapshots show the theme's colours
