"""SendGrid's marketing data and its asynchronous import jobs (upsert and list-removal).

Emulator decision (docs/destinations.md): a job stays ``pending`` at least
``job_pending_seconds``, then processes at ``job_contacts_per_second``. Jobs run **concurrently**:
each progresses at that rate on its own, so a job of ``n`` contacts finishes
``pending + n / rate`` seconds after it was accepted whatever else is queued (SendGrid works on
several imports of an account at once). ``job_concurrency`` > 0 caps how many jobs of an account
process at once (1 = one after another); a job waiting for a slot stays ``pending``. When two jobs
touch the same contact, the one that finishes later wins.

A job's effects are applied by :meth:`Marketing.settle`, which the emulator calls from a timer
when the job is due and before every request (so nobody sees a due job unapplied, and a poll
only reads a status). Bookkeeping is O(log jobs) per request (a heap of due times); applying a
job costs about a microsecond per row: contacts are plain dicts keyed by lower-cased email,
their ids derived from a sequence number, list membership a dict per list.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from segport.sandbox.bulk import paused_gc
from segport.sandbox.common import Account, iso_time
from segport.sandbox.sendgrid_rows import RESERVED_LIMITS, Row

UNDELIVERABLE = "email address does not accept mail (mailbox unavailable)"

#: A stored contact: ``{"seq": int, "created_at": epoch, "updated_at": epoch, "fields": dict}``
#: (``fields`` in SendGrid's names, email excluded), keyed by lower-cased email.
StoredContact = dict[str, Any]


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
    rows: list[Row] = field(default_factory=list)
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
    concurrency: int = 0  # 0: every job at once


class Marketing(Account):
    """One SendGrid account's contacts, lists and jobs."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.contacts: dict[str, StoredContact] = {}
        self.lists: dict[str, MarketingList] = {}
        self.list_members: dict[str, dict[str, None]] = {}  # list id → emails, in order added
        self.jobs: dict[str, Job] = {}
        self._emails: list[str] = []  # by contact sequence number
        self._id_prefix = str(uuid.uuid4())[:24]  # + 12 hex digits of the sequence number
        self._due: list[tuple[float, int, Job]] = []
        self._slots: list[float] = []  # when each busy slot frees up (with job_concurrency)
        self._order = itertools.count()

    # --- contacts and lists ------------------------------------------------------------------
    def add_list(self, lst: MarketingList) -> None:
        """Create a list."""
        self.lists[lst.id] = lst
        self.list_members[lst.id] = {}

    def members(self, list_id: str) -> list[str]:
        """Emails on a list, in the order they were added."""
        return list(self.list_members.get(list_id, ()))

    def contact_id(self, email: str) -> str:
        """The id of a stored contact (a UUID-shaped string)."""
        return f"{self._id_prefix}{self.contacts[email]['seq']:012x}"

    def email_for_id(self, contact_id: str) -> str | None:
        """The email of the contact with this id, ``None`` when there is none."""
        prefix, digits = contact_id[:24], contact_id[24:]
        if prefix != self._id_prefix or len(digits) != 12:
            return None
        try:
            seq = int(digits, 16)
        except ValueError:
            return None
        return self._emails[seq] if 0 <= seq < len(self._emails) else None

    def details(self, email: str, origin: str) -> dict[str, Any]:
        """A stored contact as ``search/emails`` returns it."""
        stored = self.contacts[email]
        fields = stored["fields"]
        ident = self.contact_id(email)
        out: dict[str, Any] = {"id": ident, "email": email, "alternate_emails": []}
        out.update({name: "" for name in RESERVED_LIMITS})
        out.update({k: v for k, v in fields.items() if k != "custom_fields"})
        out.update({
            "list_ids": [i for i, members in self.list_members.items() if email in members],
            "segment_ids": [], "custom_fields": dict(fields.get("custom_fields", {})),
            "created_at": iso_time(stored["created_at"]),
            "updated_at": iso_time(stored["updated_at"]),
            "_metadata": {"self": f"{origin}/v3/marketing/contacts/{ident}"},
        })
        return out

    # --- jobs --------------------------------------------------------------------------------
    def enqueue(self, job: Job, timing: JobTiming) -> Job:
        """Schedule ``job``: pending, then processing at the configured rate (see module doc)."""
        start = time.monotonic() + timing.pending
        if timing.concurrency > 0:
            while len(self._slots) > timing.concurrency:  # the cap was lowered meanwhile
                heapq.heappop(self._slots)
            if len(self._slots) == timing.concurrency:
                start = max(start, heapq.heappop(self._slots))
        job.due = start + job.requested / timing.per_second
        if timing.concurrency > 0:
            heapq.heappush(self._slots, job.due)
        self.jobs[job.id] = job
        heapq.heappush(self._due, (job.due, next(self._order), job))
        return job

    def settle(self, timing: JobTiming, files: dict[str, str]) -> None:
        """Apply every job that is due, in the order they finished; error CSVs go to ``files``."""
        now = time.monotonic()
        while self._due and self._due[0][0] <= now:
            due, _, job = heapq.heappop(self._due)
            job.finished_at = time.time() - (now - due)
            with paused_gc():
                if job.job_type == "upsert":
                    self._upsert(job, timing, files)
                else:
                    self._remove(job)

    def _upsert(self, job: Job, timing: JobTiming, files: dict[str, str]) -> None:
        created = updated = 0
        failed: list[tuple[str, str, int]] = []
        stamp = job.finished_at or time.time()
        contacts, emails = self.contacts, self._emails
        prefixes = tuple(p.lower() for p in timing.prefixes)
        suspect = timing.fraction > 0
        done: list[str] = []
        for index, row in enumerate(job.rows):
            email = row.pop("email")
            if (suspect or email.startswith(prefixes)) and undeliverable(email, timing):
                failed.append((email, UNDELIVERABLE, index))
                continue
            stored = contacts.get(email)
            if stored is None:  # the row becomes the contact's fields
                contacts[email] = {"seq": len(emails), "created_at": stamp, "updated_at": stamp,
                                   "fields": row}
                emails.append(email)
                created += 1
            else:
                stored["updated_at"] = stamp
                fields = stored["fields"]
                custom = row.get("custom_fields")
                if custom is not None and "custom_fields" in fields:
                    row["custom_fields"] = {**fields["custom_fields"], **custom}
                fields.update(row)
                updated += 1
            done.append(email)
        for list_id in job.list_ids:
            if list_id in self.list_members:
                self.list_members[list_id].update(dict.fromkeys(done))
        job.rows = []  # applied: the rows now belong to the contacts
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
        members = self.list_members.get(job.list_ids[0], {})
        for contact_id in job.contact_ids:
            email = self.email_for_id(contact_id)
            if email is not None and email in members:
                del members[email]
                removed += 1
        job.results = {"requested_count": job.requested, "created_count": 0, "updated_count": 0,
                       "deleted_count": removed, "errored_count": 0}
        job.status = "completed"


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
