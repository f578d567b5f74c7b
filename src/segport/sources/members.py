"""Members files: a CSV whose first column lists the profiles of a segment.

The header names the profile column the values match — typically the key column (compared
exactly) or an email column (compared case-insensitively, ignoring surrounding spaces).
Values are read by DuckDB (any delimiter, UTF-8/UTF-16 or transcoded), de-duplicated and
sorted, so each profile matches at most once, even across the chunks SQL backends use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from segport.errors import SourceError
from segport.sources.common import check_readable_file, resolve
from segport.sources.duck import DuckPool, error_text, ident, sql_string
from segport.sources.encoding import prepare_text

#: Values per query when a SQL backend matches members with ``IN (...)``.
CHUNK = 1000


@dataclass(frozen=True)
class MemberMatch:
    """Which profile column a members file lists, and how values compare."""

    member_column: str
    column: str
    casefold: bool

    def member_value(self, expr: str) -> str:
        """SQL normalising a members-file value: trimmed, and lower-cased for emails."""
        return f"lower(trim({expr}))" if self.casefold else f"trim({expr})"

    def profile_value(self, expr: str) -> str:
        """SQL normalising a profile's text value: as is, or trimmed and lower-cased for emails."""
        return f"lower(trim({expr}))" if self.casefold else expr


class MembersFile:
    """One segment's members file, checked, with its header matched to a profile column.

    DuckDB reads it on a connection that may read the members file, the ``extra`` files and
    nothing else, with ``views`` defined (the file source adds its ``profiles`` view).
    """

    def __init__(self, segment: str, configured: str, base_dir: Path, pool: DuckPool, *,
                 columns: Sequence[str], key: str, views: Mapping[str, str] | None = None,
                 extra: Sequence[Path] = ()) -> None:
        self.segment, self.label = segment, configured
        path = resolve(configured, base_dir)
        check_readable_file(path, f"The members file {configured} of segment '{segment}'")
        self._text = prepare_text(path, configured, base_dir / ".cache")
        self._pool, self._views = pool, dict(views or {})
        self._allowed = [*extra, self._text.path]
        cur = self.cursor()
        try:
            header = [str(r[0]) for r in cur.execute(f"DESCRIBE {self._read_sql()}").fetchall()]
        except duckdb.Error as exc:
            raise self._error(exc) from exc
        finally:
            cur.close()
        self.match = self._match(header, columns, key)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor that may read this file (and the ``extra`` files); the caller closes it."""
        try:
            return self._pool.cursor(self._views, self._allowed)
        except duckdb.Error as exc:
            raise self._error(exc) from exc

    def _read_sql(self) -> str:
        return (f"SELECT * FROM read_csv({sql_string(self._text.path)}, header = true, "
                f"all_varchar = true, encoding = {sql_string(self._text.encoding)})")

    def _error(self, exc: duckdb.Error) -> SourceError:
        return SourceError(
            f"Segment '{self.segment}': the members file {self.label} cannot be read "
            f"({error_text(exc)}) — it must be a CSV file whose first line names the column")

    def _match(self, header: Sequence[str], columns: Sequence[str], key: str) -> MemberMatch:
        """The profile column named by the first header column (exactly, else ignoring case)."""
        first = header[0] if header else ""
        wanted = first.strip()
        column = wanted if wanted in columns else next(
            (c for c in columns if c.strip().lower() == wanted.lower()), None)
        if column is None:
            emails = [c for c in columns if "mail" in c.lower() and c != key]
            examples = ", ".join(repr(c) for c in [key, *emails])
            raise SourceError(
                f"Segment '{self.segment}': the members file {self.label} starts with the "
                f"column {wanted!r}, which is not a profile column — its first line must name "
                f"the column its values match, e.g. {examples}; profile columns: "
                f"{', '.join(columns)}")
        return MemberMatch(first, column, casefold="mail" in column.lower())

    def values_sql(self) -> str:
        """SELECT of the distinct normalised member values, as column ``v``."""
        value = self.match.member_value(ident(self.match.member_column))
        return (f"SELECT DISTINCT {value} AS v FROM ({self._read_sql()}) "
                f"WHERE {value} IS NOT NULL AND {value} <> ''")

    def iter_chunks(self, size: int = CHUNK) -> Iterator[list[str]]:
        """The distinct normalised values, sorted, in lists of at most ``size``."""
        cur = self.cursor()
        try:
            cur.execute(f"{self.values_sql()} ORDER BY v")
            while rows := cur.fetchmany(size):
                yield [str(r[0]) for r in rows]
        except duckdb.Error as exc:
            raise self._error(exc) from exc
        finally:
            cur.close()
