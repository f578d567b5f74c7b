"""Profile files — CSV, JSON Lines, Parquet — queried in place by DuckDB.

The file is exposed as a view named ``profiles`` on an in-memory DuckDB connection that may
read that file only (external access off, configuration locked), so a segment filter can
read nothing else and write nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import duckdb

from segport.errors import SourceError
from segport.model import Segment
from segport.sources.base import DEFAULT_BATCH_SIZE, ColumnInfo, Preview, ProfileSource
from segport.sources.common import (
    SAMPLE_ROWS,
    check_columns,
    check_key,
    check_readable_file,
    collect_samples,
    first_line,
)
from segport.sources.duck import DuckPool, error_text, ident, sql_string
from segport.sources.encoding import prepare_text
from segport.sources.filters import check_filter, filter_error
from segport.sources.members import MembersFile

if TYPE_CHECKING:
    import pyarrow as pa

FileFormat = Literal["csv", "json", "parquet"]
_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".csv.gz": "csv", ".tsv.gz": "csv",
    ".txt.gz": "csv", ".jsonl": "json", ".ndjson": "json", ".jsonl.gz": "json",
    ".ndjson.gz": "json", ".parquet": "parquet", ".pq": "parquet",
}
_LABELS = {"csv": "CSV", "json": "JSON Lines", "parquet": "Parquet"}
_FIXES = {
    "csv": "save it as comma-, semicolon- or tab-separated text whose first line names the columns",
    "json": "each line must hold one JSON object, e.g. {\"id\": 1, \"email\": \"a@example.com\"}",
    "parquet": "write it again as a Parquet file",
}
_FILE_PROBLEMS = ("CSV Error", "Malformed JSON", "Invalid unicode", "magic bytes", "Parquet",
                  "IO Error", "sniffing")
_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CONVERT = re.compile(r'converting column "([^"]+)"\. Could not convert string "([^"]*)" '
                      r"to '([^']+)'")


def file_problem(text: str, label: str) -> str | None:
    """A plain account of a DuckDB error about the file's content (not the query), or None."""
    line = _LINE.search(text)
    where = f"line {line.group(1)}" if line else "a line"
    if "Invalid unicode" in text:
        return (f"The profile file {label}: {where} is not valid UTF-8 — save the file as "
                "CSV UTF-8 (or in one encoding throughout)")
    if conv := _CONVERT.search(text):
        column, value, type_ = conv.groups()
        return (f"The profile file {label}: {where}, column {column!r} holds {value!r}, which "
                f"is not {type_} like the rows before it — correct the value (segport guesses "
                "each column's type from the first rows)")
    if line:
        return (f"The profile file {label}: {where} cannot be read ({first_line(text)}) — fix "
                "that line; quote values that contain the delimiter")
    return None


def file_format(name: str) -> FileFormat | None:
    """The format a file name's extension stands for, or None."""
    lower = name.lower()
    for ext in sorted(_EXTENSIONS, key=len, reverse=True):
        if lower.endswith(ext):
            return _EXTENSIONS[ext]
    return None


