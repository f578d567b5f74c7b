"""SQLite profile tables through SQLAlchemy, read-only, against real database files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from fixtures.profiles import COLUMNS, ROWS, US_BIG_IDS, write_members, write_sqlite
from segport.errors import SourceError
from segport.model import Segment, SourceConfig
from segport.sources import ProfileSource, open_source

ALL = Segment("Everyone", where="1 = 1")
BIG_US = Segment("Big US spenders", where="country = 'US' AND lifetime_value > 500")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_sqlite(tmp_path / "crm.db")
    write_members(tmp_path / "vip_ids.csv", "id", ["1", "3", "3", " 7 ", "42"])
    write_members(tmp_path / "newsletter.csv", "EMAIL", [
        "  BOB@example.com ", "zoe@EXAMPLE.com", "jose@example.com", "bob@example.com"])
    return tmp_path


@pytest.fixture
def source(workspace: Path) -> Iterator[ProfileSource]:
    with open_source(SourceConfig("sqlite", "id", path="crm.db", table="profiles"),
                     workspace) as src:
        yield src


def ids(source: ProfileSource, segment: Segment, batch_size: int = 10_000) -> list[int]:
    return sorted(int(r[0]) for b in source.iter_batches(segment, ["id"], batch_size)  # type: ignore[call-overload]
                  for r in b)


def test_columns_count_and_rows(source: ProfileSource) -> None:
    assert source.describe() == "SQLite table profiles in crm.db"
    cols = source.columns(samples=2)
    assert [(c.name, c.type) for c in cols] == [
        ("id", "INTEGER"), ("email", "TEXT"), ("first_name", "TEXT"), ("country", "TEXT"),
        ("lifetime_value", "REAL")]
    assert cols[2].samples == ("Anna", "Bob")
    assert source.row_count() == 10
    assert sorted(r for b in source.iter_batches(ALL) for r in b) == sorted(ROWS)
    assert [len(b) for b in source.iter_batches(ALL, batch_size=4)] == [4, 4, 2]


def test_filter_segment(source: ProfileSource) -> None:
    assert source.count(BIG_US) == 2
    assert ids(source, BIG_US) == sorted(US_BIG_IDS)
    preview = source.preview(BIG_US, limit=1)
    assert preview.columns == COLUMNS and len(preview.rows) == 1
    assert [r for b in source.iter_batches(BIG_US, ["email", "id"]) for r in b] == [
        ("Bob@Example.com", 2), ("li@example.com", 7)]
    colon = Segment("Colon", where="email LIKE '%:%' OR first_name = 'Li'")
    assert ids(source, colon) == [7]


def test_members_segments(source: ProfileSource) -> None:
    vip, news = Segment("VIP", members="vip_ids.csv"), Segment("News", members="newsletter.csv")
    assert source.count(vip) == 3 and ids(source, vip, batch_size=2) == [1, 3, 7]
    assert source.count(news) == 3 and ids(source, news) == [2, 3, 6]
    assert {r[0] for r in source.preview(news).rows} == {2, 3, 6}
    assert len(source.preview(vip, limit=2).rows) == 2


def test_members_in_many_chunks_each_profile_once(workspace: Path,
                                                  source: ProfileSource) -> None:
    # 3,000 unknown ids around the real ones, every real id listed three times: the file is
    # read in chunks of 1,000 values, and still every member comes out exactly once.
    values = [str(n) for n in range(1000, 4000)] + [str(i) for i in range(1, 11)] * 3
    write_members(workspace / "big.csv", "id", values)
    big = Segment("Big list", members="big.csv")
    assert source.count(big) == 10
    got = [int(r[0]) for b in source.iter_batches(big, ["id"], batch_size=3) for r in b]  # type: ignore[call-overload]
    assert sorted(got) == list(range(1, 11))


def test_the_database_file_is_never_written(workspace: Path, source: ProfileSource) -> None:
    db = workspace / "crm.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    source.count(BIG_US)
    list(source.iter_batches(ALL))
    with source._engine.connect() as conn:  # type: ignore[attr-defined]
        for statement in ("DELETE FROM profiles", "CREATE TABLE x (a)",
                          "ATTACH 'other.db' AS o", "PRAGMA journal_mode = wal"):
            with pytest.raises(sa.exc.DatabaseError, match=r"not authorized|readonly"):
                conn.exec_driver_sql(statement)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in workspace.iterdir() if p.name.startswith("crm")) == ["crm.db"]


# --- bad inputs ------------------------------------------------------------------------------

def open_error(workspace: Path, path: str, table: str = "profiles", key: str = "id") -> str:
    with pytest.raises(SourceError) as err:
        open_source(SourceConfig("sqlite", key, path=path, table=table), workspace)
    return str(err.value)


def test_missing_database_is_not_created(workspace: Path) -> None:
    message = open_error(workspace, "missing.db")
    assert "The SQLite database missing.db was not found" in message
    assert not (workspace / "missing.db").exists()


def test_directory_instead_of_database(workspace: Path) -> None:
    (workspace / "dir.db").mkdir()
    assert "dir.db is a folder, not a file" in open_error(workspace, "dir.db")


def test_not_a_sqlite_database(workspace: Path) -> None:
    (workspace / "notes.db").write_text("id,email\n1,a@example.com\n")
    assert "notes.db is not a SQLite database" in open_error(workspace, "notes.db")


def test_empty_database_file(workspace: Path) -> None:
    (workspace / "empty.db").write_bytes(b"")
    assert "empty.db is empty" in open_error(workspace, "empty.db")


def test_missing_table_lists_tables(workspace: Path) -> None:
    message = open_error(workspace, "crm.db", table="people")
    assert "no table 'people' in the SQLite database crm.db" in message
    assert "one of: profiles" in message


def test_missing_key_column(workspace: Path) -> None:
    message = open_error(workspace, "crm.db", key="customer_id")
    assert "'customer_id' is not in the SQLite table profiles in crm.db" in message
    assert "Available columns: id, email, first_name, country, lifetime_value" in message


def test_missing_table_setting(workspace: Path) -> None:
    with pytest.raises(SourceError, match="sqlite source has no table"):
        open_source(SourceConfig("sqlite", "id", path="crm.db"), workspace)


@pytest.mark.parametrize(("where", "expected"), [
    ("country = 'US' AND", "is not a valid SQL condition"),
    ("contry = 'US'", "column 'contry' that the profiles do not have — did you mean 'country'?"),
    ("country = 'US'; DELETE FROM profiles", "contains ';'"),
    ("country = 'US' OR ATTACH", "uses ATTACH"),
    ("id IN (SELECT id FROM other_table)", "reaches outside the profile table"),
    ("shout(country) = 'US'", "function 'shout'"),
])
def test_bad_filters(source: ProfileSource, where: str, expected: str) -> None:
    segment = Segment("Broken", where=where)
    for action in (lambda: source.count(segment), lambda: source.preview(segment),
                   lambda: list(source.iter_batches(segment))):
        with pytest.raises(SourceError) as err:
            action()
        assert str(err.value).startswith("Segment 'Broken': the filter ")
        assert expected in str(err.value)


def test_members_header_matching_no_column(workspace: Path, source: ProfileSource) -> None:
    write_members(workspace / "crm.csv", "customer", ["1"])
    with pytest.raises(SourceError) as err:
        source.count(Segment("From CRM", members="crm.csv"))
    assert str(err.value).startswith(
        "Segment 'From CRM': the members file crm.csv starts with the column 'customer'")
    assert "profile columns: id, email, first_name, country, lifetime_value" in str(err.value)


def test_password_is_never_asked_for_files_or_sqlite(workspace: Path) -> None:
    def password() -> str:
        raise AssertionError("asked for a password")

    with open_source(SourceConfig("sqlite", "id", path="crm.db", table="profiles"), workspace,
                     password) as src:
        assert src.row_count() == 10
