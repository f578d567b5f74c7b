"""The one interface every profile source offers: columns, counts, previews, streamed batches."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

from segport.model import Segment

#: Rows per streamed batch: big enough to amortise, small enough for bounded memory.
DEFAULT_BATCH_SIZE = 10_000


@dataclass(frozen=True)
class ColumnInfo:
    """A profile column: its name, its type as the source reports it, a few sample values."""

    name: str
    type: str
    samples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preview:
    """The first rows of a segment."""

    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]


class ProfileSource(ABC):
    """A table of profiles, one row per profile, identified by the ``key`` column.

    Every method that takes a :class:`Segment` checks its filter first (read-only
    expression, known columns) and raises :class:`segport.errors.SourceError` naming the
    segment and what to fix. Nothing here ever writes to the source.
    """

    key: str

    @abstractmethod
    def describe(self) -> str:
        """A short human description ("Parquet file profiles.parquet")."""

    @abstractmethod
    def columns(self, samples: int = 3) -> list[ColumnInfo]:
        """The profile columns with their types and up to ``samples`` distinct sample values."""

    @abstractmethod
    def row_count(self) -> int:
        """How many profiles the source holds."""

    @abstractmethod
    def count(self, segment: Segment) -> int:
        """How many profiles are members of ``segment``."""

    @abstractmethod
    def preview(self, segment: Segment, limit: int = 10) -> Preview:
        """The first ``limit`` members of ``segment`` (all columns)."""

    @abstractmethod
    def iter_batches(
        self,
        segment: Segment,
        columns: Sequence[str] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[list[tuple[object, ...]]]:
        """Stream the members of ``segment`` as lists of row tuples, in ``columns`` order
        (default: all columns), never holding more than about one batch in memory."""

    @abstractmethod
    def close(self) -> None:
        """Release connections and files."""

    def __enter__(self) -> ProfileSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
