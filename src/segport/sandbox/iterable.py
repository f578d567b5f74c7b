"""The Iterable emulator: ``Api-Key`` auth per data centre, static lists, subscribe/unsubscribe.

Paths, shapes and limits follow docs/destinations.md (Iterable). A just-created list answers
subscribe/unsubscribe with 400 ``code:"Success"`` ``msg:"error.lists.invalidListId(<id>)"`` for
``new_list_delay`` seconds; a list that does not exist answers 400 ``BadParams``.

Emulator decisions for the list reads (rate limits documented: "5 requests/minute, per project";
each endpoint has its own bucket, ``get_users_rate`` and ``list_size_rate``, and its 429 reports
``rateLimitLimit`` per minute):

- ``GET /api/lists/getUsers?listId=N``: 200 ``text/plain``, the members' emails (as first
  subscribed) in subscription order, each followed by ``\n``; an empty list is an empty body;
  ``preferUserId`` is ignored (projects are email-based).
- ``GET /api/lists/{listId}/size``: 200 ``text/plain``, the member count in decimal digits.
- Both: a missing, non-integer or unknown ``listId`` is 400 ``BadParams``; no just-created window.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from segport.sandbox.common import Account, BadBody, Emulator, Handler, read_json, valid_email
from segport.sandbox.config import IterableConfig, RateLimit
from segport.sandbox.limits import TokenBucket

_CODES = {400: "BadParams", 401: "BadApiKey", 404: "NotFound", 405: "BadParams",
          429: "RateLimitExceeded"}
#: Groups whose documented limit is per minute: their 429 reports ``rateLimitLimit`` per minute.
_PER_MINUTE = frozenset({"get_users", "list_size"})
_FAILED_KEYS = ("invalidEmails", "invalidUserIds", "notFoundEmails", "notFoundUserIds",
                "forgottenEmails", "forgottenUserIds", "conflictEmails", "conflictUserIds",
                "invalidDataEmails", "invalidDataUserIds")


@dataclass
class User:
    """A user profile of the project (email-based project)."""

    email: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class StaticList:
    """A static list; ``members`` are lower-cased emails in subscription order."""

    id: int
    name: str
    description: str | None
    created_ms: int
    created_at: float  # monotonic
    members: dict[str, None] = field(default_factory=dict)


class Project(Account):
    """One Iterable project: users, lists, known data fields, channel unsubscribes."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.users: dict[str, User] = {}
        self.lists: dict[int, StaticList] = {}
        self.fields: set[str] = set()
        self.channel_unsubscribed: set[str] = set()


