"""TUI tests: no cursor blink, no animations, the workspace shown relative to the test folder."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tui_support

from segport.tui import format as tui_format
from segport.tui.app import SegportApp

#: "Now" for tests that freeze the clock (run ages such as "20 min ago").
FROZEN_NOW = datetime(2025, 3, 5, 17, 0, tzinfo=UTC)


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


@pytest.fixture
def utc() -> Iterator[None]:
    """Local time is UTC (run records show local times; snapshots must not depend on the TZ)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch, utc: None) -> datetime:
    """Run times and ages are shown as if it were :data:`FROZEN_NOW` (in UTC)."""
    monkeypatch.setattr(tui_format, "current_time", lambda: FROZEN_NOW)
    return FROZEN_NOW
