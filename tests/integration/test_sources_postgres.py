"""PostgreSQL profile tables against a real, throw-away server with password authentication.

``postgres_server`` comes from the ``fixtures.postgres`` plugin that tests/conftest.py loads.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.postgres import PostgresServer
from fixtures.profiles import COLUMNS, ROWS, US_BIG_IDS, write_members
from segport.errors import SourceError
from segport.model import Segment, SourceConfig
from segport.sources import ProfileSource, open_source

pytestmark = pytest.mark.postgres

ALL = Segment("Everyone", where="1 = 1")
BIG_US = Segment("Big US spenders", where="country = 'US' AND lifetime_value > 500")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_members(tmp_path / "vip_ids.csv", "id", ["1", "3", "3", " 7 ", "42"])
    write_members(tmp_path / "newsletter.csv", "email", [
        "  BOB@example.com ", "zoe@EXAMPLE.com", "jose@example.com", "bob@example.com"])
    return tmp_path


def config(server: PostgresServer, table: str = "profiles", key: str = "id",
           url: str | None = None) -> SourceConfig:
    return SourceConfig("postgres", key, url=url or server.url, table=table)


@pytest.fixture(params=["profiles", "crm.People"])
def source(request: pytest.FixtureRequest, postgres_server: PostgresServer,
           workspace: Path) -> Iterator[ProfileSource]:
    with open_source(config(postgres_server, request.param), workspace,
                     lambda: postgres_server.password) as src:
        yield src


def ids(source: ProfileSource, segment: Segment, batch_size: int = 10_000) -> list[int]:
    return sorted(int(r[0]) for b in source.iter_batches(segment, ["id"], batch_size)  # type: ignore[call-overload]
                  for r in b)


def test_columns_count_and_rows(source: ProfileSource) -> None:
    cols = source.columns(samples=3)
    assert [(c.name, c.type) for c in cols] == [
        ("id", "INTEGER"), ("email", "TEXT"), ("first_name", "TEXT"), ("country", "VARCHAR(2)"),
        ("lifetime_value", "DOUBLE PRECISION")]
    assert cols[2].samples == ("Anna", "Bob", "Zoë")
    assert source.row_count() == 10
    assert sorted(r for b in source.iter_batches(ALL, batch_size=3) for r in b) == sorted(ROWS)
    assert [len(b) for b in source.iter_batches(ALL, batch_size=3)] == [3, 3, 3, 1]


def test_filter_segment(source: ProfileSource) -> None:
    assert source.count(BIG_US) == 2
    assert ids(source, BIG_US) == sorted(US_BIG_IDS)
    preview = source.preview(BIG_US, limit=1)
    assert preview.columns == COLUMNS and len(preview.rows) == 1
    percent = Segment("Pct", where="email LIKE '%@example.com' AND first_name::text ~ '^Z'")
    assert ids(source, percent) == [3]


def test_members_segments(source: ProfileSource) -> None:
    vip, news = Segment("VIP", members="vip_ids.csv"), Segment("News", members="newsletter.csv")
    assert source.count(vip) == 3 and ids(source, vip, batch_size=2) == [1, 3, 7]
    assert source.count(news) == 3 and ids(source, news) == [2, 3, 6]


def test_sessions_are_read_only(source: ProfileSource) -> None:
    read_only = Segment("RO", where="current_setting('transaction_read_only') = 'on' AND "
                                    "current_setting('default_transaction_read_only') = 'on'")
    assert source.count(read_only) == 10
    # the reader may update this sequence, but not from segport's read-only sessions
    with pytest.raises(SourceError, match=r"cannot execute nextval\(\) in a read-only transaction"):
        source.count(Segment("Writer", where="nextval('crm.ticket_seq') > 0"))
    # writes a read-only transaction lets through are refused before reaching the server
    with pytest.raises(SourceError, match="calls lo_create"):
        source.count(Segment("Writer", where="lo_create(0) > 0"))


def test_password_is_asked_once_and_only_when_connecting(postgres_server: PostgresServer,
                                                         workspace: Path) -> None:
    calls: list[int] = []

    def password() -> str:
        calls.append(1)
        return postgres_server.password

    with open_source(config(postgres_server), workspace, password) as src:
        src.count(BIG_US)
        list(src.iter_batches(ALL))
    assert calls == [1]


# --- bad inputs ------------------------------------------------------------------------------

def open_error(server: PostgresServer, workspace: Path, password: str | None, **kw: str) -> str:
    with pytest.raises(SourceError) as err:
        open_source(config(server, **kw), workspace, lambda: password)
    return str(err.value)


def test_wrong_password_is_never_echoed(postgres_server: PostgresServer,
                                        workspace: Path) -> None:
    wrong = "Wr0ng-Pa55word-xyz"
    message = open_error(postgres_server, workspace, wrong)
    assert "refused the password for user 'segport_reader'" in message
    assert "keyring" in message
    assert wrong not in message and postgres_server.password not in message


def test_no_password_stored(postgres_server: PostgresServer, workspace: Path) -> None:
    message = open_error(postgres_server, workspace, None)
    assert "asks for a password" in message and "none is stored" in message


def test_password_in_url_is_refused(postgres_server: PostgresServer,
                                    workspace: Path) -> None:
    url = postgres_server.url.replace("segport_reader@", "segport_reader:hunter2secret@")
    message = open_error(postgres_server, workspace, None, url=url)
    assert "contains a password" in message and "keyring" in message
    assert "hunter2secret" not in message


def test_connection_refused(postgres_server: PostgresServer, workspace: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    url = postgres_server.url.replace(f":{postgres_server.port}/", f":{closed_port}/")
    message = open_error(postgres_server, workspace, postgres_server.password, url=url)
    assert f"Cannot reach PostgreSQL at 127.0.0.1:{closed_port}/segport_test" in message
    assert "is the server running" in message


def test_unknown_database(postgres_server: PostgresServer, workspace: Path) -> None:
    url = postgres_server.url.replace("/segport_test", "/nowhere")
    message = open_error(postgres_server, workspace, postgres_server.password, url=url)
    assert 'database "nowhere" does not exist' in message and "database name" in message


def test_unknown_table_lists_tables(postgres_server: PostgresServer,
                                    workspace: Path) -> None:
    message = open_error(postgres_server, workspace, postgres_server.password, table="people")
    assert "no table 'people' in the PostgreSQL database" in message
    assert "one of: profiles" in message
    message = open_error(postgres_server, workspace, postgres_server.password, table="crm.people")
    assert "no table 'crm.people'" in message and "one of: People" in message


def test_missing_key_column(postgres_server: PostgresServer, workspace: Path) -> None:
    message = open_error(postgres_server, workspace, postgres_server.password, key="cust")
    assert "'cust' is not in the PostgreSQL table profiles" in message
    assert "Available columns: id, email, first_name, country, lifetime_value" in message


@pytest.mark.parametrize(("where", "expected"), [
    ("country = 'US' AND", "is not a valid SQL condition"),
    ("contry = 'US'", "column 'contry' that the profiles do not have — did you mean 'country'?"),
    ("country > 5", "mixes types"),
    ("country = 'US'; DELETE FROM profiles", "contains ';'"),
    ("TRUNCATE profiles", "uses TRUNCATE"),
    ("id IN (SELECT id FROM other_table)", "reaches outside the profile table"),
    ("length(pg_read_file('/etc/passwd')) > 0", "calls pg_read_file()"),
    # past the checker (quoted name), the server's privileges still refuse it
    ("""length("pg_read_file"('/etc/passwd')) > 0""", "reaches outside the profile table"),
])
def test_bad_filters(source: ProfileSource, where: str, expected: str) -> None:
    segment = Segment("Broken", where=where)
    for action in (lambda: source.count(segment), lambda: list(source.iter_batches(segment))):
        with pytest.raises(SourceError) as err:
            action()
        assert str(err.value).startswith("Segment 'Broken': the filter ")
        assert expected in str(err.value)


def test_members_header_matching_no_column(workspace: Path, source: ProfileSource) -> None:
    write_members(workspace / "crm.csv", "customer", ["1"])
    expected = r"members file crm\.csv starts with the column 'customer'"
    with pytest.raises(SourceError, match=expected):
        source.count(Segment("From CRM", members="crm.csv"))