def envelope(code: str, msg: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Iterable's error/response envelope."""
    return {"msg": msg, "code": code, "params": params}


class IterableEmulator(Emulator[Project]):
    """In-memory Iterable projects behind the real paths."""

    kind = "iterable"
    config: IterableConfig

    def __init__(self, config: IterableConfig | None = None) -> None:
        self._ids = itertools.count(100_001)
        super().__init__(config or IterableConfig())

    def endpoints(self) -> list[tuple[str, str, str, Handler]]:
        return [
            ("GET", "/api/lists", "lists", self.get_lists),
            ("POST", "/api/lists", "create_list", self.create_list),
            ("POST", "/api/lists/subscribe", "subscribe", self.subscribe),
            ("POST", "/api/lists/unsubscribe", "subscribe", self.unsubscribe),
            ("GET", "/api/lists/getUsers", "get_users", self.get_users),
            ("GET", "/api/lists/{listId}/size", "list_size", self.list_size),
        ]

    def credential(self, headers: Headers) -> str | None:
        return headers.get("api-key") or None

    def authenticate(self, request: Request) -> Project | Response:
        key = self.credential(request.headers)
        if key == self.config.demo_key:
            home = self.config.data_center
        else:
            home = self.config.keys.get(key or "")
        if key is None or home != self.config.data_center:
            return self.error(401, "Invalid API key")
        return self.account_for(key, Project)

    def rate_limit(self, group: str) -> RateLimit:
        cfg = self.config
        return {"lists": cfg.lists_rate, "create_list": cfg.create_list_rate,
                "subscribe": cfg.subscribe_rate, "get_users": cfg.get_users_rate,
                "list_size": cfg.list_size_rate}.get(group, cfg.lists_rate)

    def error(self, status: int, message: str) -> Response:
        return JSONResponse(envelope(_CODES.get(status, "GenericError"), message), status)

    def too_many(self, group: str, path: str, wait: float, bucket: TokenBucket | None) -> Response:
        rate = bucket.rate if bucket else self.rate_limit(group).rate
        if group in _PER_MINUTE:
            rate = round(rate * 60, 6)
        params = {"rateLimitLimit": int(rate) if float(rate).is_integer() else rate,
                  "rateLimitRemaining": 0, "rateLimitReset": math.ceil(wait * 1000) / 1000}
        body = envelope("RateLimitExceeded", f"Exceeded rate limit for endpoint: {path}", params)
        return JSONResponse(body, 429)  # no Retry-After: Iterable documents none

    def lists_state(self, account: Project) -> list[dict[str, Any]]:
        return [
            {"id": lst.id, "name": lst.name,
             "members": [{"email": account.users[e].email, "fields": account.users[e].data}
                         for e in lst.members]}
            for lst in account.lists.values()
        ]

    def state_extras(self, account: Project | None) -> dict[str, Any]:
        return {"channelUnsubscribed": sorted(account.channel_unsubscribed) if account else []}

    # --- endpoints -------------------------------------------------------------------------------
    async def get_lists(self, request: Request, account: Project) -> Response:
        lists = []
        for lst in account.lists.values():
            item: dict[str, Any] = {"id": lst.id, "name": lst.name, "createdAt": lst.created_ms,
                                    "listType": "Standard"}
            if lst.description is not None:
                item["description"] = lst.description
            lists.append(item)
        return JSONResponse({"lists": lists})

    async def get_users(self, request: Request, account: Project) -> Response:
        """The members' emails, one per line (group ``get_users``, not shared with ``size``)."""
        lst = self._list_of(account, request.query_params.get("listId"))
        if isinstance(lst, Response):
            return lst
        return PlainTextResponse("".join(f"{account.users[e].email}\n" for e in lst.members))

    async def list_size(self, request: Request, account: Project) -> Response:
        """The member count as decimal digits (group ``list_size``, its own 5/minute bucket)."""
        lst = self._list_of(account, request.path_params["listId"])
        if isinstance(lst, Response):
            return lst
        return PlainTextResponse(str(len(lst.members)))

    def _list_of(self, account: Project, raw: str | None) -> StaticList | Response:
        """The list a ``listId`` parameter names, or the 400 ``BadParams`` answer."""
        if raw is None or not (raw.isascii() and raw.isdigit()):
            return self._bad("listId must be an integer", "listId")
        lst = account.lists.get(int(raw))
        return lst if lst is not None else self._bad(f"List {raw} does not exist", "listId")

    async def create_list(self, request: Request, account: Project) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        name, description = body.get("name"), body.get("description")
        if not isinstance(name, str) or not name.strip():
            return self._bad("name is required", "name")
        if description is not None and not isinstance(description, str):
            return self._bad("description must be a string", "description")
        lst = StaticList(next(self._ids), name, description, int(time.time() * 1000),
                         time.monotonic())
        account.lists[lst.id] = lst
        return JSONResponse({"listId": lst.id})

    async def subscribe(self, request: Request, account: Project) -> Response:
        return await self._update(request, account, subscribe=True)

    async def unsubscribe(self, request: Request, account: Project) -> Response:
        return await self._update(request, account, subscribe=False)

    async def _update(self, request: Request, account: Project, subscribe: bool) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        list_id, subscribers = body.get("listId"), body.get("subscribers")
        if not isinstance(list_id, int) or isinstance(list_id, bool):
            return self._bad("listId must be an integer", "listId")
        if not isinstance(subscribers, list) or not all(isinstance(s, dict) for s in subscribers):
            return self._bad("subscribers must be an array of objects", "subscribers")
        if len(subscribers) > self.config.max_subscribers:
            msg = f"Too many subscribers: {len(subscribers)} > {self.config.max_subscribers}"
            return JSONResponse(envelope("BatchTooLarge", msg), 400)
        lst = account.lists.get(list_id)
        if lst is None:
            return self._bad(f"List {list_id} does not exist", "listId")
        if time.monotonic() - lst.created_at < self.config.new_list_delay:
            return JSONResponse(envelope("Success", f"error.lists.invalidListId({list_id})"), 400)
        failed: dict[str, list[str]] = {k: [] for k in _FAILED_KEYS}
        created: list[str] = []
        ok = 0
        only_existing = body.get("updateExistingUsersOnly") is True
        channel = body.get("channelUnsubscribe") is True
        for sub in subscribers:
            email, user_id = sub.get("email"), sub.get("userId")
            if email is None and isinstance(user_id, str):
                failed["notFoundUserIds"].append(user_id)
            elif not valid_email(email):
                failed["invalidEmails"].append(email if isinstance(email, str) else "")
            elif subscribe and not isinstance(sub.get("dataFields", {}), dict):
                failed["invalidDataEmails"].append(email)
            elif subscribe and only_existing and email.lower() not in account.users:
                failed["notFoundEmails"].append(email)
            elif subscribe:
                created += self._upsert(account, email, sub.get("dataFields") or {},
                                        sub.get("mergeNestedObjects") is True)
                lst.members[email.lower()] = None
                ok += 1
            else:
                if channel and email.lower() in account.users:  # the whole channel, list or not
                    account.channel_unsubscribed.add(email.lower())
                if email.lower() in lst.members:
                    del lst.members[email.lower()]
                    ok += 1
                else:
                    failed["notFoundEmails"].append(email)  # "was not on the list"
        fail = sum(len(v) for v in failed.values())
        return JSONResponse({
            "successCount": ok, "failCount": fail,
            "invalidEmails": list(failed["invalidEmails"]),
            "invalidUserIds": list(failed["invalidUserIds"]),
            "failedUpdates": failed,
            "createdFields": created, "filteredOutFields": [],
        })

    @staticmethod
    def _upsert(account: Project, email: str, data: dict[str, Any], merge: bool) -> list[str]:
        """Create or update a user; returns the data fields new to the project."""
        user = account.users.setdefault(email.lower(), User(email))
        for name, value in data.items():
            old = user.data.get(name)
            if merge and isinstance(old, dict) and isinstance(value, dict):
                user.data[name] = {**old, **value}
            else:
                user.data[name] = value
        new = [name for name in data if name not in account.fields]
        account.fields.update(new)
        return new

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = await read_json(request, self.config.max_body_bytes)
        except BadBody as exc:
            if exc.kind == "too_large":
                limit = self.config.max_body_bytes
                msg = f"Request body exceeds {limit} bytes"
                return JSONResponse(envelope("BatchTooLarge", msg), 400)
            return JSONResponse(envelope("BadJsonBody", "Could not parse the JSON body"), 400)
        if not isinstance(body, dict):
            return self._bad("The body must be a JSON object", "body")
        return body

    @staticmethod
    def _bad(message: str, field_name: str) -> Response:
        return JSONResponse(envelope("BadParams", message, {"field": field_name}), 400)


def create_app(config: IterableConfig | None = None) -> Starlette:
    """The Iterable emulator as an ASGI app (``app.state.emulator`` is the emulator)."""
    return IterableEmulator(config).app
