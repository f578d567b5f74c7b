"""Profile sources: files through DuckDB, SQLite and PostgreSQL through SQLAlchemy.

``open_source`` is the one way in: it picks the backend from the workspace's
:class:`~segport.model.SourceConfig` and returns a :class:`ProfileSource`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from segport.errors import SourceError
from segport.model import SourceConfig
from segport.sources.base import DEFAULT_BATCH_SIZE, ColumnInfo, Preview, ProfileSource
from segport.sources.common import resolve
from segport.sources.filters import check_filter

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ColumnInfo",
    "Preview",
    "ProfileSource",
    "check_filter",
    "open_source",
]


def _need(value: str | None, what: str, kind: str, example: str) -> str:
    if not value or not value.strip():
        raise SourceError(f"The {kind} source has no {what} — set it in the workspace "
                          f"(e.g. {what} = {example!r})")
    return value.strip()


def open_source(
    config: SourceConfig,
    base_dir: Path,
    password: Callable[[], str | None] | None = None,
) -> ProfileSource:
    """Open the configured profile source; relative paths are relative to ``base_dir``.

    ``password`` is called (once, when connecting) only for PostgreSQL sources. Raises
    :class:`SourceError` with a message naming the file/table and the fix.
    """
    if config.kind == "files":
        from segport.sources.files import FileSource

        path = _need(config.path, "path", "files", "profiles.csv")
        return FileSource(resolve(path, base_dir), path, config.key, base_dir)
    if config.kind == "sqlite":
        from segport.sources.sql import SQLiteSource

        path = _need(config.path, "path", "sqlite", "profiles.db")
        table = _need(config.table, "table", "sqlite", "profiles")
        return SQLiteSource(resolve(path, base_dir), path, table, config.key, base_dir)
    if config.kind == "postgres":
        from segport.sources.postgres import PostgresSource

        url = _need(config.url, "url", "postgres", "postgresql://user@host:5432/database")
        table = _need(config.table, "table", "postgres", "public.profiles")
        return PostgresSource(url, table, config.key, base_dir, password)
    raise SourceError(f"Unknown source kind {config.kind!r} — use files, sqlite or postgres")
