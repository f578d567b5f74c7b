"""What the three emulators share: accounts by API key, auth-then-rate-limit endpoints, request
counters, fault injection on the wire, and the ``/_sandbox`` endpoints (state, reset, config)."""

from __future__ import annotations

import copy
import json
import logging
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from segport.model import DestinationType
from segport.sandbox.bulk import paused_gc
from segport.sandbox.config import (
    EmulatorConfig,
    PatchError,
    RateLimit,
    apply_patch,
    check,
    public_view,
)
from segport.sandbox.defaults import account_id
from segport.sandbox.faults import FaultInjector, run_with_faults, server_transport
from segport.sandbox.limits import BucketSet, TokenBucket

log = logging.getLogger("segport.sandbox")

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
#: A valid address for ``fullmatch``: dot-atoms (≤ 64 chars) @ labels (1-63, inner hyphens) and
#: a 2-63 letter TLD. Possessive quantifiers (nothing given back could match) keep it cheap.
EMAIL_PATTERN = re.compile(
    rf"(?=[^@]{{1,64}}@){_ATOM}++(?:\.{_ATOM}++)*+@"
    r"(?:(?!-)[A-Za-z0-9-]{1,63}+(?<!-)\.)++[A-Za-z]{2,63}+"
)
MAX_EMAIL_LENGTH = 254

SANDBOX_PREFIX = "/_sandbox"
_CONVERTER = re.compile(r"\{(\w+):\w+\}")


def valid_email(value: object) -> bool:
    """Syntactically valid address (what every platform refuses up front when it is not)."""
    return (isinstance(value, str) and len(value) <= MAX_EMAIL_LENGTH
            and EMAIL_PATTERN.fullmatch(value) is not None)


def iso_time(epoch: float) -> str:
    """ISO 8601 UTC, seconds precision, with a ``Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BadBody(Exception):
    """The request body is too large or not JSON (``kind`` is "too_large" or "json")."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


async def read_json(request: Request, max_bytes: int | None = None) -> Any:
    """The JSON body; the whole body is always read (so the client can read the answer) but only
    ``max_bytes`` are kept. Raises :class:`BadBody`."""
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if max_bytes is None or size <= max_bytes:
            chunks.append(chunk)
    if max_bytes is not None and size > max_bytes:
        raise BadBody("too_large")
    try:
        with paused_gc():
            return json.loads(b"".join(chunks) or b"null")
    except ValueError:
        raise BadBody("json") from None


class Account:
    """One platform account (project), opened by an API key; subclasses hold its data."""

    def __init__(self, key: str) -> None:
        self.id = account_id(key)


A = TypeVar("A", bound=Account)
Handler = Callable[[Request, Any], Awaitable[Response]]


