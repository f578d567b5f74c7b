"""Autopilot Journeys: bulk upserts of ≤ 100 contacts that join a list in the same call."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from segport.destinations.base import (
    AccountInfo,
    Batch,
    BatchResult,
    Contact,
    Destination,
    Limits,
    ListRef,
    RowOutcome,
    bad_rows,
    refused,
)
from segport.destinations.errors import (
    DestinationAuthError,
    DestinationConnectionError,
    DestinationError,
    DestinationRequestError,
    DestinationResponseError,
)
from segport.destinations.http import ApiResponse, RequestRecord, encode_json
from segport.destinations.values import same_email
from segport.model import DataCenter

LIST_FIELD = "_autopilot_list"
#: Members per page of ``GET /v1/list/{list_id}/contacts``.
ROSTER_PAGE = 100


class AutopilotDestination(Destination):
    """An Autopilot account, keyed by the ``autopilotapikey`` header."""

    type = "autopilot"
    label = "Autopilot"
    default_limits: ClassVar[Limits] = Limits(
        max_batch_count=100, max_batch_bytes=2_000_000, requests_per_s=5.0, burst=5,
        max_in_flight=4, cap=100_000, cap_scope="in total", remove_batch_count=100,
    )

    #: Separator plus the per-contact ``"_autopilot_list":"contactlist_<uuid>"`` tag.
    item_overhead: ClassVar[int] = 1 + len(',"_autopilot_list":""') + 64

    @classmethod
    def default_base_url(cls, data_center: DataCenter | None) -> str:
        return "https://api2.autopilothq.com/v1"

    def __init__(self, api_key: str, base_url: str | None = None,
                 data_center: DataCenter | None = None, **options: Any) -> None:
        super().__init__(api_key, base_url, data_center, **options)
        self._first_pages: dict[str, dict[str, Any]] = {}  # list id → roster page 1
        self._rosters: dict[str, frozenset[str]] = {}  # list id → every member's email

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"autopilotapikey": key}

    def payload_item(self, contact: Contact, list_id: str = "") -> dict[str, Any]:
        item: dict[str, Any] = {"Email": contact.email}
        item.update(self.mapped(contact))
        if list_id:
            item[LIST_FIELD] = list_id
        return item

    def upsert_body(self, list_id: str, items: Sequence[bytes]) -> bytes:
        tag = b',"' + LIST_FIELD.encode() + b'":' + encode_json(list_id) + b"}"
        return b'{"contacts":[' + b",".join(item[:-1] + tag for item in items) + b"]}"

    async def validate(self) -> AccountInfo:
        response = await self.session.request("GET", "/account", bucket=self.bucket,
                                              budget_s=self.validate_budget_s,
                                              timeout=self.validate_timeout)
        account = None
        if response.ok and isinstance(response.body, dict):
            body = response.body
            account = next((str(body[k]) for k in ("name", "company", "instance_name", "email")
                            if body.get(k)), None)
        lists = await self.lists(budget_s=self.validate_budget_s, timeout=self.validate_timeout)
        return AccountInfo("autopilot", self.base_url, account=account, lists=tuple(lists))

    async def lists(self, budget_s: float | None = None,
                    timeout: httpx.Timeout | None = None) -> list[ListRef]:
        response = await self.session.request("GET", "/lists", bucket=self.bucket,
                                              budget_s=budget_s, timeout=timeout)
        body = response.body
        if not response.ok or not isinstance(body, dict) or not isinstance(body.get("lists"),
                                                                           list):
            raise DestinationResponseError(
                f"Autopilot answered GET /v1/lists with HTTP {response.status}.")
        return [ListRef(str(item["list_id"]), str(item.get("title", "")), None)
                for item in body["lists"] if isinstance(item, dict) and item.get("list_id")]

    async def ensure_list(self, name: str) -> ListRef:
        for _ in range(3):
            for ref in await self.lists():
                if ref.name == name:
                    return ref
            try:
                response = await self.session.request("POST", "/list", json_body={"name": name},
                                                      bucket=self.bucket,
                                                      retry_transport_errors=False)
            except DestinationConnectionError:
                continue
            if response.status == 409:
                continue  # created meanwhile (or by a retried request): look it up again
            if not response.ok or not isinstance(response.body, dict) or not response.body.get(
                    "list_id"):
                raise refused(self.label, f"create list {name!r}", response)
            return ListRef(str(response.body["list_id"]), name, 0)
        raise DestinationRequestError(f"Could not create Autopilot list {name!r}.", 0)

    async def list_size(self, list_id: str) -> int | None:
        """``total_contacts`` of the list's first page of members (kept for the roster)."""
        page = self._first_pages[list_id] = await self._roster_page(list_id, None)
        total = page.get("total_contacts")
        return total if isinstance(total, int) else None

    async def members_among(self, list_id: str, emails: Sequence[str], size: int | None,
                            asked: int) -> set[str]:
        """Few emails asked about the list in all: one membership check each; else the list's
        roster, read once and kept (``ROSTER_PAGE`` members a request) — whichever takes fewer
        requests."""
        members = self._rosters.get(list_id)
        if members is None and size is not None and asked <= -(-size // ROSTER_PAGE):
            async with asyncio.TaskGroup() as group:
                checks = [group.create_task(self._is_member(list_id, e)) for e in emails]
            return {e for e, check in zip(emails, checks, strict=True) if check.result()}
        if members is None:
            members = self._rosters[list_id] = await self._roster(list_id)
        return {e for e in emails if e in members}

    async def _roster(self, list_id: str) -> frozenset[str]:
        """Every member's email, following the bookmarks page after page."""
        page = self._first_pages.pop(list_id, None) or await self._roster_page(list_id, None)
        emails: set[str] = set()
        seen: set[str] = set()
        while True:
            contacts = [c for c in page.get("contacts") or () if isinstance(c, dict)]
            emails.update(same_email(str(c.get("Email", ""))) for c in contacts)
            bookmark = page.get("bookmark")
            if not bookmark or not contacts or str(bookmark) in seen:  # the end, or a loop
                return frozenset(e for e in emails if e)
            seen.add(str(bookmark))
            page = await self._roster_page(list_id, str(bookmark))

    async def _roster_page(self, list_id: str, bookmark: str | None) -> dict[str, Any]:
        path = f"/list/{list_id}/contacts" + (f"/{quote(bookmark, safe='')}" if bookmark else "")
        response = await self.session.request("GET", path, bucket=self.bucket,
                                              record_path="/v1/list/{list_id}/contacts")
        if not response.ok or not isinstance(response.body, dict):
            raise refused(self.label, f"list the members of list {list_id}", response)
        return response.body

    async def _is_member(self, list_id: str, email: str) -> bool:
        response = await self.session.request(
            "GET", f"/list/{list_id}/contact/{quote(email, safe='')}", bucket=self.bucket,
            record_path="/v1/list/{list_id}/contact/{email}")
        if response.status == 404:
            return False
        self._raise_unless_ok(response, f"check a membership of list {list_id}")
        return True

    async def _upsert_batch(self, list_id: str, batch: Batch) -> BatchResult:
        """POST ≤ 100 contacts; rows a 400 names are set aside and the rest resent."""
        return await self._send_setting_aside(list_id, batch, "POST", "/contacts",
                                              self._accepted, self._named_rows)

    @staticmethod
    def _accepted(response: ApiResponse, emails: list[str], result: BatchResult) -> bool:
        if response.ok:
            result.outcomes.extend(RowOutcome(e, True) for e in emails)
        return response.ok

    @staticmethod
    def _named_rows(response: ApiResponse, emails: list[str]) -> dict[int, str]:
        """Rows a 400 names: by index (``contacts[3]``) or by quoting the email itself."""
        named = bad_rows(response.body, len(emails))
        if named:
            return named
        message = response.message()
        if not message:
            return {}
        return {i: message for i, e in enumerate(emails) if e and repr(e) in message}

    async def _remove_batch(self, list_id: str, emails: Sequence[str]) -> BatchResult:
        """One DELETE per contact (the API has no bulk removal), several in flight."""
        result = BatchResult()

        async def one(email: str) -> RowOutcome:
            records: list[RequestRecord] = []
            try:
                response = await self.session.request(
                    "DELETE", f"/list/{list_id}/contact/{quote(email, safe='')}",
                    bucket=self.bucket, records=records,
                    record_path=f"/v1/list/{list_id}/contact/{{email}}")
            except DestinationAuthError:
                raise
            except DestinationError as exc:
                return RowOutcome(email, False, str(exc), retryable=True)
            finally:
                result.records.extend(records)
            if response.ok:
                return RowOutcome(email, True)
            message = response.message().lower()
            if response.status == 404 and ("contact" in message or "list" not in message):
                return RowOutcome(email, True, "not on the list")  # unknown contact: no-op
            return RowOutcome(email, False, f"HTTP {response.status}: {response.message()}")

        result.outcomes.extend(await asyncio.gather(*(one(e) for e in emails)))
        return result
