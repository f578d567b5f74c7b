"""Small helpers every backend shares: paths, file checks, samples, column checks, error text."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from segport.errors import SourceError
from segport.sources.base import ColumnInfo
from segport.sources.filters import unknown_column_hint

#: Rows read to collect sample values for :meth:`ProfileSource.columns`.
SAMPLE_ROWS = 1000
_SAMPLE_WIDTH = 80


def resolve(path: str, base_dir: Path) -> Path:
    """``path`` as an absolute path; relative paths are relative to ``base_dir``."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base_dir / p)


def check_readable_file(path: Path, subject: str) -> None:
    """Raise :class:`SourceError` unless ``path`` is a readable, non-empty regular file.

    ``subject`` names the file in messages, e.g. "The profile file profiles.csv".
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SourceError(f"{subject} was not found ({path}) — check the path; "
                          "relative paths are relative to the workspace folder") from None
    except OSError as exc:
        raise SourceError(f"{subject} cannot be read ({exc.strerror}: {path}) — make it and its "
                          "folders readable by the user running segport") from None
    if stat.S_ISDIR(info.st_mode):
        raise SourceError(f"{subject} is a folder, not a file — give the path of the file itself")
    size = info.st_size
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise SourceError(f"{subject} cannot be read ({exc.strerror}) — "
                          "make it readable by the user running segport") from None
    if size == 0:
        raise SourceError(f"{subject} is empty (0 bytes) — write the data into it again")


def first_line(message: str) -> str:
    """The first non-empty line of a database error, without trailing noise."""
    for line in message.splitlines():
        if line.strip():
            return line.strip().rstrip(".! ")
    return message.strip() or "unknown error"


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")


def sanitize(message: str, secret: str | None = None) -> str:
    """Remove a password from error text: the literal secret and any ``user:pw@`` in a URL."""
    text = _URL_PASSWORD.sub(r"\1:***@", message)
    if secret:
        text = text.replace(secret, "***")
    return text


def collect_samples(
    names: Sequence[str], types: Sequence[str], rows: Iterable[Sequence[object]], samples: int
) -> list[ColumnInfo]:
    """ColumnInfo per column with up to ``samples`` distinct non-null values, first seen first."""
    found: list[list[str]] = [[] for _ in names]
    for row in rows:
        for i, value in enumerate(row):
            if value is None or len(found[i]) >= samples:
                continue
            text = str(value)
            if len(text) > _SAMPLE_WIDTH:
                text = text[: _SAMPLE_WIDTH - 1] + "…"
            if text not in found[i]:
                found[i].append(text)
    return [ColumnInfo(n, t, tuple(s)) for n, t, s in zip(names, types, found, strict=True)]


def check_key(key: str, columns: Sequence[str], where: str) -> None:
    """Raise :class:`SourceError` when the configured key column is not in ``columns``.

    An empty ``key`` means "not chosen yet" (a source being set up): nothing to check.
    """
    if not key:
        return
    if key not in columns:
        raise SourceError(
            f"The key column {key!r} is not in {where} — set the source's key to one of its "
            f"columns; {unknown_column_hint(key, columns)}"
        )


def check_columns(requested: Sequence[str], columns: Sequence[str], where: str) -> None:
    """Raise :class:`SourceError` naming any requested column that ``columns`` lacks."""
    missing = [c for c in requested if c not in columns]
    if missing:
        raise SourceError(
            f"{where} has no column {missing[0]!r} — {unknown_column_hint(missing[0], columns)}"
        )