class Emulator(ABC, Generic[A]):
    """One platform's in-memory service. Subclasses declare ``endpoints`` and the platform's
    own auth, error and 429 answers; this class does the plumbing."""

    kind: ClassVar[DestinationType]

    def __init__(self, config: EmulatorConfig) -> None:
        check(config)
        self.initial = copy.deepcopy(config)
        self.config = config
        self.accounts: dict[str, A] = {}
        self.requests: Counter[tuple[str | None, str]] = Counter()
        self.buckets = BucketSet(self.rate_limit)
        self.faults = FaultInjector(config.faults)
        routes: list[BaseRoute] = [
            Route(path, self._endpoint(group, handler), methods=[method])
            for method, path, group, handler in self.endpoints()
        ]
        routes += [
            Route(f"{SANDBOX_PREFIX}/state", self._state, methods=["GET"]),
            Route(f"{SANDBOX_PREFIX}/reset", self._reset, methods=["POST"]),
            Route(f"{SANDBOX_PREFIX}/config", self._config, methods=["GET", "POST"]),
            *self.extra_routes(),
        ]
        self.app = EmulatorApp(self, routes)

    # --- what each platform provides -------------------------------------------------------------
    @abstractmethod
    def endpoints(self) -> list[tuple[str, str, str, Handler]]:
        """``(method, path template, rate-limit group, handler(request, account))`` of the API."""

    def extra_routes(self) -> list[BaseRoute]:
        """Unauthenticated routes besides the API (e.g. files behind download URLs)."""
        return []

    @abstractmethod
    def credential(self, headers: Headers) -> str | None:
        """The API key the request's headers present, if any."""

    @abstractmethod
    def authenticate(self, request: Request) -> A | Response:
        """The account the request's key opens, or the platform's 400/401/403 answer."""

    @abstractmethod
    def rate_limit(self, group: str) -> RateLimit:
        """The current limit of a rate-limit group."""

    @abstractmethod
    def error(self, status: int, message: str) -> Response:
        """An error in the platform's own envelope."""

    @abstractmethod
    def too_many(self, group: str, path: str, wait: float, bucket: TokenBucket | None) -> Response:
        """The platform's 429 for ``path`` (``wait``: seconds until a request may succeed)."""

    @abstractmethod
    def lists_state(self, account: A) -> list[dict[str, Any]]:
        """``[{"id", "name", "members": [{"email", "fields"}]}]`` in the platform's field names."""

    def state_extras(self, account: A | None) -> dict[str, Any]:
        """Platform-specific additions to ``/_sandbox/state``."""
        return {}

    def decorate(self, response: Response, group: str, bucket: TokenBucket | None) -> Response:
        """Add headers every API response carries (SendGrid's X-RateLimit-*)."""
        return response

    def settle(self, account: A) -> None:
        """Apply background work that is due (SendGrid import jobs)."""

    def clear(self) -> None:
        """Forget platform data beyond the accounts (ids, files)."""

    # --- accounts --------------------------------------------------------------------------------
    def account_for(self, key: str, factory: Callable[[str], A]) -> A:
        """The account of a valid ``key``, created on first use."""
        ident = account_id(key)
        if ident not in self.accounts:
            self.accounts[ident] = factory(key)
        return self.accounts[ident]

    # --- fault hooks -----------------------------------------------------------------------------
    def error_response(self, status: int, scope: Scope) -> Response:
        """An injected 5xx: the platform's JSON for 500, a load balancer's HTML page for 502/503."""
        if status in (502, 503):
            title = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable"}[status]
            page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
            response: Response = HTMLResponse(page, status_code=status)
        else:
            response = self.error(status, "Internal server error")
        group = self.group_of(scope)
        return self.decorate(response, group, None)

    def storm_response(self, seconds_left: float, scope: Scope) -> Response:
        """An injected 429 during a storm, with the platform's headers."""
        group = self.group_of(scope)
        response = self.too_many(group, scope["path"], seconds_left, None)
        return self.decorate(response, group, None)

    # --- plumbing --------------------------------------------------------------------------------
    def template_of(self, scope: Scope) -> tuple[str, str]:
        """``(path template, rate-limit group)`` of a request ("" group when no route matches)."""
        found: Route | None = None
        for route in self.app.routes:
            match, _ = route.matches(scope)
            if isinstance(route, Route) and match is Match.FULL:
                found = route
                break
            if isinstance(route, Route) and match is Match.PARTIAL and found is None:
                found = route  # the path matches, the method does not (405)
        if found is None:
            return scope["path"], ""
        return _CONVERTER.sub(r"{\1}", found.path), getattr(found.endpoint, "group", "")

    def group_of(self, scope: Scope) -> str:
        """The rate-limit group of a request."""
        return self.template_of(scope)[1]

    def _endpoint(self, group: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            found = self.authenticate(request)
            if isinstance(found, Response):
                return self.decorate(found, group, None)
            self.settle(found)
            bucket = self.buckets.get(found.id, group)
            if not bucket.try_acquire():
                limited = self.too_many(group, request.url.path, bucket.wait_time(), bucket)
                return self.decorate(limited, group, bucket)
            return self.decorate(await handler(request, found), group, bucket)

        endpoint.group = group  # type: ignore[attr-defined]
        return endpoint

    def count(self, key: str | None, method: str, template: str, outcome: str) -> None:
        """Record one request as ``"<METHOD> <template> <status|reset|timeout|disconnect>"``."""
        label = f"{method} {template} {outcome}"
        self.requests[(account_id(key) if key else None, label)] += 1
        log.debug("%s", label)

    def selected_account(self, request: Request) -> tuple[str, bool]:
        """The account ``/_sandbox/state`` reports: ``?account=<id>``, else the key presented in the
        platform's header, else the demo account. The flag says whether it was chosen."""
        if chosen := request.query_params.get("account"):
            return chosen, True
        if key := self.credential(request.headers):
            return account_id(key), True
        return account_id(self.config.demo_key), False

    async def _state(self, request: Request) -> Response:
        ident, chosen = self.selected_account(request)
        account = self.accounts.get(ident)
        if account is not None:
            self.settle(account)
        counts: Counter[str] = Counter()
        for (owner, label), n in self.requests.items():
            if not chosen or owner == ident:
                counts[label] += n
        lists = self.lists_state(account) if account is not None else []
        state = {"lists": lists, "requests": dict(sorted(counts.items()))}
        return JSONResponse({**state, **self.state_extras(account)})

    async def _reset(self, request: Request) -> Response:
        keep = request.query_params.get("keep_config", "").lower() in ("1", "true", "yes")
        self.reset(keep_config=keep)
        return JSONResponse({"reset": True, "kept_config": keep})

    def reset(self, keep_config: bool = False) -> None:
        """Forget lists, contacts, jobs, counters and buckets; accounts (keys) stay valid. Unless
        ``keep_config``, the limits and faults go back to those the emulator started with."""
        if not keep_config:
            self.config = copy.deepcopy(self.initial)
        self.accounts.clear()
        self.requests.clear()
        self.buckets.clear()
        self.faults.configure(self.config.faults)
        self.clear()

    async def _config(self, request: Request) -> Response:
        if request.method == "POST":
            candidate = copy.deepcopy(self.config)
            try:
                patch = await read_json(request)
                apply_patch(candidate, patch)
                check(candidate)
            except (BadBody, PatchError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            self.config = candidate  # all or nothing
            self.buckets.clear()
            if "faults" in patch:
                self.faults.configure(self.config.faults)  # reseeds; starts a storm if asked
            else:
                self.faults.config = self.config.faults
        return JSONResponse(public_view(self.config))


class EmulatorApp(Starlette):
    """A Starlette app whose outermost layer is the wire (counters and faults)."""

    def __init__(self, emulator: Emulator[Any], routes: list[BaseRoute]) -> None:
        super().__init__(routes=routes, exception_handlers={HTTPException: self._http_error})
        self.emulator = emulator
        self.state.emulator = emulator

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = {404: "Not found", 405: "Method not allowed"}.get(status, "Error")
        return self.emulator.decorate(self.emulator.error(status, message), "", None)

    def build_middleware_stack(self) -> ASGIApp:
        return Wire(super().build_middleware_stack(), self.emulator)


class Wire:
    """Outermost ASGI layer: decides and injects faults, then counts what the client saw."""

    def __init__(self, app: ASGIApp, emulator: Emulator[Any]) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(SANDBOX_PREFIX):
            await self.app(scope, receive, send)
            return
        emulator = self.emulator
        transport = server_transport(send)
        template, _ = emulator.template_of(scope)
        statuses: list[int] = []

        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        decision = emulator.faults.decide(scope["method"], template)
        try:
            outcome = await run_with_faults(decision, scope, receive, recording_send, self.app,
                                            emulator, transport, emulator.faults.config)
        except ClientDisconnect:  # the client went away before its body was read: nothing done
            outcome = "disconnect"
        label = outcome or (str(statuses[0]) if statuses else "none")
        key = emulator.credential(Headers(scope=scope))
        emulator.count(key, scope["method"], template, label)
