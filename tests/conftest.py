"""Shared fixtures: an isolated environment for every test, and the real `segport` binary."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clirunner import Cli

pytest_plugins = [
    "fixtures.secret_service", "fixtures.postgres", "fixtures.sandbox",
]


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real user's workspace, config or data directories."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("SEGPORT_WORKSPACE", raising=False)
    monkeypatch.delenv("SEGPORT_DEBUG", raising=False)
    for name in list(os.environ):
        if name.startswith("SEGPORT_API_KEY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def cli(tmp_path: Path, secret_service: Any) -> Iterator[Cli]:
    """The CLI on a fresh workspace folder, with the real Secret Service running."""
    yield Cli(workspace=tmp_path / "ws", env=dict(secret_service.env))
