"""A profile table in PostgreSQL, through SQLAlchemy and psycopg 3.

The workspace holds the URL without a password; the password comes from the keyring through
a callable and goes to the driver separately. Every session is read-only
(``default_transaction_read_only=on``) and every query runs in a read-only transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from segport.errors import SourceError
from segport.sources.common import first_line, sanitize
from segport.sources.filters import Dialect
from segport.sources.sql import SqlSource

CONNECT_TIMEOUT = 10
_EXAMPLE_URL = "postgresql://user@host:5432/database"
_PART = re.compile(r'"((?:[^"]|"")*)"|([^."]+)')


def split_table(spec: str) -> tuple[str | None, str]:
    """``"schema.table"`` → (schema, table); parts may be double-quoted to keep dots."""
    parts: list[str] = []
    pos = 0
    while pos < len(spec):
        m = _PART.match(spec, pos)
        if m is None:
            raise SourceError(f"The table {spec!r} is not a valid name — write table or "
                              "schema.table")
        parts.append(m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2))
        pos = m.end()
        if pos < len(spec):
            if spec[pos] != ".":
                raise SourceError(f"The table {spec!r} is not a valid name — write table or "
                                  "schema.table")
            pos += 1
    if len(parts) == 1:
        return None, parts[0].strip()
    if len(parts) == 2:
        return parts[0].strip(), parts[1].strip()
    raise SourceError(f"The table {spec!r} has too many dots — write table or schema.table")


def parse_url(text: str) -> URL:
    """The configured URL as a psycopg URL; refuses passwords and non-PostgreSQL URLs."""
    try:
        url = make_url(text)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise SourceError(f"The PostgreSQL URL is not valid — write it as {_EXAMPLE_URL}"
                          ) from exc
    if url.password is not None:
        raise SourceError(
            "The PostgreSQL URL contains a password — remove it from the URL (write "
            f"{_EXAMPLE_URL}); segport keeps the password in the OS keyring")
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise SourceError(f"The URL of a postgres source must start with postgresql:// "
                          f"(e.g. {_EXAMPLE_URL})")
    return url.set(drivername="postgresql+psycopg")


class PostgresSource(SqlSource):
    """A table (or ``schema.table``) in a PostgreSQL database."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, table: str, key: str, base_dir: Path,
                 password: Callable[[], str | None] | None = None) -> None:
        parsed = parse_url(url)
        self._at = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
        self._user = parsed.username or ""
        schema, name = split_table(table)
        self._secret = password() if password is not None else None
        if self._secret:
            parsed = parsed.set(password=self._secret)
        engine = sa.create_engine(
            parsed,
            connect_args={"options": "-c default_transaction_read_only=on",
                          "connect_timeout": CONNECT_TIMEOUT, "application_name": "segport"},
            execution_options={"postgresql_readonly": True},
            hide_parameters=True, pool_pre_ping=True,
        )
        super().__init__(engine, name, schema, key, base_dir)

    def describe(self) -> str:
        return f"PostgreSQL table {self._qualified()} at {self._at}"

    def _where(self) -> str:
        return f"the PostgreSQL database {self._at}"

    def _message(self, exc: BaseException) -> str:
        orig = getattr(exc, "orig", None)
        text = first_line(str(orig if orig is not None else exc))
        text = re.sub(r"^connection failed: (.*? failed: )?(FATAL: +)?", "", text)
        return sanitize(text, self._secret)

    def _open_error(self, exc: sa.exc.SQLAlchemyError) -> SourceError:
        message = self._message(exc)
        low = message.lower()
        if "password authentication failed" in low or "authentication failed" in low:
            return SourceError(
                f"PostgreSQL at {self._at} refused the password for user {self._user!r} — "
                "store the right password in the keyring for this source")
        if "no password supplied" in low or "password is required" in low:
            return SourceError(
                f"PostgreSQL at {self._at} asks for a password for user {self._user!r} and "
                "none is stored — save it in the keyring for this source")
        if "connection refused" in low or "could not connect" in low:
            return SourceError(
                f"Cannot reach PostgreSQL at {self._at} (connection refused) — is the server "
                "running, and are the host and port in the URL right?")
        if "timeout" in low or "timed out" in low:
            return SourceError(f"PostgreSQL at {self._at} did not answer within "
                               f"{CONNECT_TIMEOUT} s — check the host, the port and the network")
        if re.search(r'database ".*" does not exist', message):
            return SourceError(f"PostgreSQL at {self._at}: {message} — check the database name "
                               "in the URL")
        if "permission denied" in low:
            return SourceError(f"PostgreSQL at {self._at}: {message} — grant the user "
                               f"{self._user!r} SELECT on the table (and USAGE on its schema)")
        return SourceError(f"Cannot read the {self.describe()} ({message})")
