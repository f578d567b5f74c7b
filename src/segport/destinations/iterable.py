"""Iterable: static lists, filled by ``lists/subscribe``, emptied by ``lists/unsubscribe``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

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
    failed,
)
from segport.destinations.errors import (
    DestinationAuthError,
    DestinationConnectionError,
    DestinationError,
    DestinationRequestError,
    DestinationResponseError,
    WrongDataCenterError,
)
from segport.destinations.http import ApiResponse, ApiSession, encode_json
from segport.destinations.pacing import TokenBucket
from segport.destinations.values import same_email
from segport.model import DataCenter

#: One line of a text/plain answer (getUsers: an email a line).
LINES = re.compile(r"[^\r\n]+")
HOSTS: dict[DataCenter, str] = {"us": "https://api.iterable.com", "eu": "https://api.eu.iterable.com"}
DC_NAMES: dict[DataCenter, str] = {"us": "US", "eu": "EU"}

#: ``failedUpdates`` categories → the reason shown for a rejected row.
FAILURE_REASONS = {
    "invalidEmails": "invalid email",
    "invalidDataEmails": "invalid data fields",
    "conflictEmails": "conflicting user (email/userId)",
    "forgottenEmails": "user was forgotten (GDPR) and may not be re-added",
    "notFoundEmails": "user not found",
}


def _invalid_list_right_after_create(response: ApiResponse) -> bool:
    """Iterable's hiccup: a just-created list answers 400 ``invalidListId`` for a moment."""
    return response.status == 400 and "invalidlistid" in response.message().lower()


def _list_number(list_id: str) -> int:
    """Iterable list ids are integers."""
    try:
        return int(list_id)
    except ValueError:
        raise DestinationRequestError(
            f"{list_id!r} is not an Iterable list id (they are numbers).", 0) from None


