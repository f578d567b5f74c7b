"""A small profile file and a prepared workspace for driving the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_setup import PROFILES, prepare
from clirunner import Cli


@pytest.fixture
def profiles_csv(tmp_path: Path) -> Path:
    path = tmp_path / "profiles.csv"
    path.write_text(PROFILES, encoding="utf-8")
    return path


@pytest.fixture
def ready(cli: Cli, profiles_csv: Path) -> Cli:
    """See :func:`cli_setup.prepare`."""
    return prepare(cli, profiles_csv)
