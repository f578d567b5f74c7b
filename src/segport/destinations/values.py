"""The values destinations speak in: limits, lists, contacts, per-row outcomes, batches."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from segport.destinations.http import RequestRecord
from segport.engine.emails import normalise  # pure functions, no engine machinery
from segport.model import DataCenter, DestinationType


@dataclass(frozen=True)
class Limits:
    """What a platform accepts per call and per second, as the client honours it."""

    max_batch_count: int
    max_batch_bytes: int
    requests_per_s: float
    burst: int
    max_in_flight: int
    cap: int
    cap_scope: str
    remove_batch_count: int = 1

    @property
    def ceiling_per_s(self) -> float:
        """Contacts per second at full batches and the full request rate."""
        return self.max_batch_count * self.requests_per_s


@dataclass(frozen=True)
class ListRef:
    """A list on the platform. Ids are strings for every platform (Iterable's are ints)."""

    id: str
    name: str
    size: int | None = None


@dataclass(frozen=True)
class AccountInfo:
    """What Connect learned from the key: account, lists visible, scopes and warnings."""

    destination: DestinationType
    base_url: str
    account: str | None = None
    data_center: DataCenter | None = None
    lists: tuple[ListRef, ...] = ()
    scopes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    """One profile as segport sends it: email plus mapped fields in segport's names."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    postal_code: str | None = None

    def fields(self) -> dict[str, str]:
        """The mapped fields that have a value, email excluded."""
        return {name: v for name in OPTIONAL_FIELDS if (v := getattr(self, name)) not in (None, "")}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Contact:
        """From a row keyed by segport field names; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: (None if v is None else str(v)) for k, v in values.items() if k in known})


OPTIONAL_FIELDS = tuple(f.name for f in fields(Contact) if f.name != "email")


class Batch(list[Contact]):
    """Contacts that fit one request, each with its JSON already encoded (once)."""

    def __init__(self, contacts: list[Contact] | None = None,
                 encoded: list[bytes] | None = None, *, oversize: bool = False) -> None:
        super().__init__(contacts or [])
        self.encoded: list[bytes] = encoded or []
        self.oversize = oversize


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one row. ``retryable``: not the row's fault (the batch failed)."""

    email: str
    accepted: bool
    reason: str | None = None
    retryable: bool = False


@dataclass(frozen=True)
class PendingJob:
    """An asynchronous platform job (SendGrid) that must finish before rows count as done."""

    job_id: str
    kind: str
    emails: tuple[str, ...]


@dataclass
class BatchResult:
    """Per-row outcomes of one call, the HTTP attempts it took, and any unfinished jobs."""

    outcomes: list[RowOutcome] = field(default_factory=list)
    records: list[RequestRecord] = field(default_factory=list)
    jobs: list[PendingJob] = field(default_factory=list)

    @property
    def confirmed(self) -> bool:
        """True when no platform job is still outstanding."""
        return not self.jobs

    @property
    def accepted(self) -> list[str]:
        """Emails the platform acknowledged."""
        return [o.email for o in self.outcomes if o.accepted]

    @property
    def rejected(self) -> list[RowOutcome]:
        """Rows the platform refused (or that failed)."""
        return [o for o in self.outcomes if not o.accepted]

    def extend(self, other: BatchResult) -> None:
        """Merge another result into this one."""
        self.outcomes.extend(other.outcomes)
        self.records.extend(other.records)
        self.jobs.extend(other.jobs)


def failed(emails: Iterable[str], reason: str, *, retryable: bool = True) -> list[RowOutcome]:
    """The same not-accepted outcome for every email."""
    return [RowOutcome(e, False, reason, retryable) for e in emails]


_ROW_INDEX = re.compile(r"(?:contacts|subscribers|emails)\[(\d+)\]")


def bad_rows(body: Any, count: int) -> dict[int, str]:
    """Row index → reason, from a 400 that names rows (``contacts[3].email``)."""
    found: dict[int, str] = {}
    errors = body.get("errors") if isinstance(body, dict) else None
    items = list(errors) if isinstance(errors, list) else []
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        items.append(body)  # Autopilot: {"error", "message": "contacts[3].Email is not valid"}
    for err in items:
        if not isinstance(err, dict):
            continue
        text = f"{err.get('field') or ''} {err.get('message') or ''}"
        for match in _ROW_INDEX.finditer(text):
            index = int(match.group(1))
            if 0 <= index < count:
                found.setdefault(index, str(err.get("message") or "rejected"))
    return found


def same_email(text: str) -> str:
    """An email as a platform spells it, normalised as segport's own (to compare with them)."""
    return normalise(text) or ""