class IterableDestination(Destination):
    """An Iterable project (US or EU data centre), keyed by ``Api-Key``."""

    type = "iterable"
    label = "Iterable"
    default_limits: ClassVar[Limits] = Limits(
        max_batch_count=1_000, max_batch_bytes=4_000_000, requests_per_s=5.0, burst=5,
        max_in_flight=4, cap=1_000_000, cap_scope="per export", remove_batch_count=1_000,
    )
    #: How long a 400 invalidListId is retried for a list this client just created (others: 2 s).
    new_list_grace_s = 15.0
    #: ``GET /api/lists/getUsers`` requests per minute, and as many ``/api/lists/{id}/size``.
    list_reads_per_min = 5

    def __init__(self, api_key: str, base_url: str | None = None,
                 data_center: DataCenter | None = None, **options: Any) -> None:
        self.other_dc_url: str | None = options.pop("other_dc_url", None)
        real = {url: dc for dc, url in HOSTS.items()}.get((base_url or "").rstrip("/"))
        super().__init__(api_key, base_url,
                         data_center or real or ("us" if base_url is None else None), **options)
        if (base_url is None or real) and self.other_dc_url is None:
            self.other_dc_url = HOSTS["eu" if self.data_center == "us" else "us"]
        self._fresh_lists: set[str] = set()
        self._members: dict[str, frozenset[str]] = {}  # list id → its members (getUsers)
        # getUsers and size: each "5 requests/minute, per project" — 5 at once, then paced.
        self.size_bucket, self.users_bucket = (
            TokenBucket(self.list_reads_per_min / 60, self.list_reads_per_min,
                        clock=self._clock, sleep=self._sleep) for _ in range(2))

    @classmethod
    def default_base_url(cls, data_center: DataCenter | None) -> str:
        return HOSTS[data_center or "us"]

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Api-Key": key}

    def payload_item(self, contact: Contact, list_id: str = "") -> dict[str, Any]:
        data = self.mapped(contact)
        return {"email": contact.email, "dataFields": data} if data else {"email": contact.email}

    async def validate(self) -> AccountInfo:
        try:
            response = await self.session.request("GET", "/api/lists",
                                                  budget_s=self.validate_budget_s,
                                                  timeout=self.validate_timeout)
        except DestinationAuthError as exc:
            raise await self._explain_401(exc) from None
        lists = self._parse_lists(response)
        return AccountInfo("iterable", self.base_url, account=None, data_center=self.data_center,
                           lists=tuple(lists))

    async def _explain_401(self, exc: DestinationAuthError) -> DestinationAuthError:
        """Wrong key, or a key of the other data centre? Ask the other one when we know it."""
        here = DC_NAMES.get(self.data_center or "us", "US")
        there = "EU" if here == "US" else "US"
        if self.other_dc_url:
            probe = ApiSession(self.label, self.other_dc_url, self.auth_headers(self._key.reveal()),
                               secret=self._key, policy=self.session.policy,
                               timeout=httpx.Timeout(10.0, connect=5.0), max_in_flight=1,
                               transport=self._transport)
            try:
                response = await probe.request("GET", "/api/lists", budget_s=0)
                if response.ok:
                    return WrongDataCenterError(
                        f"Iterable rejected the key on the {here} data centre, but the {there} "
                        f"data centre accepts it: set the connection's data centre to {there}.",
                        exc.status, suggested=there.lower())
            except DestinationError:
                pass
            finally:
                await probe.aclose()
        return DestinationAuthError(
            f"Iterable rejected the API key on the {here} data centre (HTTP {exc.status}: "
            f"Invalid API key). Check the key; this key may belong to the {there} data centre.",
            exc.status)

    def _parse_lists(self, response: ApiResponse) -> list[ListRef]:
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("lists"), list):
            raise DestinationResponseError("Iterable answered GET /api/lists without 'lists'.")
        return [ListRef(str(item["id"]), str(item.get("name", "")), None)
                for item in body["lists"]
                if isinstance(item, dict) and "id" in item
                and item.get("listType", "Standard") == "Standard"]

    async def lists(self) -> list[ListRef]:
        return self._parse_lists(await self.session.request("GET", "/api/lists"))

    async def ensure_list(self, name: str) -> ListRef:
        for _ in range(3):
            for ref in await self.lists():
                if ref.name == name:
                    return ref
            try:
                response = await self.session.request(
                    "POST", "/api/lists", json_body={"name": name}, retry_transport_errors=False)
            except DestinationConnectionError:
                continue  # the list may exist now: look again before creating another
            self._raise_unless_ok(response, f"create list {name!r}")
            list_id = response.body.get("listId") if isinstance(response.body, dict) else None
            if list_id is None:
                raise DestinationResponseError("Iterable created a list but sent no listId.")
            self._fresh_lists.add(str(list_id))
            return ListRef(str(list_id), name, 0)
        raise DestinationRequestError(f"Could not create Iterable list {name!r}.", 0)

    async def list_size(self, list_id: str) -> int | None:
        response = await self.session.request(
            "GET", f"/api/lists/{_list_number(list_id)}/size", bucket=self.size_bucket,
            record_path="/api/lists/{listId}/size")
        self._raise_unless_ok(response, f"count list {list_id}")
        try:
            return int(str(response.body).strip())
        except ValueError:
            raise DestinationResponseError("Iterable's list size was not a number.") from None

    async def members_among(self, list_id: str, emails: Sequence[str], size: int | None,
                            asked: int) -> set[str]:
        """From the list's whole membership (``getUsers``, read once per list and kept)."""
        members = self._members.get(list_id)
        if members is None:
            response = await self.session.request(
                "GET", "/api/lists/getUsers", params={"listId": str(_list_number(list_id))},
                bucket=self.users_bucket)
            self._raise_unless_ok(response, f"read the members of list {list_id}")
            text = "" if response.body is None else str(response.body)
            del response  # a million lines: no list of them, and one copy of the text at a time
            members = self._members[list_id] = frozenset(
                email for line in LINES.finditer(text) if (email := same_email(line.group())))
        return {e for e in emails if e in members}

    def upsert_body(self, list_id: str, items: Sequence[bytes]) -> bytes:
        return (b'{"listId":%d,"subscribers":[' % _list_number(list_id)
                + b",".join(items) + b"]}")

    async def _post(self, path: str, list_id: str, body: bytes) -> ApiResponse:
        # A list this client just created gets the full grace; any other list (perhaps created
        # by an earlier run moments ago) a short one before its rows are reported failed.
        grace = self.new_list_grace_s if list_id in self._fresh_lists else 2.0
        return await self.session.request(
            "POST", path, content=body, bucket=self.bucket,
            retry_when=_invalid_list_right_after_create, retry_when_budget_s=grace)

    async def _upsert_batch(self, list_id: str, batch: Batch) -> BatchResult:
        body = self.upsert_body(list_id, batch.encoded)
        response = await self._post("/api/lists/subscribe", list_id, body)
        return BatchResult(self._outcomes(response, [c.email for c in batch], removing=False),
                           response.records)

    async def _remove_batch(self, list_id: str, emails: Sequence[str]) -> BatchResult:
        body = {"listId": _list_number(list_id), "subscribers": [{"email": e} for e in emails],
                "channelUnsubscribe": False}
        response = await self._post("/api/lists/unsubscribe", list_id, encode_json(body))
        return BatchResult(self._outcomes(response, list(emails), removing=True),
                           response.records)

    def _outcomes(self, response: ApiResponse, emails: list[str], *, removing: bool
                  ) -> list[RowOutcome]:
        """Per-row results: a 200 lists per-user failures; other statuses fail the batch."""
        if not response.ok:
            reason = f"HTTP {response.status}: {response.message() or 'refused'}"
            return failed(emails, reason, retryable=False)
        body = response.body if isinstance(response.body, dict) else {}
        problems: dict[str, str] = {}
        for email in body.get("invalidEmails") or []:
            problems[str(email).lower()] = "invalid email"
        updates = body.get("failedUpdates") or {}
        for key, emails_in in updates.items() if isinstance(updates, dict) else []:
            if removing and key == "notFoundEmails":
                continue  # not on the list: removing it is a no-op success
            for email in emails_in or []:
                problems.setdefault(str(email).lower(), FAILURE_REASONS.get(key, key))
        return [RowOutcome(e, False, problems[e.lower()]) if e.lower() in problems
                else RowOutcome(e, True) for e in emails]
