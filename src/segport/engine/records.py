"""Plain records the ledger reads and writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Member:
    """One email the platform accepted for a scope (export, segment)."""

    email: str
    fingerprint: int
    list_id: str
    added: bool


@dataclass(frozen=True, slots=True)
class Delivered:
    """An accepted row to commit: ``added`` when segport itself put it on the list."""

    email: str
    fingerprint: int
    added: bool = True


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row the platform refused (or that failed with its batch, when ``retryable``)."""

    email: str
    reason: str
    key: str | None = None
    retryable: bool = False


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One HTTP attempt for the call log (path only: no key, no query string)."""

    method: str
    path: str
    status: int | None
    duration: float
    attempt: int = 1
    at: str | None = None


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """A committed batch outcome."""

    id: int
    run_id: int
    segment: str
    kind: str
    list_id: str | None
    sent: int
    accepted: int
    rejected: int


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Who ran which export when, on which connection, with what result."""

    id: int
    export: str
    who: str
    connection: str | None
    export_user: str | None
    started_at: str
    finished_at: str | None
    counts: Mapping[str, int] = field(default_factory=dict)
    outcome: str = "running"
    detail: str | None = None
    rejected_file: str | None = None
    segments: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    duration: float | None = None
    connection_type: str | None = None
