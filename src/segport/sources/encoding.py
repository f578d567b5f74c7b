"""Text encodings of delimited files: DuckDB reads UTF-8 and UTF-16, everything else is
transcoded once, in chunks, to a UTF-8 copy in the workspace cache."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import charset_normalizer

from segport.errors import SourceError

SAMPLE_BYTES = 64 * 1024
_CHUNK = 1 << 20
#: When single-byte encodings tie (they usually do on short samples), prefer Windows-1252:
#: what spreadsheets on Western Windows machines save as "CSV".
_PREFERRED = "cp1252"


@dataclass(frozen=True)
class TextFile:
    """The file DuckDB should read and the encoding to tell it ("utf-8" or "utf-16")."""

    path: Path
    encoding: str


def _open_raw(path: Path) -> BinaryIO:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def detect_encoding(sample: bytes, complete: bool) -> str | None:
    """The Python codec name of ``sample``'s encoding, or None when it is not text."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    matches = charset_normalizer.from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    tied = [m for m in matches if m.chaos <= best.chaos + 0.005]
    if any(_PREFERRED in m.could_be_from_charset for m in tied):
        return _PREFERRED
    return str(best.encoding)


def _readable_as_is(encoding: str, sample: bytes, gz: bool) -> str | None:
    """The DuckDB encoding name when DuckDB can read the file directly, else None."""
    if encoding == "utf-8":
        return "utf-8"
    if gz:
        return None
    if encoding == "utf-16" and not sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if encoding == "utf_16_le":
        return "utf-16"
    return None


def prepare_text(path: Path, label: str, cache_dir: Path) -> TextFile:
    """Detect ``path``'s encoding from its first 64 KB; transcode to UTF-8 when DuckDB can't
    read it directly. Raise :class:`SourceError` when the file is not decodable text."""
    try:
        with _open_raw(path) as fh:
            sample = fh.read(SAMPLE_BYTES)
            complete = len(fh.read(1)) == 0
    except (OSError, EOFError) as exc:
        raise SourceError(f"File {label} cannot be read ({exc}) — check the file") from exc
    encoding = detect_encoding(sample, complete)
    if encoding == "utf-8" and not complete and sample.isascii():
        encoding = _beyond_ascii_sample(path, label)
    if encoding is None:
        raise _not_text(label)
    gz = path.name.lower().endswith(".gz")
    direct = _readable_as_is(encoding, sample, gz)
    if direct is not None:
        return TextFile(path, direct)
    return TextFile(_cached_copy(path, label, encoding, cache_dir), "utf-8")


def _beyond_ascii_sample(path: Path, label: str) -> str | None:
    """The encoding of a file whose first 64 KB are plain ASCII: read on (in chunks) to the
    first non-UTF-8 bytes, if any, and detect the encoding from the text around them.

    Catches the common export whose first accented name (in Windows-1252) is far down.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with _open_raw(path) as fh:
            while chunk := fh.read(_CHUNK):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    window = chunk[max(0, exc.start - SAMPLE_BYTES // 2): exc.start + SAMPLE_BYTES]
                    return detect_encoding(window, complete=True)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    except (OSError, EOFError) as exc:
        raise SourceError(f"File {label} cannot be read ({exc}) — check the file") from exc
    return "utf-8"


def _not_text(label: str, detail: str = "") -> SourceError:
    why = f" ({detail})" if detail else ""
    return SourceError(
        f"File {label} is not text in an encoding segport can read{why} — save it as "
        "CSV UTF-8 (in a spreadsheet: Save As › CSV UTF-8) and try again")


def _cached_copy(path: Path, label: str, encoding: str, cache_dir: Path) -> Path:
    """A UTF-8 copy of ``path`` under ``cache_dir``, keyed by path, size and mtime."""
    stat = path.stat()
    ident = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    dest = cache_dir / f"{ident}-{stat.st_size}-{stat.st_mtime_ns}-{encoding}.csv"
    if dest.exists():
        return dest
    cache_dir.mkdir(parents=True, exist_ok=True)
    for stale in cache_dir.glob(f"{ident}-*.csv"):
        stale.unlink(missing_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with _open_raw(path) as src, tmp.open("w", encoding="utf-8", newline="") as out:
            while chunk := src.read(_CHUNK):
                out.write(decoder.decode(chunk))
            out.write(decoder.decode(b"", final=True))
        os.replace(tmp, dest)
    except UnicodeDecodeError as exc:
        raise _not_text(label, f"it starts like {encoding}, but later bytes are not valid "
                               f"{encoding}") from exc
    except (OSError, EOFError) as exc:
        raise SourceError(f"File {label} could not be converted to UTF-8 in {cache_dir} "
                          f"({exc}) — check that the workspace folder is writable") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return dest
