"""SendGrid Marketing Campaigns: asynchronous upserts (202 + job) confirmed by polling."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from segport.destinations.base import (
    AccountInfo,
    Batch,
    BatchResult,
    Contact,
    Destination,
    Limits,
    ListRef,
    PendingJob,
    RowOutcome,
    bad_rows,
    failed,
    most_telling,
)
from segport.destinations.errors import (
    DestinationAuthError,
    DestinationError,
    DestinationResponseError,
)
from segport.destinations.http import ApiResponse, encode_json
from segport.destinations.sendgrid_search import SEARCH_BATCH, search_contacts
from segport.destinations.sendgrid_support import (
    MAX_LENGTHS,
    any_longer,
    contact_encoders,
    job_outcomes,
    parse_errors_csv,
    scope_warnings,
    too_long,
)
from segport.model import DataCenter


class SendGridDestination(Destination):
    """A SendGrid account, keyed by ``Authorization: Bearer SG.…``."""

    type = "sendgrid"
    label = "SendGrid"
    default_limits: ClassVar[Limits] = Limits(
        max_batch_count=30_000, max_batch_bytes=6_000_000, requests_per_s=3.0, burst=3,
        max_in_flight=4, cap=100_000, cap_scope="in total", remove_batch_count=SEARCH_BATCH,
    )
    #: Requests other than ``PUT /v3/marketing/contacts`` (lists, jobs, search) per second.
    other_requests_per_s = 10.0
    #: How long an import job may stay unfinished before its rows are reported failed.
    job_timeout_s = 900.0
    #: Polling an import job: first this long after it was accepted (jobs stay ``pending`` at
    #: least ~0.5 s: asking sooner is wasted), then every ``poll_start_s``, growing by
    #: ``poll_growth`` up to ``poll_max_s``.
    poll_first_s = 0.5
    poll_start_s = 0.1
    poll_growth = 1.5
    poll_max_s = 1.0

    def __init__(self, api_key: str, base_url: str | None = None,
                 data_center: DataCenter | None = None, **options: Any) -> None:
        super().__init__(api_key, base_url, data_center, **options)
        self.other_bucket = self.make_bucket(self.other_requests_per_s)
        self._encode, self._encode_many = contact_encoders(self.api_fields)
        self._accepted_at: dict[str, float] = {}  # job id → clock time of its 202

    @classmethod
    def default_base_url(cls, data_center: DataCenter | None) -> str:
        return "https://api.sendgrid.com"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def payload_item(self, contact: Contact, list_id: str = "") -> dict[str, Any]:
        item = {"email": contact.email}
        item.update(self.mapped(contact))
        return item

    def encode(self, contact: Contact) -> bytes:
        """``encode_json(payload_item(contact))``, built directly (see ``contact_encoders``)."""
        return self._encode(contact)

    def encode_many(self, contacts: Sequence[Contact]) -> list[bytes]:
        return self._encode_many(contacts)

    def refusals(self, contacts: Sequence[Contact]) -> dict[str, str]:
        if not any_longer(contacts, MAX_LENGTHS):
            return {}  # the usual case, found column by column
        return super().refusals(contacts)

    def precheck(self, contact: Contact) -> str | None:
        """Reserved-field lengths SendGrid enforces (one long value would fail the request)."""
        return too_long(contact, self.api_fields)

    def upsert_body(self, list_id: str, items: Sequence[bytes]) -> bytes:
        return (b'{"list_ids":' + encode_json([list_id]) + b',"contacts":['
                + b",".join(items) + b"]}")

    async def validate(self) -> AccountInfo:
        response = await self.session.request("GET", "/v3/scopes", bucket=self.other_bucket,
                                              budget_s=self.validate_budget_s,
                                              timeout=self.validate_timeout)
        body = response.body if isinstance(response.body, dict) else {}
        scopes = tuple(str(s) for s in body.get("scopes") or [])
        warnings = scope_warnings(scopes)
        lists: list[ListRef] = []
        if any(s.startswith("marketing.") for s in scopes):
            try:
                lists = await self.lists()
            except DestinationError as exc:
                warnings.append(f"Lists could not be read: {exc}")
        account = None
        if any(s.startswith("user.") for s in scopes):
            account = await self._account_name()
        return AccountInfo("sendgrid", self.base_url, account=account, lists=tuple(lists),
                           scopes=scopes, warnings=tuple(warnings))

    async def _account_name(self) -> str | None:
        try:
            response = await self.session.request("GET", "/v3/user/username",
                                                  bucket=self.other_bucket, budget_s=5)
        except DestinationError:
            return None
        body = response.body if isinstance(response.body, dict) else {}
        return str(body["username"]) if response.ok and body.get("username") else None

    async def lists(self) -> list[ListRef]:
        found: list[ListRef] = []
        params = {"page_size": "1000"}
        while True:
            response = await self.session.request("GET", "/v3/marketing/lists", params=params,
                                                  bucket=self.other_bucket)
            self._raise_unless_ok(response, "read lists")
            body = response.body if isinstance(response.body, dict) else {}
            for item in body.get("result") or []:
                found.append(ListRef(str(item["id"]), str(item.get("name", "")),
                                     item.get("contact_count")))
            nxt = (body.get("_metadata") or {}).get("next")
            token = parse_qs(urlsplit(nxt).query).get("page_token") if nxt else None
            if not token:
                return found
            # Follow the token on our own host: the key goes nowhere the next URL points.
            params = {"page_size": "1000", "page_token": token[0]}

    async def ensure_list(self, name: str) -> ListRef:
        for ref in await self.lists():
            if ref.name.casefold() == name.casefold():  # SendGrid names are unique ignoring case
                return ref
        response = await self.session.request("POST", "/v3/marketing/lists",
                                              json_body={"name": name}, bucket=self.other_bucket,
                                              retry_transport_errors=False)
        self._raise_unless_ok(response, f"create list {name!r}")
        body = response.body if isinstance(response.body, dict) else {}
        return ListRef(str(body["id"]), str(body.get("name", name)), 0)

    async def list_size(self, list_id: str) -> int | None:
        response = await self.session.request(
            "GET", f"/v3/marketing/lists/{list_id}/contacts/count", bucket=self.other_bucket,
            record_path="/v3/marketing/lists/{id}/contacts/count")
        self._raise_unless_ok(response, "count the list's contacts")
        body = response.body if isinstance(response.body, dict) else {}
        count = body.get("contact_count")
        if not isinstance(count, int):
            raise DestinationResponseError("SendGrid counted a list without 'contact_count'.")
        return count

    async def members_among(self, list_id: str, emails: Sequence[str], size: int | None,
                            asked: int) -> set[str]:
        """Looked up 100 at a time: the contacts whose ``list_ids`` hold the list."""
        found = await search_contacts(self.session, self.other_bucket, emails, [])
        return {e for e, contact in found.items() if list_id in (contact.get("list_ids") or ())}

    async def _upsert_batch(self, list_id: str, batch: Batch) -> BatchResult:
        """PUT the batch; rows a 400 names are set aside and the rest resent."""
        return await self._send_setting_aside(
            list_id, batch, "PUT", "/v3/marketing/contacts", self._job_started,
            lambda response, emails: bad_rows(response.body, len(emails)))

    def _job_started(self, response: ApiResponse, emails: list[str], result: BatchResult) -> bool:
        """A 202 starts an import job: the rows wait on it (confirmed later)."""
        if response.status != 202:
            return False
        job_id = response.body.get("job_id") if isinstance(response.body, dict) else None
        if not job_id:
            raise DestinationResponseError("SendGrid accepted contacts without a job_id.")
        self._accepted_at[str(job_id)] = self._clock()
        result.jobs.append(PendingJob(str(job_id), "upsert", tuple(emails)))
        return True

    async def _remove_batch(self, list_id: str, emails: Sequence[str]) -> BatchResult:
        """Look the emails up for contact ids, then remove those ids from the list."""
        result = BatchResult()
        found = await search_contacts(self.session, self.other_bucket, emails, result.records)
        ids = {e: str(c["id"]) for e, c in found.items()}
        # Not a contact at all (404, "contact not found", invalid address): not on the list.
        result.outcomes.extend(RowOutcome(e, True, "not a contact") for e in emails
                               if e not in ids)
        if not ids:
            return result
        response = await self.session.request(
            "DELETE", f"/v3/marketing/lists/{list_id}/contacts",
            params={"contact_ids": ",".join(ids.values())}, bucket=self.other_bucket,
            records=result.records)
        if response.status == 202 and isinstance(response.body, dict) and response.body.get(
                "job_id"):
            job_id = str(response.body["job_id"])
            self._accepted_at[job_id] = self._clock()
            result.jobs.append(PendingJob(job_id, "delete", tuple(ids)))
        elif response.ok:
            result.outcomes.extend(RowOutcome(e, True) for e in ids)
        else:
            result.outcomes.extend(failed(ids, f"HTTP {response.status}: {response.message()}",
                                          retryable=False))
        return result

    async def confirm(self, result: BatchResult) -> BatchResult:
        """Poll every job (concurrently) until it leaves ``pending``; rows are acknowledged only
        then, and ``errors_url`` rows are mapped back to their emails."""
        done = BatchResult(list(result.outcomes), list(result.records))
        if not result.jobs:
            return done
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._confirm_job(job, done)) for job in result.jobs]
        except BaseExceptionGroup as failures:
            raise most_telling(failures) from None
        for task in tasks:  # in job order, whatever order they finished in
            done.outcomes.extend(task.result())
        return done

    async def _confirm_job(self, job: PendingJob, into: BatchResult) -> list[RowOutcome]:
        try:
            return await self._settle(job, into)
        except DestinationAuthError:
            raise
        except DestinationError as exc:
            return failed(job.emails, f"import job {job.job_id} not confirmed: {exc}",
                          retryable=True)
        finally:
            self._accepted_at.pop(job.job_id, None)

    async def _settle(self, job: PendingJob, into: BatchResult) -> list[RowOutcome]:
        accepted = self._accepted_at.get(job.job_id, self._clock())
        first = accepted + self.poll_first_s - self._clock()
        if first > 0:
            await self._sleep(first)
        interval = self.poll_start_s
        while True:
            response = await self.session.request(
                "GET", f"/v3/marketing/contacts/imports/{job.job_id}", bucket=self.other_bucket,
                records=into.records, record_path="/v3/marketing/contacts/imports/{id}")
            self._raise_unless_ok(response, f"report on import job {job.job_id}")
            body = response.body if isinstance(response.body, dict) else {}
            status = str(body.get("status", "pending"))
            if status not in ("pending", "processing", ""):
                break
            waited = self._clock() - accepted
            if waited >= self.job_timeout_s:
                return failed(job.emails, f"import job {job.job_id} still pending after "
                              f"{waited:.0f} s", retryable=True)
            await self._sleep(interval)
            interval = min(self.poll_max_s, interval * self.poll_growth)
        if status == "completed":
            return [RowOutcome(e, True) for e in job.emails]
        errors_url = (body.get("results") or {}).get("errors_url")
        reasons = await self._errors_file(errors_url, job, into) if errors_url else None
        return job_outcomes(status, job.emails, reasons)

    async def _errors_file(self, url: str, job: PendingJob, into: BatchResult
                           ) -> dict[str, str] | None:
        """email → reason from the job's errors CSV (by email column, else by row number)."""
        try:
            response = await self.session.request("GET", url, bucket=self.other_bucket,
                                                  records=into.records,
                                                  record_path="errors_url", budget_s=30)
        except DestinationError:
            return None
        if not response.ok or not isinstance(response.body, str | bytes):
            return None
        return parse_errors_csv(str(response.body), job.emails)
