"""Exports from the command line: validated against connection, segments and columns."""

from __future__ import annotations

from typing import Any

import pytest

from cli_setup import PROFILES, prepare, with_connections
from clirunner import Cli, Result


@pytest.fixture
def conns(ready: Cli) -> Cli:
    """A fresh workspace with four connections (the CLI path of adding them is tested apart)."""
    return with_connections(ready)


@pytest.fixture(scope="module")
def unchanged(tmp_path_factory: pytest.TempPathFactory, secret_service: Any) -> Cli:
    """One workspace shared by tests that must leave it unchanged."""
    folder = tmp_path_factory.mktemp("exports")
    profiles = folder / "profiles.csv"
    profiles.write_text(PROFILES, encoding="utf-8")
    return with_connections(prepare(Cli(folder / "ws", env=dict(secret_service.env)), profiles))


def add(cli: Cli, *args: str, user: str = "ana") -> Result:
    return cli("exports", "add", *args, user=user)


def test_add_list_and_the_saved_shape(conns: Cli) -> None:
    r = add(conns, "--name", "Newsletter", "--connection", "SG shared", "--segment",
            "Big spenders", "--segment", "Everyone", "--map", "email=email", "--map",
            "first_name=first_name", "--map", "country=country", "--list-id", "list-1",
            "--mode", "mirror", "--schedule", "on", user="bo")
    assert r.code == 0, r.output
    assert "7 profiles" in r.stderr and "segport run 'Newsletter'" in r.stderr
    [export] = conns("exports", "list", "--json", user="bo").json()
    assert export == {
        "name": "Newsletter", "connection": "SG shared", "connection_type": "sendgrid",
        "active": True, "segments": ["Big spenders", "Everyone"],
        "mapping": {"email": "email", "first_name": "first_name", "country": "country"},
        "list_id": "list-1", "mode": "mirror", "schedule": True, "max_removal_share": 0.1,
        "cap": None,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--connection", "Nope", "--segment", "Everyone", "--map", "email=email"],
         "No connection named 'Nope'"),
        (["--connection", "SG shared", "--segment", "Ghosts", "--map", "email=email",
          "--list-id", "l"], "No segment named 'Ghosts'"),
        (["--connection", "SG shared", "--segment", "Everyone", "--map", "email=mail",
          "--list-id", "l"], "Mapped column(s) not in the profile source: email=mail"),
        (["--connection", "Autopilot", "--segment", "Everyone", "--map", "email=email",
          "--map", "city=country"], "Autopilot does not accept the field(s) city"),
        (["--connection", "SG shared", "--segment", "Everyone", "--map", "first_name=first_name",
          "--list-id", "l"], "--map email=COLUMN"),
        (["--connection", "SG shared", "--segment", "Everyone", "--map", "email=email"],
         "--list-id ID"),
        (["--connection", "Iterable", "--segment", "Everyone", "--map", "email=email",
          "--list-id", "5"], "Iterable exports take no list ID"),
        (["--connection", "SG shared", "--segment", "Everyone", "--map", "email"],
         "is not FIELD=COLUMN"),
    ],
)
def test_bad_exports_are_refused_with_the_fix(unchanged: Cli, args: list[str],
                                              message: str) -> None:
    r = add(unchanged, "--name", "E", *args)
    assert r.code == 2, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output
    assert unchanged("exports", "list", "--json", user="ana").json() == []


def test_contributor_cannot_use_a_private_connection(conns: Cli) -> None:
    r = add(conns, "--name", "E", "--connection", "SG private", "--segment", "Everyone",
            "--map", "email=email", "--list-id", "l", user="bo")
    assert r.code == 4
    assert "not shared with contributors" in r.stderr and "(ana)" in r.stderr


def test_detach_attach_and_type_check(conns: Cli) -> None:
    assert add(conns, "--name", "E", "--connection", "SG shared", "--segment", "Everyone",
               "--map", "email=email", "--list-id", "l").code == 0
    assert conns("exports", "detach", "E", user="ana").code == 0
    assert conns("exports", "list", "--json", user="ana").json()[0]["active"] is False
    r = conns("exports", "attach", "E", "Iterable", user="ana")
    assert r.code == 2 and "is a SendGrid export" in r.stderr
    assert conns("exports", "attach", "E", "SG private", user="ana").code == 0
    assert conns("exports", "list", "--json", user="ana").json()[0]["connection"] == "SG private"
    r = conns("exports", "remove", "E", user="bo")
    assert r.code == 4
    assert conns("exports", "remove", "E", user="ana").code == 0
    assert conns("exports", "list", "--json", user="ana").json() == []