class FileSource(ProfileSource):
    """Profiles in one CSV / JSON Lines / Parquet file."""

    def __init__(self, path: Path, label: str, key: str, base_dir: Path) -> None:
        fmt = file_format(path.name)
        if fmt is None:
            raise SourceError(
                f"The profile file {label} has an extension segport does not read — use "
                f"{', '.join(_EXTENSIONS)}")
        check_readable_file(path, f"The profile file {label}")
        self.key, self._label, self._format, self._base_dir = key, label, fmt, base_dir
        self._pool, self._file = DuckPool(), path
        try:
            self._file, select = self._prepare(path)
            self._views = {"profiles": select}
            described = self._run("DESCRIBE profiles")
        except duckdb.Error as exc:
            self._pool.close()
            raise self._file_error(exc) from exc
        except BaseException:
            self._pool.close()
            raise
        self._names = [str(r[0]) for r in described]
        self._types = [str(r[1]) for r in described]
        try:
            check_key(key, self._names, f"the {self.describe()}")
        except SourceError:
            self.close()
            raise

    # --- opening ---------------------------------------------------------------------------

    def _prepare(self, path: Path) -> tuple[Path, str]:
        """The file DuckDB reads and the SELECT that reads it."""
        if self._format == "parquet":
            return path, f"SELECT * FROM read_parquet({sql_string(path)})"
        if self._format == "json":
            return path, (f"SELECT * FROM read_json({sql_string(path)}, "
                          "format = 'newline_delimited')")
        text = prepare_text(path, self._label, self._base_dir / ".cache")
        options = f"encoding = {sql_string(text.encoding)}"
        con = self._pool.cursor({}, [text.path])
        try:
            delim, has_header, cols = con.execute(
                f"SELECT Delimiter, HasHeader, Columns FROM sniff_csv({sql_string(text.path)}, "
                f"{options})").fetchone() or (",", True, [])
            if not has_header:
                raise SourceError(
                    f"The profile file {self._label} has no header line — its first line must "
                    "name the columns, e.g. id,email,country")
            if len(cols) == 1:
                self._check_single_column(con, text.path, str(cols[0]["name"]), options)
        finally:
            con.close()
        return text.path, (f"SELECT * FROM read_csv({sql_string(text.path)}, header = true, "
                           f"delim = {sql_string(delim)}, {options})")

    def _check_single_column(
        self, con: duckdb.DuckDBPyConnection, path: Path, header: str, options: str
    ) -> None:
        """A lone column whose name holds a delimiter means rows of uneven width: say where."""
        delim = next((d for d in ",;\t|" if d in header), None)
        if delim is None:
            return
        try:
            con.execute(f"SELECT count(*) FROM read_csv({sql_string(path)}, header = true, "
                        f"delim = {sql_string(delim)}, strict_mode = true, {options})").fetchall()
        except duckdb.Error as exc:
            line = _LINE.search(str(exc))
            where = f" (line {line.group(1)})" if line else ""
            raise SourceError(
                f"The profile file {self._label} does not have the same number of fields on "
                f"every line{where} — fix those lines, or quote values that contain "
                f"{delim!r}") from exc

    def _file_error(self, exc: duckdb.Error) -> SourceError:
        text = str(exc).replace(str(self._file), self._label)
        return SourceError(file_problem(text, self._label) or (
            f"The profile file {self._label} is not valid {_LABELS[self._format]} "
            f"({first_line(text)}) — {_FIXES[self._format]}"))

    # --- queries ---------------------------------------------------------------------------

    def describe(self) -> str:
        return f"{_LABELS[self._format]} file {self._label}"

    def _run(self, sql: str) -> list[tuple[object, ...]]:
        """Run ``sql`` on the profiles view; DuckDB errors are the file's (raw, for __init__)."""
        cur = self._pool.cursor(self._views, [self._file])
        try:
            return cur.execute(sql).fetchall()
        finally:
            cur.close()

    def _read(self, sql: str) -> list[tuple[object, ...]]:
        try:
            return self._run(sql)
        except duckdb.Error as exc:
            raise self._file_error(exc) from exc

    def columns(self, samples: int = 3) -> list[ColumnInfo]:
        rows = self._read(f"SELECT * FROM profiles LIMIT {SAMPLE_ROWS}")
        return collect_samples(self._names, self._types, rows, samples)

    def row_count(self) -> int:
        return int(self._read("SELECT count(*) FROM profiles")[0][0])  # type: ignore[call-overload]

    def _error(self, segment: Segment, exc: duckdb.Error) -> SourceError:
        message = error_text(exc)
        if any(p in message for p in _FILE_PROBLEMS):
            return self._file_error(exc)
        if segment.where is None:
            return SourceError(f"Segment '{segment.name}': reading the {self.describe()} failed "
                               f"({message})")
        return filter_error(segment.name, message, self._names)

    @contextmanager
    def _segment_sql(self, segment: Segment, select: str, tail: str = "") -> Iterator[
            tuple[duckdb.DuckDBPyConnection, str]]:
        """A cursor, and ``SELECT {select} FROM profiles WHERE <segment> {tail}`` to run on it."""
        conditions, members = [], None
        if segment.where is not None:
            conditions.append(f"({check_filter(segment.name, segment.where, 'duckdb')})")
        if segment.members is not None:
            members = MembersFile(segment.name, segment.members, self._base_dir, self._pool,
                                  columns=self._names, key=self.key, views=self._views,
                                  extra=[self._file])
            value = members.match.profile_value(f"CAST({ident(members.match.column)} AS VARCHAR)")
            conditions.append(f"{value} IN ({members.values_sql()})")
        if not conditions:
            raise SourceError(f"Segment '{segment.name}' has neither a filter nor a members "
                              "file — give it one of them")
        try:
            cur = members.cursor() if members else self._pool.cursor(self._views, [self._file])
        except duckdb.Error as exc:
            raise self._error(segment, exc) from exc
        try:
            yield cur, f"SELECT {select} FROM profiles WHERE {' AND '.join(conditions)} {tail}"
        finally:
            cur.close()

    @contextmanager
    def _query(self, segment: Segment, select: str, tail: str = "") -> Iterator[
            duckdb.DuckDBPyConnection]:
        """A cursor on which ``SELECT {select} FROM profiles WHERE <segment> {tail}`` ran."""
        with self._segment_sql(segment, select, tail) as (cur, sql):
            try:
                cur.execute(sql)
            except duckdb.Error as exc:
                raise self._error(segment, exc) from exc
            yield cur

    def count(self, segment: Segment) -> int:
        with self._query(segment, "count(*)") as cur:
            try:
                return int(cur.fetchall()[0][0])  # type: ignore[call-overload]
            except duckdb.Error as exc:
                raise self._error(segment, exc) from exc

    def preview(self, segment: Segment, limit: int = 10) -> Preview:
        with self._query(segment, "*", f"LIMIT {int(limit)}") as cur:
            try:
                return Preview(tuple(self._names), cur.fetchall())
            except duckdb.Error as exc:
                raise self._error(segment, exc) from exc

    def iter_batches(
        self,
        segment: Segment,
        columns: Sequence[str] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[list[tuple[object, ...]]]:
        wanted = list(columns) if columns is not None else self._names
        check_columns(wanted, self._names, f"The {self.describe()}")
        if segment.where is not None:
            check_filter(segment.name, segment.where, "duckdb")
        select = ", ".join(ident(c) for c in wanted)
        return self._stream(segment, select, batch_size)

    def iter_arrow(
        self, segment: Segment, columns: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        """The segment's rows, ``columns`` only, as Arrow record batches (no Python tuples)."""
        check_columns(columns, self._names, f"The {self.describe()}")
        if segment.where is not None:
            check_filter(segment.name, segment.where, "duckdb")
        return self._arrow(segment, ", ".join(ident(c) for c in columns), batch_size)

    def _arrow(self, segment: Segment, select: str, batch_size: int
               ) -> Iterator[pa.RecordBatch]:
        with self._segment_sql(segment, select) as (cur, sql):
            try:
                for batch in cur.sql(sql).to_arrow_reader(batch_size):
                    if batch.num_rows:
                        yield batch
            except duckdb.Error as exc:
                raise self._error(segment, exc) from exc

    def _stream(
        self, segment: Segment, select: str, batch_size: int
    ) -> Iterator[list[tuple[object, ...]]]:
        with self._query(segment, select) as cur:
            try:
                while rows := cur.fetchmany(batch_size):
                    yield rows
            except duckdb.Error as exc:
                raise self._error(segment, exc) from exc

    def close(self) -> None:
        self._pool.close()
