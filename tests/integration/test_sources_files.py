"""Profile files — CSV in many dialects and encodings, JSON Lines, Parquet — read by DuckDB."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from fixtures.profiles import COLUMNS, ROWS, US_BIG_IDS, write_csv, write_jsonl, write_members
from fixtures.profiles import write_parquet as _write_parquet
from segport.errors import SourceError
from segport.model import Segment, SourceConfig
from segport.sources import ProfileSource, open_source

BIG_US = Segment("Big US spenders", where="country = 'US' AND lifetime_value > 500")
ALL = Segment("Everyone", where="1 = 1")
BY_KEY = Segment("VIPs", members="vip_ids.csv")
BY_EMAIL = Segment("Newsletter", members="newsletter.csv")
#: vip_ids.csv lists 1, 3 (twice), " 7 " and an unknown 42; newsletter.csv lists emails in
#: other cases and with spaces (Bob twice) and one unknown address.
VIP_IDS = {1, 3, 7}
NEWSLETTER_IDS = {2, 3, 6}


def _gz(path: Path) -> Path:
    plain = write_csv(path.with_suffix(""))
    with plain.open("rb") as src, gzip.open(path, "wb") as out:
        out.write(src.read())
    plain.unlink()
    return path


WRITERS: dict[str, Callable[[Path], Path]] = {
    "comma.csv": write_csv,
    "semicolon.csv": lambda p: write_csv(p, delimiter=";"),
    "tab.tsv": lambda p: write_csv(p, delimiter="\t"),
    "bom.csv": lambda p: write_csv(p, encoding="utf-8-sig"),
    "windows.csv": lambda p: write_csv(p, delimiter=";", encoding="cp1252"),
    "latin1.txt": lambda p: write_csv(p, encoding="latin-1"),
    "utf16.csv": lambda p: write_csv(p, delimiter="\t", encoding="utf-16"),
    "packed.csv.gz": _gz,
    "lines.jsonl": write_jsonl,
    "lines.ndjson": write_jsonl,
    "table.parquet": _write_parquet,
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_members(tmp_path / "vip_ids.csv", "id", ["1", "3", "3", " 7 ", "42"])
    write_members(tmp_path / "newsletter.csv", "Email", [
        "  BOB@example.com ", "zoe@EXAMPLE.com", "jose@example.com", "bob@example.com",
        "nobody@example.com"])
    return tmp_path


@pytest.fixture(params=sorted(WRITERS))
def source(request: pytest.FixtureRequest, workspace: Path) -> Iterator[ProfileSource]:
    name = request.param
    WRITERS[name](workspace / name)
    with open_source(SourceConfig("files", "id", path=name), workspace) as src:
        yield src


def ids(source: ProfileSource, segment: Segment, batch_size: int = 10_000) -> list[int]:
    return sorted(int(r[0]) for b in source.iter_batches(segment, ["id"], batch_size)  # type: ignore[call-overload]
                  for r in b)


def test_columns_types_and_samples(source: ProfileSource) -> None:
    cols = source.columns(samples=3)
    assert [c.name for c in cols] == list(COLUMNS)
    types = {c.name: c.type for c in cols}
    assert types["id"] == "BIGINT"
    assert types["email"] == types["first_name"] == "VARCHAR"
    assert types["lifetime_value"] == "DOUBLE"
    assert cols[0].samples == ("1", "2", "3")
    assert cols[2].samples == ("Anna", "Bob", "Zoë")
    assert source.key == "id"
    assert source.row_count() == len(ROWS)


def test_every_row_reads_back_exactly(source: ProfileSource) -> None:
    rows = [r for batch in source.iter_batches(ALL, batch_size=3) for r in batch]
    assert sorted(rows) == sorted(ROWS)  # non-ASCII names survive every encoding
    sizes = [len(b) for b in source.iter_batches(ALL, batch_size=3)]
    assert sizes == [3, 3, 3, 1]


def test_filter_segment(source: ProfileSource) -> None:
    assert source.count(BIG_US) == len(US_BIG_IDS)
    assert ids(source, BIG_US) == sorted(US_BIG_IDS)
    preview = source.preview(BIG_US, limit=1)
    assert preview.columns == COLUMNS
    assert len(preview.rows) == 1 and preview.rows[0][0] in US_BIG_IDS
    batch = next(iter(source.iter_batches(BIG_US, ["email", "id"])))
    assert sorted(batch) == [("Bob@Example.com", 2), ("li@example.com", 7)]


def test_members_segments(source: ProfileSource) -> None:
    assert source.count(BY_KEY) == len(VIP_IDS)
    assert ids(source, BY_KEY, batch_size=2) == sorted(VIP_IDS)
    assert source.count(BY_EMAIL) == len(NEWSLETTER_IDS)
    assert ids(source, BY_EMAIL) == sorted(NEWSLETTER_IDS)
    assert {r[0] for r in source.preview(BY_EMAIL, limit=5).rows} == NEWSLETTER_IDS


def test_filter_and_members_combine(source: ProfileSource) -> None:
    both = Segment("French newsletter", where="country = 'FR'", members="newsletter.csv")
    assert ids(source, both) == [3]


def test_transcoded_copy_is_cached_once(workspace: Path) -> None:
    write_csv(workspace / "w.csv", encoding="cp1252")
    config = SourceConfig("files", "id", path="w.csv")
    with open_source(config, workspace) as src:
        assert src.row_count() == 10
    cached = list((workspace / ".cache").iterdir())
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    with open_source(config, workspace) as src:
        assert sorted(r for b in src.iter_batches(ALL) for r in b) == sorted(ROWS)
    assert [p.stat().st_mtime_ns for p in (workspace / ".cache").iterdir()] == [stamp]


def test_utf8_files_are_read_in_place(workspace: Path) -> None:
    write_csv(workspace / "u.csv")
    with open_source(SourceConfig("files", "id", path="u.csv"), workspace) as src:
        assert src.row_count() == 10
    assert not (workspace / ".cache").exists()


def test_header_only_csv_has_columns_and_no_rows(workspace: Path) -> None:
    (workspace / "empty.csv").write_text("id,email,country\n")
    with open_source(SourceConfig("files", "id", path="empty.csv"), workspace) as src:
        assert [c.name for c in src.columns()] == ["id", "email", "country"]
        assert src.row_count() == 0
        assert src.count(Segment("S", where="country = 'US'")) == 0
        assert list(src.iter_batches(Segment("S", where="country = 'US'"))) == []


def test_a_huge_batch_size_streams_everything(source: ProfileSource) -> None:
    assert [len(b) for b in source.iter_batches(ALL, batch_size=1_000_000)] == [10]


# --- bad inputs ------------------------------------------------------------------------------

def open_error(workspace: Path, path: str, key: str = "id") -> str:
    with pytest.raises(SourceError) as err:
        open_source(SourceConfig("files", key, path=path), workspace)
    return str(err.value)


def test_missing_file(workspace: Path) -> None:
    message = open_error(workspace, "nowhere.csv")
    assert "nowhere.csv" in message and "was not found" in message and "check the path" in message


def test_path_is_a_directory(workspace: Path) -> None:
    (workspace / "folder.csv").mkdir()
    message = open_error(workspace, "folder.csv")
    assert "folder.csv is a folder, not a file" in message


def _open_as_nobody(folder: str, conn: Connection) -> None:
    """Child process: give up root (which reads any file), then try to open the source."""
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    try:
        open_source(SourceConfig("files", "id", path="secret.csv"), Path(folder))
        conn.send("opened")
    except SourceError as exc:
        conn.send(str(exc))


def _message_as_nobody(folder: Path) -> str:
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("fork").Process(target=_open_as_nobody,
                                                       args=(str(folder), child))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0
    return str(parent.recv())


def test_unreadable_file_and_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("unreadable")  # under a folder only root may enter
    write_csv(folder / "secret.csv")
    message = _message_as_nobody(folder)
    assert "secret.csv" in message and "cannot be read (Permission denied" in message
    with tempfile.TemporaryDirectory() as open_folder:  # a folder anyone may enter
        Path(open_folder).chmod(0o755)
        write_csv(Path(open_folder) / "secret.csv").chmod(0)
        message = _message_as_nobody(Path(open_folder))
    assert "secret.csv" in message and "cannot be read" in message


def test_empty_file(workspace: Path) -> None:
    (workspace / "zero.csv").write_bytes(b"")
    message = open_error(workspace, "zero.csv")
    assert "zero.csv is empty" in message


def test_undecodable_file(workspace: Path) -> None:
    (workspace / "binary.csv").write_bytes(bytes(range(256)) * 64 + os.urandom(4096))
    message = open_error(workspace, "binary.csv")
    assert "binary.csv is not text" in message and "save it as CSV UTF-8" in message


def test_csv_without_header(workspace: Path) -> None:
    (workspace / "nohead.csv").write_text("1,2\n3,4\n5,6\n")
    message = open_error(workspace, "nohead.csv")
    assert "nohead.csv has no header line" in message
    assert "first line must name the columns" in message


def test_csv_with_uneven_rows(workspace: Path) -> None:
    (workspace / "ragged.csv").write_text("id,email\n1,a@x.com\n2,b@x.com,extra,more\n3\n")
    message = open_error(workspace, "ragged.csv")
    assert "ragged.csv does not have the same number of fields on every line" in message


def test_malformed_json_lines(workspace: Path) -> None:
    (workspace / "bad.jsonl").write_text('{"id": 1}\n{"id": 2,\n')
    message = open_error(workspace, "bad.jsonl")
    assert "bad.jsonl is not valid JSON Lines" in message and "one JSON object" in message


def test_not_parquet(workspace: Path) -> None:
    (workspace / "bad.parquet").write_bytes(b"this is not parquet" * 100)
    message = open_error(workspace, "bad.parquet")
    assert "bad.parquet is not valid Parquet" in message


def test_unsupported_extension(workspace: Path) -> None:
    (workspace / "book.xlsx").write_bytes(b"PK\x03\x04")
    assert "book.xlsx has an extension segport does not read" in open_error(workspace, "book.xlsx")


def test_missing_key_column(workspace: Path) -> None:
    write_csv(workspace / "p.csv")
    message = open_error(workspace, "p.csv", key="customer_id")
    assert "'customer_id'" in message and "CSV file p.csv" in message
    assert "Available columns: id, email, first_name, country, lifetime_value" in message


@pytest.fixture
def csv_source(workspace: Path) -> Iterator[ProfileSource]:
    write_csv(workspace / "p.csv")
    with open_source(SourceConfig("files", "id", path="p.csv"), workspace) as src:
        yield src


@pytest.mark.parametrize(("where", "expected"), [
    ("country = 'US' AND", "is not a valid SQL condition"),
    ("contry = 'US'", "column 'contry' that the profiles do not have — did you mean 'country'?"),
    ("country > 5", "mixes types"),
    ("id = 'abc'", "mixes types"),
    ("country = 'US'; DELETE FROM profiles", "contains ';'"),
    ("country = 'US' OR EXISTS (SELECT 1) AND DROP", "uses DROP"),
    ("id IN (SELECT 1 FROM read_csv('/etc/passwd'))", "reaches outside the profile table"),
    ("length((SELECT string_agg(content, '') FROM read_text('/etc/passwd'))) > 0",
     "reaches outside the profile table"),
    ("id IN (SELECT id FROM other_table)", "reaches outside the profile table"),
    ("shout(country) = 'US'", "function 'shout'"),
])
def test_bad_filters_name_the_segment_and_the_fix(
    csv_source: ProfileSource, where: str, expected: str
) -> None:
    segment = Segment("Broken", where=where)
    for action in (lambda: csv_source.count(segment), lambda: csv_source.preview(segment),
                   lambda: list(csv_source.iter_batches(segment))):
        with pytest.raises(SourceError) as err:
            action()
        assert str(err.value).startswith("Segment 'Broken': the filter ")
        assert expected in str(err.value)


def test_exfiltration_reads_nothing(csv_source: ProfileSource) -> None:
    with pytest.raises(SourceError, match="file system operations are disabled"):
        csv_source.count(Segment("X", where="email IN (SELECT * FROM read_csv('/etc/passwd'))"))


def test_members_file_whose_header_matches_no_column(workspace: Path,
                                                     csv_source: ProfileSource) -> None:
    write_members(workspace / "crm.csv", "customer", ["1", "2"])
    with pytest.raises(SourceError) as err:
        csv_source.count(Segment("From CRM", members="crm.csv"))
    message = str(err.value)
    assert message.startswith("Segment 'From CRM': the members file crm.csv starts with the "
                              "column 'customer'")
    assert "'id', 'email'" in message and "profile columns: id, email" in message


def test_missing_members_file(csv_source: ProfileSource) -> None:
    expected = r"members file gone\.csv of segment 'Gone' was not found"
    with pytest.raises(SourceError, match=expected):
        csv_source.count(Segment("Gone", members="gone.csv"))


def test_segment_without_definition(csv_source: ProfileSource) -> None:
    with pytest.raises(SourceError, match="neither a filter nor a members file"):
        csv_source.count(Segment("Nothing"))


def test_unknown_requested_column(csv_source: ProfileSource) -> None:
    with pytest.raises(SourceError, match="has no column 'mail' — did you mean 'email'"):
        csv_source.iter_batches(ALL, ["id", "mail"])


def test_windows_1252_far_below_an_ascii_start_is_transcoded(workspace: Path) -> None:
    lines = ["id,email,first_name"] + [f"{i},u{i}@example.com,Ann" for i in range(1, 20_001)]
    body = ("\n".join(lines) + "\n20001,zoe@example.com,Zoë\n").encode("cp1252")
    (workspace / "late.csv").write_bytes(body)
    with open_source(SourceConfig("files", "id", path="late.csv"), workspace) as src:
        assert src.preview(Segment("Z", where="id = 20001")).rows == [
            (20001, "zoe@example.com", "Zoë")]


def test_invalid_utf8_after_valid_utf8_names_the_line(workspace: Path) -> None:
    lines = ["id,first_name", "1,Zoë"] + [f"{i},Ann" for i in range(2, 30_001)]
    body = ("\n".join(lines) + "\n").encode() + b"30001,Ren\xe9e\n"
    (workspace / "mixed.csv").write_bytes(body)
    with open_source(SourceConfig("files", "id", path="mixed.csv"), workspace) as src, \
            pytest.raises(SourceError) as err:
        list(src.iter_batches(ALL))
    assert "mixed.csv: line 30002 is not valid UTF-8 — save the file as CSV UTF-8" in str(err.value)


def test_value_that_does_not_fit_the_guessed_type(workspace: Path) -> None:
    lines = ["id,score"] + [f"{i},{i}" for i in range(1, 30_001)] + ["30001,lots"]
    (workspace / "typed.csv").write_text("\n".join(lines) + "\n")
    with open_source(SourceConfig("files", "id", path="typed.csv"), workspace) as src:
        assert src.row_count() == 30_001
        with pytest.raises(SourceError) as err:
            list(src.iter_batches(ALL))
    assert ("typed.csv: line 30002, column 'score' holds 'lots', which is not BIGINT"
            in str(err.value))
