"""SendGrid's marketing data and its asynchronous import jobs (upsert and list-removal).

A job is ``pending`` at least ``job_pending_seconds``, then takes ``n / job_contacts_per_second``
seconds; an account's jobs run one after another. Nothing runs in the background: a job's effects
are applied by :meth:`Marketing.settle` the first time anyone looks after it finished.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from segport.sandbox.common import Account, iso_time

RESERVED_LIMITS: dict[str, int | None] = {
    "first_name": 50, "last_name": 50, "country": 50, "state_province_region": 50, "city": 60,
    "postal_code": None, "address_line_1": 100, "address_line_2": 100,
}
IDENTIFIERS = ("email", "phone_number_id", "external_id", "anonymous_id")
UNDELIVERABLE = "email address does not accept mail (mailbox unavailable)"


@dataclass
class Contact:
    """A marketing contact; ``email`` is stored lower-case."""

    id: str
    email: str
    created_at: float
    updated_at: float
    fields: dict[str, Any] = field(default_factory=dict)
    list_ids: dict[str, None] = field(default_factory=dict)

    def details(self, origin: str) -> dict[str, Any]:
        """The contact as ``search/emails`` returns it."""
        out: dict[str, Any] = {"id": self.id, "email": self.email, "alternate_emails": []}
        out.update({name: "" for name in RESERVED_LIMITS})
        out.update({k: v for k, v in self.fields.items() if k != "custom_fields"})
        out.update({
            "list_ids": list(self.list_ids), "segment_ids": [],
            "custom_fields": dict(self.fields.get("custom_fields", {})),
            "created_at": iso_time(self.created_at), "updated_at": iso_time(self.updated_at),
            "_metadata": {"self": f"{origin}/v3/marketing/contacts/{self.id}"},
        })
        return out


@dataclass
class MarketingList:
    """A marketing list."""

    id: str
    name: str


@dataclass
class Job:
    """An import job: ``rows`` to upsert into ``list_ids``, or ``contact_ids`` to take off one."""

    id: str
    job_type: Literal["upsert", "delete"]
    requested: int
    started_at: float  # epoch
    due: float  # monotonic
    origin: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    list_ids: list[str] = field(default_factory=list)
    contact_ids: list[str] = field(default_factory=list)
    status: str = "pending"
    results: dict[str, Any] = field(default_factory=dict)
    finished_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The job as ``GET /v3/marketing/contacts/imports/{id}`` returns it."""
        results = self.results or {"requested_count": self.requested, "created_count": 0,
                                   "updated_count": 0, "deleted_count": 0, "errored_count": 0}
        out: dict[str, Any] = {"id": self.id, "status": self.status, "job_type": self.job_type,
                               "results": results, "started_at": iso_time(self.started_at)}
        if self.finished_at is not None:
            out["finished_at"] = iso_time(self.finished_at)
        return out


@dataclass
class JobTiming:
    """How import jobs are timed and which addresses fail (from the emulator's config)."""

    pending: float
    per_second: float
    prefixes: tuple[str, ...]
    fraction: float


class Marketing(Account):
    """One SendGrid account's contacts, lists and jobs."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.contacts: dict[str, Contact] = {}
        self.by_id: dict[str, Contact] = {}
        self.lists: dict[str, MarketingList] = {}
        self.jobs: dict[str, Job] = {}
        self._queue: list[Job] = []
        self._free_at = 0.0

    def enqueue(self, job: Job, timing: JobTiming) -> Job:
        """Schedule ``job`` after the account's earlier jobs."""
        now = time.monotonic()
        start = max(now + timing.pending, self._free_at)
        job.due = start + job.requested / timing.per_second
        self._free_at = job.due
        self.jobs[job.id] = job
        self._queue.append(job)
        return job

    def settle(self, timing: JobTiming, files: dict[str, str]) -> None:
        """Apply every job that is due (in order); error CSVs go to ``files`` by token."""
        now = time.monotonic()
        while self._queue and self._queue[0].due <= now:
            job = self._queue.pop(0)
            job.finished_at = time.time() - (now - job.due)
            if job.job_type == "upsert":
                self._upsert(job, timing, files)
            else:
                self._remove(job)

    def _upsert(self, job: Job, timing: JobTiming, files: dict[str, str]) -> None:
        created = updated = 0
        failed: list[tuple[str, str, int]] = []
        stamp = job.finished_at or time.time()
        for index, row in enumerate(job.rows):
            email = row["email"]
            if undeliverable(email, timing):
                failed.append((email, UNDELIVERABLE, index))
                continue
            contact = self.contacts.get(email)
            if contact is None:
                contact = Contact(str(uuid.uuid4()), email, stamp, stamp)
                self.contacts[email] = contact
                self.by_id[contact.id] = contact
                created += 1
            else:
                contact.updated_at = stamp
                updated += 1
            custom = row.get("custom_fields")
            plain = {k: v for k, v in row.items() if k not in ("email", "custom_fields")}
            contact.fields.update(plain)
            if custom:
                old = contact.fields.get("custom_fields", {})
                contact.fields["custom_fields"] = {**old, **custom}
            for list_id in job.list_ids:
                if list_id in self.lists:
                    contact.list_ids[list_id] = None
        job.results = {"requested_count": job.requested, "created_count": created,
                       "updated_count": updated, "deleted_count": 0, "errored_count": len(failed)}
        if failed:
            token = uuid.uuid4().hex
            files[token] = errors_csv(failed)
            job.results["errors_url"] = f"{job.origin}/_sandbox/files/{token}.csv"
        job.status = ("completed" if not failed
                      else "failed" if len(failed) == job.requested else "errored")

    def _remove(self, job: Job) -> None:
        removed = 0
        for contact_id in job.contact_ids:
            contact = self.by_id.get(contact_id)
            if contact is not None and job.list_ids[0] in contact.list_ids:
                del contact.list_ids[job.list_ids[0]]
                removed += 1
        job.results = {"requested_count": job.requested, "created_count": 0, "updated_count": 0,
                       "deleted_count": removed, "errored_count": 0}
        job.status = "completed"

    def members(self, list_id: str) -> list[Contact]:
        """Contacts on a list, in creation order."""
        return [c for c in self.contacts.values() if list_id in c.list_ids]


def undeliverable(email: str, timing: JobTiming) -> bool:
    """Whether a syntactically valid address ends up in the job's errors (deterministic)."""
    local = email.partition("@")[0]
    if any(local.startswith(p.lower()) for p in timing.prefixes):
        return True
    if timing.fraction <= 0:
        return False
    digest = int.from_bytes(hashlib.sha256(email.encode()).digest()[:4], "big")
    return digest / 2**32 < timing.fraction


def errors_csv(rows: list[tuple[str, str, int]]) -> str:
    """The errors file: a header, then ``email,reason,index`` (index in the request's contacts)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "reason", "index"])
    writer.writerows(rows)
    return out.getvalue()
