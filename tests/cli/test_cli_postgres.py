"""A PostgreSQL source from the command line: the password goes to the keyring, never the URL."""

from __future__ import annotations

from clirunner import Cli
from fixtures.postgres import PostgresServer
from segport.secrets import POSTGRES_ENTRY, KeyringStore


def test_postgres_source_with_password_in_keyring(cli: Cli,
                                                  postgres_server: PostgresServer) -> None:
    pg = postgres_server
    r = cli("source", "set", "postgres", pg.url, "--table", "profiles", "--key", "id",
            stdin=pg.password + "\n")
    assert r.code == 0, r.output
    assert KeyringStore().get(POSTGRES_ENTRY) == pg.password
    shown = cli("source", "show", "--json").json()
    assert shown["key"] == "id" and shown["rows"] > 0
    assert cli("segments", "add", "US", "--where", "country = 'US'").code == 0
    [segment] = cli("segments", "list", "--json").json()
    assert segment["members"] > 0
    for path in cli.workspace.rglob("*"):
        if path.is_file():
            assert pg.password.encode() not in path.read_bytes()
    assert pg.password not in r.output + shown.__repr__()


def test_postgres_wrong_password_and_password_in_url(cli: Cli,
                                                      postgres_server: PostgresServer) -> None:
    pg = postgres_server
    r = cli("source", "set", "postgres", pg.url, "--table", "profiles", "--key", "id",
            stdin="not-the-password\n")
    assert r.code == 2
    assert "not-the-password" not in r.output
    assert "password" in r.stderr.lower()
    with_password = pg.url.replace(f"{pg.user}@", f"{pg.user}:{pg.password}@")
    r = cli("source", "set", "postgres", with_password, "--table", "profiles", stdin="")
    assert r.code == 2 and "keyring" in r.stderr
    assert pg.password not in r.output
