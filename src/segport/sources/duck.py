"""Locked-down DuckDB connections: in memory, a few views, no file access beyond a list."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb

from segport.sources.common import first_line

#: DuckDB's budget: enough to sort/join members, small next to the 300 MB process ceiling.
MEMORY_LIMIT = "256MB"
THREADS = 2


def sql_string(value: str | Path) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier (DuckDB, SQLite and PostgreSQL all use double quotes)."""
    return '"' + name.replace('"', '""') + '"'


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
    except OSError:
        return (str(path), 0, 0)
    return (str(path), st.st_mtime_ns, st.st_size)


class DuckPool:
    """Locked connections, one per set of readable files, kept until :meth:`close`.

    :meth:`cursor` hands out a cursor (its own DuckDB connection to the shared in-memory
    database, safe to use from any one thread); the caller closes it. Spill files live in one
    private temp folder (created by DuckDB only when needed), removed on close.
    """

    def __init__(self) -> None:
        self._temp: Path | None = None
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._cache: dict[tuple[object, ...], tuple[duckdb.DuckDBPyConnection, dict[str, str]]] = {}

    def cursor(
        self, views: Mapping[str, str], allowed: Sequence[Path]
    ) -> duckdb.DuckDBPyConnection:
        """A cursor on a connection that may read only the ``allowed`` files, with ``views``
        (name → SELECT) defined. Raises ``duckdb.Error`` when a view cannot be bound."""
        key = tuple(_stamp(p) for p in allowed)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = (self._connect(allowed), {})
            con, defined = self._cache[key]
            for name, select in views.items():
                if defined.get(name) != select:
                    con.execute(f"CREATE OR REPLACE VIEW {ident(name)} AS {select}")
                    defined[name] = select
            return con.cursor()

    def _connect(self, allowed: Sequence[Path]) -> duckdb.DuckDBPyConnection:
        if self._temp is None:  # DuckDB creates it only if a query ever spills to disk
            self._temp = Path(tempfile.gettempdir()) / f"segport-duckdb-{uuid.uuid4().hex}"
        config = {
            "threads": THREADS,
            "memory_limit": MEMORY_LIMIT,
            "temp_directory": str(self._temp / str(next(self._counter))),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        con = duckdb.connect(":memory:", config=config)
        try:
            paths = ", ".join(sql_string(p) for p in allowed)
            con.execute(f"SET allowed_paths = [{paths}]")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        except BaseException:
            con.close()
            raise
        return con

    def close(self) -> None:
        """Close every connection and remove the spill folder."""
        with self._lock:
            for con, _ in self._cache.values():
                con.close()
            self._cache.clear()
            if self._temp is not None:
                shutil.rmtree(self._temp, ignore_errors=True)
                self._temp = None


def error_text(exc: duckdb.Error) -> str:
    """DuckDB's first error line, e.g. 'Binder Error: Referenced column "x" not found…'."""
    return first_line(str(exc))
