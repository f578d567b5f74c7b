"""Profile tables in SQL databases through SQLAlchemy 2: the shared query layer, and SQLite.

Identifiers are always quoted by SQLAlchemy; only a segment's filter is raw SQL, checked by
:func:`check_filter` and run inside a read-only connection/transaction. Members files are
matched in chunks of bound ``IN (...)`` parameters so memory stays bounded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import ColumnElement, quoted_name

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
from segport.sources.duck import DuckPool
from segport.sources.filters import Dialect, check_filter, filter_error
from segport.sources.members import MembersFile

Rows = list[tuple[object, ...]]


class SqlSource(ProfileSource):
    """A table in a SQLAlchemy database. Subclasses build the engine and name things."""

    dialect: Dialect

    def __init__(self, engine: Engine, table: str, schema: str | None, key: str,
                 base_dir: Path) -> None:
        self.key, self._engine, self._base_dir = key, engine, base_dir
        self._table_name, self._schema = table, schema
        self._pool = DuckPool()
        try:
            columns = self._reflect()
            self._names = [str(c["name"]) for c in columns]
            self._types = [self._type_name(c["type"]) for c in columns]
            self._table = sa.table(
                quoted_name(table, True),
                *[sa.column(quoted_name(str(c["name"]), True), c["type"]) for c in columns],
                schema=quoted_name(schema, True) if schema else None,
            )
            check_key(key, self._names, f"the {self.describe()}")
        except BaseException:
            self.close()
            raise

    # --- hooks ---------------------------------------------------------------------------

    def _message(self, exc: BaseException) -> str:
        """The first line of a database error (subclasses remove secrets)."""
        orig = getattr(exc, "orig", None)
        return first_line(str(orig if orig is not None else exc))

    def _open_error(self, exc: sa.exc.SQLAlchemyError) -> SourceError:
        return SourceError(f"Cannot read the {self.describe()} ({self._message(exc)})")

    def _missing_table(self, available: Sequence[str]) -> SourceError:
        listed = ", ".join(available) if available else "it has no tables"
        return SourceError(f"There is no table {self._qualified()!r} in {self._where()} — set "
                           f"the source's table to one of: {listed}")

    def _where(self) -> str:
        raise NotImplementedError

    # --- opening ---------------------------------------------------------------------------

    def _qualified(self) -> str:
        return f"{self._schema}.{self._table_name}" if self._schema else self._table_name

    def _reflect(self) -> list[dict[str, object]]:
        try:
            insp = sa.inspect(self._engine)
            if not insp.has_table(self._table_name, schema=self._schema):
                names = [*insp.get_table_names(self._schema), *insp.get_view_names(self._schema)]
                raise self._missing_table(sorted(names))
            return list(insp.get_columns(self._table_name, schema=self._schema))  # type: ignore[arg-type]
        except sa.exc.SQLAlchemyError as exc:
            raise self._open_error(exc) from exc

    def _type_name(self, type_: object) -> str:
        try:
            return str(type_.compile(dialect=self._engine.dialect))  # type: ignore[attr-defined]
        except Exception:  # NullType and friends: SQLite columns declared without a type
            return "ANY"

    @contextmanager
    def _connect(self, stream: bool = False, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[
            Connection]:
        try:
            conn = self._engine.connect()
        except sa.exc.SQLAlchemyError as exc:  # unreachable server, refused login, ...
            raise self._open_error(exc) from exc
        with conn:
            if stream:
                conn.execution_options(stream_results=True, yield_per=batch_size)
            with conn.begin():
                yield conn

    def _run(self, stmt: sa.Executable) -> Rows:
        try:
            with self._connect() as conn:
                return [tuple(r) for r in conn.execute(stmt)]
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(f"Reading the {self.describe()} failed ({self._message(exc)})"
                              ) from exc

    # --- the interface ---------------------------------------------------------------------

    def columns(self, samples: int = 3) -> list[ColumnInfo]:
        rows = self._run(sa.select(*self._table.c).limit(SAMPLE_ROWS))
        return collect_samples(self._names, self._types, rows, samples)

    def row_count(self) -> int:
        return int(self._run(sa.select(sa.func.count()).select_from(self._table))[0][0])  # type: ignore[call-overload]

    def _conditions(self, segment: Segment) -> list[ColumnElement[bool]]:
        if segment.where is None and segment.members is None:
            raise SourceError(f"Segment '{segment.name}' has neither a filter nor a members "
                              "file — give it one of them")
        if segment.where is None:
            return []
        where = check_filter(segment.name, segment.where, self.dialect)
        return [sa.text("(" + where.replace(":", "\\:") + ")")]  # type: ignore[list-item]

    def _member_chunks(self, segment: Segment) -> Iterator[ColumnElement[bool]] | None:
        """``column IN (...)`` per chunk of the members file, or None without one."""
        if segment.members is None:
            return None
        members = MembersFile(segment.name, segment.members, self._base_dir, self._pool,
                              columns=self._names, key=self.key)
        col = self._table.c[members.match.column]
        expr: ColumnElement[object] = col
        if members.match.casefold:
            expr = sa.func.lower(sa.func.trim(col))
        elif not isinstance(col.type, sa.String):
            expr = sa.cast(col, sa.String)
        return (expr.in_(chunk) for chunk in members.iter_chunks())

    def _segment_error(self, segment: Segment, exc: sa.exc.SQLAlchemyError) -> SourceError:
        message = self._message(exc)
        if segment.where is None or isinstance(exc, sa.exc.InterfaceError):
            return SourceError(f"Segment '{segment.name}': reading the {self.describe()} failed "
                               f"({message})")
        return filter_error(segment.name, message, self._names)

    def _select_rows(self, segment: Segment, columns: Sequence[str], conn: Connection,
                     batch_size: int, limit: int | None) -> Iterator[Rows]:
        conditions = self._conditions(segment)
        stmt = sa.select(*[self._table.c[c] for c in columns]).where(*conditions)
        if limit is not None:
            stmt = stmt.limit(limit)
        chunks = self._member_chunks(segment)
        if chunks is None:
            for part in conn.execute(stmt).partitions(batch_size):
                yield [tuple(r) for r in part]
            return
        buffer: Rows = []
        for member_in in chunks:
            for part in conn.execute(stmt.where(member_in)).partitions(batch_size):
                buffer.extend(tuple(r) for r in part)
                while len(buffer) >= batch_size:
                    yield buffer[:batch_size]
                    del buffer[:batch_size]
        if buffer:
            yield buffer

    def count(self, segment: Segment) -> int:
        conditions = self._conditions(segment)
        stmt = sa.select(sa.func.count()).select_from(self._table).where(*conditions)
        try:
            with self._connect() as conn:
                chunks = self._member_chunks(segment)
                if chunks is None:
                    return int(conn.execute(stmt).scalar_one())
                return sum(int(conn.execute(stmt.where(c)).scalar_one()) for c in chunks)
        except sa.exc.SQLAlchemyError as exc:
            raise self._segment_error(segment, exc) from exc

    def preview(self, segment: Segment, limit: int = 10) -> Preview:
        rows: Rows = []
        with closing(self._iterate(segment, self._names, max(limit, 1), limit)) as batches:
            for batch in batches:
                rows.extend(batch)
                if len(rows) >= limit:
                    break
        return Preview(tuple(self._names), rows[:limit])

    def iter_batches(self, segment: Segment, columns: Sequence[str] | None = None,
                     batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Rows]:
        wanted = list(columns) if columns is not None else self._names
        check_columns(wanted, self._names, f"The {self.describe()}")
        self._conditions(segment)  # refuse a bad filter now, not at the first batch
        return self._iterate(segment, wanted, batch_size)

    def _iterate(self, segment: Segment, columns: Sequence[str], batch_size: int,
                 limit: int | None = None) -> Iterator[Rows]:
        try:
            with self._connect(stream=True, batch_size=batch_size) as conn:
                yield from self._select_rows(segment, columns, conn, batch_size, limit)
        except sa.exc.SQLAlchemyError as exc:
            raise self._segment_error(segment, exc) from exc

    def close(self) -> None:
        self._engine.dispose()
        self._pool.close()


# --- SQLite ----------------------------------------------------------------------------------

_SQLITE_MAGIC = b"SQLite format 3\x00"
_READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                           sqlite3.SQLITE_RECURSIVE})
#: Pragmas SQLAlchemy uses to look at a table; all of them only read.
_READ_PRAGMAS = frozenset({"read_uncommitted", "table_info", "table_xinfo", "index_list",
                           "index_info", "index_xinfo", "foreign_key_list", "table_list",
                           "database_list"})


def _authorize(action: int, arg1: str | None, _arg2: str | None, _db: str | None,
               _trigger: str | None) -> int:
    """SQLite authorizer: reading only."""
    if action in _READ_ACTIONS or (action == sqlite3.SQLITE_PRAGMA and arg1 in _READ_PRAGMAS):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


class SQLiteSource(SqlSource):
    """A table in a SQLite file, opened read-only (never created)."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, label: str, table: str, key: str, base_dir: Path) -> None:
        self._label = label
        check_readable_file(path, f"The SQLite database {label}")
        with path.open("rb") as fh:
            if fh.read(16) != _SQLITE_MAGIC:
                raise SourceError(f"The file {label} is not a SQLite database — point the "
                                  "source at a .db/.sqlite file, or use kind = \"files\" for "
                                  "CSV, JSON Lines or Parquet")
        uri = path.resolve().as_uri() + "?mode=ro"

        def creator() -> sqlite3.Connection:
            con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            con.set_authorizer(_authorize)
            return con

        engine = sa.create_engine("sqlite://", creator=creator, poolclass=NullPool,
                                  hide_parameters=True)
        super().__init__(engine, table, None, key, base_dir)

    def describe(self) -> str:
        return f"SQLite table {self._table_name} in {self._label}"

    def _where(self) -> str:
        return f"the SQLite database {self._label}"

    def _open_error(self, exc: sa.exc.SQLAlchemyError) -> SourceError:
        return SourceError(f"Cannot read the SQLite database {self._label} "
                           f"({self._message(exc)}) — check that it is a readable SQLite file")
