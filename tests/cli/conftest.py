"""A small profile file and helpers for driving the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from clirunner import Cli

PROFILES = """profile_id,email,first_name,last_name,country,lifetime_value
P1,ana@example.com,Ana,Álvarez,ES,900
P2,BO@Example.com ,Bo,Berg,SE,120
P3,not-an-email,Cy,Chen,US,40
P4,dee@example.com,Dée,Dupont,FR,3000
P5,,Eve,Evans,US,10
"""


@pytest.fixture
def profiles_csv(tmp_path: Path) -> Path:
    path = tmp_path / "profiles.csv"
    path.write_text(PROFILES, encoding="utf-8")
    return path


@pytest.fixture
def ready(cli, profiles_csv) -> Cli:
    """A workspace administered by 'ana' (contributor 'bo') with the CSV source and segments."""
    r = cli("source", "set", "files", str(profiles_csv), user="ana")
    assert r.code == 0, r.output
    config = cli.workspace / "segport.toml"
    text = config.read_text()
    config.write_text(text.replace("contributors = []", 'contributors = ["bo"]'))
    assert cli("segments", "add", "Big spenders", "--where", "lifetime_value > 500",
               user="ana").code == 0
    assert cli("segments", "add", "Everyone", "--where", "true", user="bo").code == 0
    return cli
