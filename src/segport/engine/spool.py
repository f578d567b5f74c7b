"""A finished plan: counts, samples, refusals — and the work itself, spooled, for apply.

The work lists live in the plan's private DuckDB (in memory, spilling to a temporary folder
outside the workspace past its memory limit; see :mod:`segport.engine.work`), never as a million
Python objects: apply streams them in batches with :meth:`Plan.changes`. Close the plan (or use
it as a context manager) to drop the spool.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import duckdb

from segport.engine.canon import sql_fingerprint
from segport.model import Export

if TYPE_CHECKING:  # imported when apply asks for work: planning never loads the HTTP stack
    from segport.destinations.values import Contact

ChangeKind = Literal["add", "update", "remove"]
#: Codes of the ``cls.kind`` column in the spool.
KIND_CODES: dict[str, int] = {"unchanged": 0, "add": 1, "update": 2, "duplicate": 3}


@dataclass(frozen=True)
class Counts:
    """Rows per outcome, for one segment or the whole export."""

    read: int = 0
    invalid: int = 0
    duplicates: int = 0
    adds: int = 0
    updates: int = 0
    unchanged: int = 0
    removals: int = 0

    @property
    def members(self) -> int:
        """Valid, unique members: what the list holds after the run."""
        return self.adds + self.updates + self.unchanged

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Sample:
    """One example row: its key, its (normalised, or raw when invalid) email, and a detail."""

    key: str | None
    email: str | None
    detail: str | None = None


@dataclass(frozen=True)
class SegmentPlan:
    """One segment's plan. ``list_id`` is None when the list is found by name at apply."""

    name: str
    counts: Counts
    list_id: str | None
    list_size: int
    samples: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    """Why apply must not run: ``cap`` or ``mass_removal``."""

    kind: Literal["cap", "mass_removal"]
    message: str


@dataclass(frozen=True, slots=True)
class Change:
    """One row of work: a contact to add/update (with its fingerprint) or an email to remove."""

    kind: ChangeKind
    segment: str
    key: str | None
    contact: Contact
    fingerprint: int


@dataclass(frozen=True, slots=True)
class Problem:
    """A row kept back locally: invalid or missing email, or a duplicate."""

    segment: str
    key: str | None
    value: str | None
    reason: str


class Plan:
    """What a run would do. Built by :func:`segport.engine.plan.plan_export`."""

    def __init__(self, export: Export, segments: tuple[SegmentPlan, ...],
                 refusals: tuple[Refusal, ...], cap: int, cap_scope: str, duration: float,
                 con: duckdb.DuckDBPyConnection, spool: Path, field_names: tuple[str, ...],
                 ) -> None:
        self.export, self.segments, self.refusals = export, segments, refusals
        self.cap, self.cap_scope, self.duration = cap, cap_scope, duration
        self._con: duckdb.DuckDBPyConnection | None = con
        self._spool, self._fields = spool, field_names
        self._index = {s.name: i for i, s in enumerate(segments)}

    @property
    def totals(self) -> Counts:
        total = Counts()
        for s in self.segments:
            total = total + s.counts
        return total

    @property
    def unique_members(self) -> int:
        """Valid emails, unique per list, over all the export's lists (checked against the cap)."""
        return self.totals.members

    @property
    def refusal(self) -> str | None:
        """Every refusal's message, or None when apply may run."""
        return " ".join(r.message for r in self.refusals) or None

    def segment(self, name: str) -> SegmentPlan:
        return self.segments[self._index[name]]

    def summary(self) -> dict[str, object]:
        """The plan as JSON-able data (for ``--json``)."""
        return {
            "export": self.export.name, "mode": self.export.mode,
            "totals": self.totals.as_dict(), "cap": self.cap, "cap_scope": self.cap_scope,
            "refusals": [{"kind": r.kind, "message": r.message} for r in self.refusals],
            "segments": [{"name": s.name, "list_id": s.list_id, "list_size": s.list_size,
                          **s.counts.as_dict(),
                          "samples": {k: [vars(x) for x in v] for k, v in s.samples.items()}}
                         for s in self.segments],
            "duration": round(self.duration, 3),
        }

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise RuntimeError("the plan is closed")
        return self._con.cursor()

    def add_emails(self, segment: str, batch_size: int = 1000) -> Iterator[list[str]]:
        """The normalised emails of the segment's adds, ``batch_size`` at a time."""
        cur = self._cursor()
        try:
            cur.execute("SELECT r.email FROM cls c JOIN rows r ON r.ord = c.ord "
                        "WHERE c.seg = ? AND c.kind = ? ORDER BY c.ord",
                        [self._index[segment], KIND_CODES["add"]])
            while rows := cur.fetchmany(batch_size):
                yield [r[0] for r in rows]
        finally:
            cur.close()

    def changes(self, segment: str, kind: ChangeKind, batch_size: int = 1000
                ) -> Iterator[list[Change]]:
        """The segment's adds, updates or removals in source order, ``batch_size`` at a time."""
        from segport.destinations.values import Contact

        si = self._index[segment]
        cols = {n: f"r.f_{n}" for n in self._fields}
        if kind == "remove":
            sql = "SELECT NULL, email, fp FROM removals WHERE seg = ? ORDER BY email"
            args: list[object] = [si]
        else:
            picked = "".join(f", {c}" for c in cols.values())
            sql = (f"SELECT r.key, r.email, coalesce(r.fp, {sql_fingerprint(cols)}){picked} "
                   "FROM cls c JOIN rows r ON r.ord = c.ord WHERE c.seg = ? AND c.kind = ? "
                   "ORDER BY c.ord")
            args = [si, KIND_CODES[kind]]
        cur = self._cursor()
        try:
            cur.execute(sql, args)
            names = self._fields if kind != "remove" else ()
            while rows := cur.fetchmany(batch_size):
                yield [Change(kind, segment, r[0],
                              Contact(r[1], **dict(zip(names, r[3:], strict=True))), r[2])
                       for r in rows]
        finally:
            cur.close()

    def problems(self, segment: str | None = None, batch_size: int = 10_000
                 ) -> Iterator[list[Problem]]:
        """Rows kept back (invalid, duplicates) with reasons, by segment then source order."""
        names = [s.name for s in self.segments]
        where, args = ("WHERE seg = ?", [self._index[segment]]) if segment else ("", [])
        cur = self._cursor()
        try:
            cur.execute(f"SELECT seg, key, value, reason FROM problems {where} "
                        "ORDER BY seg, ord", args)
            while rows := cur.fetchmany(batch_size):
                yield [Problem(names[s], k, v, r) for s, k, v, r in rows]
        finally:
            cur.close()

    def close(self) -> None:
        """Drop the spool."""
        if self._con is not None:
            self._con.close()
            self._con = None
        shutil.rmtree(self._spool, ignore_errors=True)

    def __enter__(self) -> Plan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()
