"""The SQLite side of ``segport.db``: connections, transactions and errors.

One write connection (WAL, ``synchronous=FULL``, tables created or upgraded on opening) serves
every write, one ``BEGIN IMMEDIATE`` transaction at a time. Reads use their own short-lived
connections that cannot write and leave no files behind, so planning never changes the
workspace. The schema version is ``meta.engine_schema``. SQLite's errors surface as a
:class:`LedgerError` that says what to do.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Self

from segport.engine.ledger_schema import migrate, schema_version
from segport.errors import SegportError


class LedgerError(SegportError):
    """``segport.db`` cannot be read or written (damaged, full disk, permissions)."""


def _trouble(path: Path, exc: sqlite3.Error) -> LedgerError:
    return LedgerError(
        f"{path}: the workspace database cannot be used ({exc}). Check the disk and the file's "
        "permissions; if the file is damaged, move it aside and segport starts a new one — "
        "but forgets what was delivered, so the next run sends everything again.")


@contextlib.contextmanager
def _translated(path: Path) -> Iterator[None]:
    """SQLite's errors as a :class:`LedgerError` that says what to do."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise _trouble(path, exc) from exc


class Store:
    """``segport.db``'s connections. Thread-safe; use :meth:`open` to write."""

    def __init__(self, path: str | Path, *, writable: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if writable:
            with _translated(self.path):
                self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        """The write connection: WAL, full sync, tables created or upgraded."""
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            # First: switching a new workspace's database to WAL needs it to itself for a
            # moment, and a reader (runs list, plan, the TUI) must make it wait, not fail.
            db.execute("PRAGMA busy_timeout = 10000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    @classmethod
    def open(cls, path: str | Path) -> Self:
        """The ledger for writing: creates or upgrades its tables."""
        return cls(path, writable=True)

    @classmethod
    def reader(cls, path: str | Path) -> Self:
        """The ledger for reading only (planning): never creates or changes anything."""
        return cls(path, writable=False)

    @property
    def writable(self) -> bool:
        return self._db is not None

    def close(self) -> None:
        """Close the write connection (checkpointing the WAL)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """A connection that cannot write (None when there is no ledger yet)."""
        if not self.path.is_file():
            yield None
            return
        with _translated(self.path), self._read_connection() as db:
            yield db

    @contextlib.contextmanager
    def _read_connection(self) -> Iterator[sqlite3.Connection | None]:
        uri = self.path.resolve().as_uri()
        try:  # rw + query_only: SQLite removes the WAL files it made when we close
            db = sqlite3.connect(f"{uri}?mode=rw", uri=True, check_same_thread=False)
        except sqlite3.OperationalError:  # a read-only workspace
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
        try:
            db.execute("PRAGMA query_only = ON")
            db.execute("PRAGMA busy_timeout = 10000")
            yield db if schema_version(db) >= 1 else None
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The write connection inside one ``BEGIN IMMEDIATE`` transaction: all or nothing."""
        if self._db is None:
            raise RuntimeError("this ledger was opened for reading; use Ledger.open to write")
        with self._lock, _translated(self.path):
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
