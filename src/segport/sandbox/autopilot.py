"""The Autopilot Journeys v1 emulator: ``autopilotapikey`` auth, lists, bulk upserts by email,
list membership. Paths, shapes and limits follow docs/destinations.md (Autopilot).

Emulator choices where the platform documents none: a row with a missing or invalid ``Email``
fails the whole call (400 naming ``contacts[i].Email``); an unknown ``_autopilot_list`` is 404;
removing a contact that is not on the list is a 200 no-op, an unknown contact or list is 404.

Emulator decision, "Get contacts on list" (``GET /v1/list/{list_id}/contacts`` then
``.../contacts/{bookmark}``, rate group "api"): pages of ``contacts_page_size`` (100) in the order
members joined, ``{"contacts": [{"contact_id", "Email", ...stored fields}], "total_contacts"}``
plus an opaque ``bookmark`` only when more follow; a bookmark resumes after the last contact
returned (removals meanwhile skip nobody); an unknown list is 404, a malformed bookmark 400.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from segport.sandbox.common import Account, BadBody, Emulator, Handler, read_json, valid_email
from segport.sandbox.config import AutopilotConfig, RateLimit
from segport.sandbox.limits import TokenBucket
from segport.sandbox.paging import decode_token, encode_token, page_after


@dataclass
class Person:
    """A contact; ``fields`` in Autopilot's names (``FirstName``, ``MailingCity``, ...)."""

    id: str
    email: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class ContactList:
    """A list; ``members`` are person ids (in the order they joined) → their join number."""

    id: str
    title: str
    members: dict[str, int] = field(default_factory=dict)
    joins: Iterator[int] = field(default_factory=itertools.count, repr=False)

    def add(self, person_id: str) -> None:
        """Add a member (a member already on the list keeps its place)."""
        if person_id not in self.members:
            self.members[person_id] = next(self.joins)


class Instance(Account):
    """One Autopilot account."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.people: dict[str, Person] = {}  # by lower-cased email
        self.by_id: dict[str, Person] = {}
        self.lists: dict[str, ContactList] = {}

    def find(self, id_or_email: str) -> Person | None:
        """A contact by ``person_...`` id or by email (case-insensitive)."""
        return self.by_id.get(id_or_email) or self.people.get(id_or_email.lower())


def failure(status: int, message: str) -> JSONResponse:
    """Autopilot's ``{"error", "message"}``."""
    return JSONResponse({"error": HTTPStatus(status).phrase, "message": message}, status)


