"""The SendGrid Marketing Campaigns v3 emulator: Bearer ``SG.`` keys with scopes, lists with
token pagination, asynchronous contact upserts and list removals, ``X-RateLimit-*`` everywhere.

Paths, shapes and limits follow docs/destinations.md (SendGrid); jobs live in ``sendgrid_jobs``
(processed concurrently, see there), contact validation in ``sendgrid_rows``. An upload of
30,000 contacts costs one ``json.loads`` plus column-wise checks (tens of milliseconds), so the
event loop is never held for long.

Emulator decision: ``GET /v3/marketing/lists/{id}/contacts/count`` (group "default") counts only
applied jobs' members, as ``{"contact_count": n, "billable_count": n}``; unknown list → 404.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from segport.sandbox.bulk import paused_gc
from segport.sandbox.common import BadBody, Emulator, Handler, read_json, valid_email
from segport.sandbox.config import RateLimit, SendGridConfig
from segport.sandbox.limits import TokenBucket
from segport.sandbox.paging import decode_token, encode_token
from segport.sandbox.sendgrid_jobs import Job, JobTiming, Marketing, MarketingList
from segport.sandbox.sendgrid_rows import contact_rows


def errors(*items: tuple[str | None, str], status: int = 400,
           null_field: bool = False) -> JSONResponse:
    """SendGrid's ``{"errors": [{"field", "message"}]}``; a ``None`` field is left out, or sent as
    ``null`` with ``null_field`` (the documented 401/403/429 bodies)."""
    body = [{"field": f, "message": m} if f is not None or null_field else {"message": m}
            for f, m in items]
    return JSONResponse({"errors": body}, status)


class SendGridEmulator(Emulator[Marketing]):
    """In-memory SendGrid accounts behind the real paths."""

    kind = "sendgrid"
    config: SendGridConfig

    def __init__(self, config: SendGridConfig | None = None) -> None:
        self.files: dict[str, str] = {}
        super().__init__(config or SendGridConfig())

    def endpoints(self) -> list[tuple[str, str, str, Handler]]:
        return [
            ("GET", "/v3/scopes", "default", self.scopes),
            ("GET", "/v3/marketing/lists", "default", self.get_lists),
            ("POST", "/v3/marketing/lists", "default", self.create_list),
            ("DELETE", "/v3/marketing/lists/{id}/contacts", "default", self.remove_contacts),
            ("GET", "/v3/marketing/lists/{id}/contacts/count", "default", self.contact_count),
            ("PUT", "/v3/marketing/contacts", "contacts", self.upsert),
            ("GET", "/v3/marketing/contacts/imports/{id}", "default", self.get_job),
            ("POST", "/v3/marketing/contacts/search/emails", "default", self.search_emails),
        ]

    def extra_routes(self) -> list[BaseRoute]:
        return [Route("/_sandbox/files/{token}.csv", self.download, methods=["GET"])]

    # --- auth, limits, envelopes -----------------------------------------------------------------
    def credential(self, headers: Headers) -> str | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return (token.strip() or None) if scheme.lower() == "bearer" else None

    def authenticate(self, request: Request) -> Marketing | Response:
        key = self.credential(request.headers) or ""
        scopes = self.scopes_of(key)
        if not key.startswith("SG.") or scopes is None:
            return errors((None, "authorization required"), status=401, null_field=True)
        marketing = any(s.startswith("marketing.") for s in scopes)
        if request.url.path.startswith("/v3/marketing/") and not marketing:
            return errors((None, "access forbidden"), status=403, null_field=True)
        return self.account_for(key, Marketing)

    def scopes_of(self, key: str) -> tuple[str, ...] | None:
        """The scopes of a known key, ``None`` for an unknown one."""
        return self.config.demo_scopes if key == self.config.demo_key else self.config.keys.get(key)

    def rate_limit(self, group: str) -> RateLimit:
        return self.config.contacts_rate if group == "contacts" else self.config.default_rate

    def error(self, status: int, message: str) -> Response:
        return errors((None, message), status=status)

    def too_many(self, group: str, path: str, wait: float, bucket: TokenBucket | None) -> Response:
        response = errors((None, "too many requests"), status=429, null_field=True)
        self._rate_headers(response, group, 0, wait)
        return response

    def decorate(self, response: Response, group: str, bucket: TokenBucket | None) -> Response:
        if "x-ratelimit-limit" not in response.headers:
            if bucket is None:
                remaining, wait = int(self.rate_limit(group or "default").burst), 0.0
            else:
                remaining, wait = bucket.remaining(), bucket.time_to_full()
            self._rate_headers(response, group, remaining, wait)
        return response

    def _rate_headers(self, response: Response, group: str, remaining: int, wait: float) -> None:
        limit = self.rate_limit(group or "default")
        reset = math.ceil(wait) if self.config.reset_header == "delta" else math.ceil(
            time.time() + wait)
        response.headers["X-RateLimit-Limit"] = str(int(limit.burst))
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        response.headers["X-RateLimit-Reset"] = str(reset)

    def settle(self, account: Marketing) -> None:
        account.settle(self._timing(), self.files)

    def clear(self) -> None:
        self.files.clear()

    def lists_state(self, account: Marketing) -> list[dict[str, Any]]:
        contacts = account.contacts
        return [{"id": lst.id, "name": lst.name,
                 "members": [{"email": email, "fields": dict(contacts[email]["fields"])}
                             for email in account.members(lst.id)]}
                for lst in account.lists.values()]

    # --- endpoints -------------------------------------------------------------------------------
    async def scopes(self, request: Request, account: Marketing) -> Response:
        scopes = self.scopes_of(self.credential(request.headers) or "") or ()
        return JSONResponse({"scopes": list(scopes)})

    def _list_json(self, origin: str, account: Marketing, lst: MarketingList) -> dict[str, Any]:
        return {"id": lst.id, "name": lst.name,
                "contact_count": len(account.list_members.get(lst.id, ())),
                "_metadata": {"self": f"{origin}/v3/marketing/lists/{lst.id}"}}

    async def get_lists(self, request: Request, account: Marketing) -> Response:
        origin = _origin(request)
        try:
            size = int(request.query_params.get("page_size", "100"))
        except ValueError:
            size = 0
        if not 1 <= size <= 1000:
            return errors(("page_size", "page_size must be between 1 and 1000"))
        token = request.query_params.get("page_token") or ""
        offset = decode_token("o", token) if token else 0
        if offset is None:
            return errors(("page_token", "invalid page_token"))
        lists = list(account.lists.values())
        page = [self._list_json(origin, account, lst) for lst in lists[offset:offset + size]]
        base = f"{origin}/v3/marketing/lists?"
        meta: dict[str, Any] = {
            "self": base + urlencode({"page_size": size, "page_token": token}), "count": len(lists)}
        if offset + size < len(lists):
            meta["next"] = base + urlencode({"page_size": size,
                                             "page_token": encode_token("o", offset + size)})
        if offset > 0:
            back = encode_token("o", max(0, offset - size))
            meta["prev"] = base + urlencode({"page_size": size, "page_token": back})
        return JSONResponse({"result": page, "_metadata": meta})

    async def create_list(self, request: Request, account: Marketing) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            return errors(("name", "name is required and must be 1 to 100 characters"))
        if any(lst.name.lower() == name.lower() for lst in account.lists.values()):
            return errors(("name", "list name already exists"))
        if len(account.lists) >= self.config.max_lists:
            return errors(("name", f"maximum number of lists reached ({self.config.max_lists})"))
        lst = MarketingList(str(uuid.uuid4()), name)
        account.add_list(lst)
        return JSONResponse(self._list_json(_origin(request), account, lst), 201)

    async def contact_count(self, request: Request, account: Marketing) -> Response:
        members = account.list_members.get(request.path_params["id"])  # due jobs are settled
        if members is None:
            return errors(("id", "list not found"), status=404)
        return JSONResponse({"contact_count": len(members), "billable_count": len(members)})

    async def upsert(self, request: Request, account: Marketing) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        contacts, list_ids = body.get("contacts"), body.get("list_ids", [])
        if not isinstance(contacts, list) or not contacts:
            return errors(("contacts", "contacts must be a non-empty array"))
        if len(contacts) > self.config.max_contacts:
            return errors(("contacts", f"at most {self.config.max_contacts} contacts per request"))
        if not isinstance(list_ids, list) or not all(isinstance(i, str) for i in list_ids):
            return errors(("list_ids", "list_ids must be an array of list ids"))
        missing = [i for i in list_ids if i not in account.lists]
        if missing:
            return errors(("list_ids", f"list_ids not found: {', '.join(missing)}"), status=404)
        with paused_gc():
            rows, problems = contact_rows(contacts)
        if problems:
            return errors(*problems)
        job = Job(str(uuid.uuid4()), "upsert", len(rows), time.time(), 0.0, _origin(request),
                  rows=rows, list_ids=list(dict.fromkeys(list_ids)))
        self._enqueue(account, job)
        return JSONResponse({"job_id": job.id}, 202)

    async def remove_contacts(self, request: Request, account: Marketing) -> Response:
        list_id = request.path_params["id"]
        if list_id not in account.lists:
            return errors(("id", "list not found"), status=404)
        raw = request.query_params.get("contact_ids", "")
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if not ids:
            message = "contact_ids is required"
            return JSONResponse({"field": "contact_ids", "message": message,
                                 "errors": [{"field": "contact_ids", "message": message}]}, 400)
        if any(account.email_for_id(i) is None for i in ids):
            return errors(("contact_ids", "one or more contact IDs do not exist"), status=404)
        job = Job(str(uuid.uuid4()), "delete", len(ids), time.time(), 0.0, _origin(request),
                  list_ids=[list_id], contact_ids=ids)
        self._enqueue(account, job)
        return JSONResponse({"job_id": job.id}, 202)

    async def get_job(self, request: Request, account: Marketing) -> Response:
        job = account.jobs.get(request.path_params["id"])
        if job is None:
            return errors(("id", "job not found"), status=404)
        return JSONResponse(job.as_json())

    async def search_emails(self, request: Request, account: Marketing) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        emails = body.get("emails")
        if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
            return errors(("emails", "emails must be an array of strings"))
        emails = [e for e in emails if e]
        if len(emails) > self.config.max_search_emails:
            return errors(("emails", f"at most {self.config.max_search_emails} emails per search"))
        bad = [(f"emails[{i}]", f"email '{e}' is not valid")
               for i, e in enumerate(emails) if not valid_email(e)]
        if bad or not emails:
            return errors(*bad) if bad else errors(("emails", "emails must not be empty"))
        origin, result = _origin(request), {}
        for email in map(str.lower, emails):
            result[email] = ({"contact": account.details(email, origin)}
                             if email in account.contacts else {"error": "contact not found"})
        if all("error" in r for r in result.values()):
            return errors((None, "No contacts found"), status=404)
        return JSONResponse({"result": result})

    async def download(self, request: Request) -> Response:
        text = self.files.get(request.path_params["token"])
        if text is None:
            return PlainTextResponse("Not Found", 404)
        return PlainTextResponse(text, media_type="text/csv")

    # --- helpers ---------------------------------------------------------------------------------
    def _enqueue(self, account: Marketing, job: Job) -> None:
        """Queue the job, and set a timer to apply it when due: a poll then only reads its
        status. (Requests settle due jobs too, so none is ever seen unapplied.)"""
        account.enqueue(job, self._timing())
        delay = max(0.0, job.due - time.monotonic())
        asyncio.get_running_loop().call_later(delay, self.settle, account)

    def _timing(self) -> JobTiming:
        cfg = self.config
        return JobTiming(cfg.job_pending_seconds, cfg.job_contacts_per_second,
                         cfg.undeliverable_prefixes, cfg.undeliverable_fraction,
                         cfg.job_concurrency)

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = await read_json(request, self.config.max_body_bytes)
        except BadBody as exc:
            if exc.kind == "too_large":
                limit = self.config.max_body_bytes
                return errors((None, f"request body is larger than {limit} bytes"),
                              status=self.config.oversize_status)
            return errors((None, "request body is not valid JSON"))
        if not isinstance(body, dict):
            return errors((None, "request body must be a JSON object"))
        return body


def _origin(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def create_app(config: SendGridConfig | None = None) -> Starlette:
    """The SendGrid emulator as an ASGI app (``app.state.emulator`` is the emulator)."""
    return SendGridEmulator(config).app