class AutopilotEmulator(Emulator[Instance]):
    """In-memory Autopilot accounts behind the real paths."""

    kind = "autopilot"
    config: AutopilotConfig

    def __init__(self, config: AutopilotConfig | None = None) -> None:
        super().__init__(config or AutopilotConfig())

    def endpoints(self) -> list[tuple[str, str, str, Handler]]:
        member = "/v1/list/{list_id}/contact/{contact_id_or_email:path}"
        return [
            ("GET", "/v1/account", "api", self.get_account),
            ("GET", "/v1/lists", "api", self.get_lists),
            ("POST", "/v1/list", "api", self.create_list),
            ("POST", "/v1/contacts", "api", self.upsert),
            ("GET", member, "api", self.is_member),
            ("DELETE", member, "api", self.remove),
            ("GET", "/v1/list/{list_id}/contacts", "api", self.list_contacts),
            ("GET", "/v1/list/{list_id}/contacts/{bookmark}", "api", self.list_contacts),
        ]

    def credential(self, headers: Headers) -> str | None:
        return headers.get("autopilotapikey") or None

    def authenticate(self, request: Request) -> Instance | Response:
        key = self.credential(request.headers)
        if key is None:
            return failure(400, "No autopilotapikey header provided.")
        if key != self.config.demo_key and key not in self.config.keys:
            return failure(401, "Provided autopilotapikey not valid.")
        return self.account_for(key, Instance)

    def rate_limit(self, group: str) -> RateLimit:
        return self.config.rate

    def error(self, status: int, message: str) -> Response:
        return failure(status, message)

    def too_many(self, group: str, path: str, wait: float, bucket: TokenBucket | None) -> Response:
        rate = self.config.rate.rate
        shown = int(rate) if float(rate).is_integer() else rate
        return failure(429, f"You have exceeded your request rate of {shown} r/s.")  # no headers

    def lists_state(self, account: Instance) -> list[dict[str, Any]]:
        return [{"id": lst.id, "name": lst.title,
                 "members": [{"email": account.by_id[p].email, "fields": account.by_id[p].fields}
                             for p in lst.members]}
                for lst in account.lists.values()]

    # --- endpoints -------------------------------------------------------------------------------
    async def get_account(self, request: Request, account: Instance) -> Response:
        return JSONResponse({"instance_id": f"instance_{account.id}", "name": "Sandbox account"})

    async def get_lists(self, request: Request, account: Instance) -> Response:
        return JSONResponse({"lists": [{"list_id": lst.id, "title": lst.title}
                                       for lst in account.lists.values()]})

    async def create_list(self, request: Request, account: Instance) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            return failure(400, "A list name is required.")
        if any(lst.title == name for lst in account.lists.values()):
            return failure(409, "A list with this name already exists.")
        lst = ContactList(f"contactlist_{str(uuid.uuid4()).upper()}", name)
        account.lists[lst.id] = lst
        return JSONResponse({"list_id": lst.id})

    async def upsert(self, request: Request, account: Instance) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        contacts = body.get("contacts")
        if not isinstance(contacts, list) or not contacts:
            return failure(400, "contacts must be a non-empty array.")
        if len(contacts) > self.config.max_contacts:
            return failure(400, f"Too many contacts: at most {self.config.max_contacts} per call.")
        for index, contact in enumerate(contacts):
            if not isinstance(contact, dict) or not valid_email(contact.get("Email")):
                email = contact.get("Email") if isinstance(contact, dict) else None
                return failure(400, f"contacts[{index}].Email is not a valid email: {email!r}")
            target = contact.get("_autopilot_list")
            if target is not None and target not in account.lists:
                return failure(404, f"List {target} could not be found.")
        ids = [self._upsert_one(account, contact) for contact in contacts]
        return JSONResponse({"contact_ids": ids})

    @staticmethod
    def _upsert_one(account: Instance, contact: dict[str, Any]) -> str:
        email: str = contact["Email"]
        person = account.people.get(email.lower())
        if person is None:
            person = Person(f"person_{str(uuid.uuid4()).upper()}", email)
            account.people[email.lower()] = person
            account.by_id[person.id] = person
        person.fields.update({k: v for k, v in contact.items()
                              if k != "Email" and not k.startswith("_autopilot")})
        if target := contact.get("_autopilot_list"):
            account.lists[target].add(person.id)
        return person.id

    async def list_contacts(self, request: Request, account: Instance) -> Response:
        lst = account.lists.get(request.path_params["list_id"])
        if lst is None:
            return failure(404, "List could not be found.")
        bookmark = request.path_params.get("bookmark")
        after = -1 if bookmark is None else decode_token("b", bookmark)
        if after is None:
            return failure(400, "Bookmark is not valid.")
        ids, last = page_after(lst.members, after, self.config.contacts_page_size)
        people = [account.by_id[i] for i in ids]
        body: dict[str, Any] = {
            "contacts": [{"contact_id": p.id, "Email": p.email,
                          **{k: v for k, v in p.fields.items() if k != "contact_id"}}
                         for p in people],
            "total_contacts": len(lst.members)}
        if last is not None:
            body["bookmark"] = encode_token("b", last)
        return JSONResponse(body)

    async def is_member(self, request: Request, account: Instance) -> Response:
        found = self._member(request, account)
        if isinstance(found, Response):
            return found
        lst, person = found
        if person.id not in lst.members:
            return failure(404, "Contact is not on this list.")
        return JSONResponse({"list_id": lst.id, "contact_id": person.id})

    async def remove(self, request: Request, account: Instance) -> Response:
        found = self._member(request, account)
        if isinstance(found, Response):
            return found
        lst, person = found
        lst.members.pop(person.id, None)
        return JSONResponse({})

    @staticmethod
    def _member(request: Request, account: Instance) -> tuple[ContactList, Person] | Response:
        lst = account.lists.get(request.path_params["list_id"])
        if lst is None:
            return failure(404, "List could not be found.")
        person = account.find(request.path_params["contact_id_or_email"])
        if person is None:
            return failure(404, "Contact could not be found.")
        return lst, person

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = await read_json(request)
        except BadBody:
            return failure(400, "Request body is not valid JSON.")
        if not isinstance(body, dict):
            return failure(400, "Request body must be a JSON object.")
        return body


def create_app(config: AutopilotConfig | None = None) -> Starlette:
    """The Autopilot emulator as an ASGI app (``app.state.emulator`` is the emulator)."""
    return AutopilotEmulator(config).app
