"""One HTTP session per destination: keep-alive client, pacing, retries, redacted records.

Everything that leaves this module is built from segport's own text: httpx exceptions (whose
request carries the auth header) are caught, summarised and dropped, so no message, repr,
traceback context or record can contain the key.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx

from segport.destinations.errors import (
    DestinationAuthError,
    DestinationConnectionError,
    DestinationProtocolError,
    DestinationRetryExhaustedError,
    DestinationTimeoutError,
    DestinationUnreachableError,
    redact,
)
from segport.destinations.pacing import Clock, Sleep, TokenBucket, WaitEvent, WaitReason, WaitStats
from segport.destinations.retry import RetryPolicy, classify, exhausted_headers, retry_hint
from segport.destinations.wire import (
    ApiResponse,
    RequestRecord,
    Secret,
    encode_json,
    error_message,
    parse_body,
)

__all__ = ["ApiResponse", "ApiSession", "RequestRecord", "Secret", "encode_json",
           "error_message"]

log = logging.getLogger("segport.destinations")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


RetryWhen = Callable[[ApiResponse], bool]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificate-verifying TLS context every client shares (httpx's default, built once
    a process: loading the CA bundle costs tens of milliseconds)."""
    return ssl.create_default_context(cafile=certifi.where())


class ApiSession:
    """A paced, retrying JSON client for one platform account."""

    def __init__(
        self,
        name: str,
        base_url: str,
        auth_headers: Mapping[str, str],
        *,
        secret: Secret,
        policy: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
        max_in_flight: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        on_wait: Callable[[WaitEvent], None] | None = None,
        on_record: Callable[[RequestRecord], None] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.prefix = urlsplit(self.base_url).path.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.stats = WaitStats()
        self._secret = secret
        self._on_wait = on_wait
        self._on_record = on_record
        self._clock = clock
        self._sleep = sleep
        self._slots = asyncio.Semaphore(max(1, max_in_flight))
        self._timeout = timeout or DEFAULT_TIMEOUT
        self._transport = transport
        self._client = httpx.AsyncClient(
            base_url=self.base_url, verify=tls_context(),
            headers={**auth_headers, "Accept": "application/json"},
            timeout=timeout or DEFAULT_TIMEOUT,
            limits=httpx.Limits(
                max_connections=max_in_flight + 4, max_keepalive_connections=max_in_flight + 4
            ),
            transport=transport,
            follow_redirects=False,
        )
        self._bare_client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"ApiSession({self.name!r}, {self.base_url!r})"

    async def aclose(self) -> None:
        """Close the keep-alive connections."""
        await self._client.aclose()
        if self._bare_client is not None:
            await self._bare_client.aclose()

    @property
    def _bare(self) -> httpx.AsyncClient:
        """For URLs on other hosts (pre-signed downloads): no auth header, ever. Made when
        first needed."""
        if self._bare_client is None:
            self._bare_client = httpx.AsyncClient(
                timeout=self._timeout, transport=self._transport, verify=tls_context(),
                follow_redirects=True)
        return self._bare_client

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` is on this session's host (so the key may be sent there)."""
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def _clean(self, text: str) -> str:
        return redact(text, self._secret.reveal())

    def _wait_event(self, reason: WaitReason, seconds: float, path: str) -> None:
        if seconds <= 0:
            return
        event = WaitEvent(self.name, reason, seconds, path)
        self.stats.add(event)
        if self._on_wait is not None:
            self._on_wait(event)

    def _record(self, record: RequestRecord, into: list[RequestRecord]) -> None:
        into.append(record)
        self.stats.requests += 1
        if record.status is not None:
            self.stats.by_status[record.status] = self.stats.by_status.get(record.status, 0) + 1
        if self._on_record is not None:
            self._on_record(record)
        log.debug("%s %s %s %s %.3fs", self.name, record.method, record.path, record.status,
                  record.duration_s)

    async def _send(
        self, method: str, url: str, content: bytes | None, params: Mapping[str, str] | None,
        timeout: httpx.Timeout | None, auth: bool,
    ) -> tuple[httpx.Response | None, DestinationConnectionError | None]:
        """One attempt; transport failures come back as segport errors with clean text."""
        headers = {"Content-Type": "application/json"} if content is not None else None
        kind: type[DestinationConnectionError] | None = None
        what = ""
        try:
            if auth:
                response = await self._client.request(
                    method, url, content=content, params=params, headers=headers,
                    timeout=timeout or httpx.USE_CLIENT_DEFAULT,
                )
            else:  # a foreign host (e.g. a pre-signed download): never send the key there
                response = await self._bare.request(method, url, params=params)
            await response.aread()
            return response, None
        except httpx.ConnectTimeout:
            kind, what = DestinationUnreachableError, "did not accept a connection in time"
        except httpx.ConnectError:
            kind, what = DestinationUnreachableError, "could not be reached (connection failed)"
        except httpx.TimeoutException:
            kind, what = DestinationTimeoutError, "did not answer in time"
        except httpx.HTTPError as exc:  # resets, RemoteProtocolError, read/write errors
            kind, what = DestinationProtocolError, f"dropped the connection ({type(exc).__name__})"
        # Built outside the except block: no __context__ pointing at the httpx request.
        host = urlsplit(url).netloc or urlsplit(self.base_url).netloc
        return None, kind(self._clean(f"{self.name} at {host} {what}."))

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        bucket: TokenBucket | None = None,
        budget_s: float | None = None,
        retry_when: RetryWhen | None = None,
        retry_when_budget_s: float = 10.0,
        retry_transport_errors: bool = True,
        record_path: str | None = None,
        records: list[RequestRecord] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> ApiResponse:
        """Send until a final answer: 2xx, or a 4xx that ``retry_when`` does not want retried.

        Raises DestinationAuthError on 401/403 at once; after ``budget_s`` of retrying raises
        the last connection error, or DestinationRetryExhaustedError for 429/5xx.
        """
        if json_body is not None:
            content = encode_json(json_body)
        auth = not path.startswith(("http://", "https://")) or self.same_origin(path)
        if record_path is not None:
            shown = record_path
        elif path.startswith(("http://", "https://")):
            shown = urlsplit(path).path
        else:
            shown = self.prefix + path.split("?", 1)[0]
        budget = self.policy.budget_s if budget_s is None else budget_s
        log_into: list[RequestRecord] = [] if records is None else records
        started: float | None = None
        attempt = 0
        while True:
            attempt += 1
            if bucket is not None:
                self._wait_event("pace", await bucket.acquire(), shown)
            async with self._slots:
                t0 = self._clock()
                response, error = await self._send(method, path, content, params, timeout, auth)
                duration = self._clock() - t0
            started = t0 if started is None else started
            status = response.status_code if response is not None else None
            self._record(RequestRecord(method, shown, status, round(duration, 4), attempt,
                                       str(error) if error else None), log_into)
            elapsed = self._clock() - started
            if error is not None:
                unsent = isinstance(error, DestinationUnreachableError)
                if not retry_transport_errors and not unsent:
                    raise error  # the request may have been processed: the caller decides
                delay = self.policy.backoff(attempt)
                limit = budget
                if unsent and self.policy.unreachable_budget_s is not None:
                    limit = min(budget, self.policy.unreachable_budget_s)
                if elapsed + delay > limit:
                    raise type(error)(f"{error} Gave up after {attempt} attempts "
                                      f"in {elapsed:.0f} s.")
                await self._pause("backoff", delay, shown, None)
                continue
            assert response is not None
            result = ApiResponse(status, parse_body(response, self._clean), dict(response.headers),
                                 log_into)
            kind = classify(status)
            if kind == "ok":
                hold = exhausted_headers(result.headers)
                if hold and bucket is not None:
                    bucket.pause_for(min(hold, self.policy.max_hint_s))
                return result
            if kind == "auth":
                raise DestinationAuthError(self._auth_message(result), status)
            if kind == "client_error":
                if retry_when is None or not retry_when(result) or elapsed > retry_when_budget_s:
                    return result
                kind = "retry"
            hint = retry_hint(result.headers, result.body)
            if kind == "rate_limited":
                self.stats.rate_limited += 1
            if hint is None or (kind != "rate_limited" and hint <= 0):
                delay = self.policy.backoff(attempt)
            else:  # honour the hint; should it keep failing, back off beyond it too
                delay = min(hint, self.policy.max_hint_s) * (1 + 0.1 * self.policy.rng()) + 0.01
                if attempt >= 3:
                    delay = max(delay, self.policy.backoff(attempt - 2))
            if elapsed + delay > budget:
                raise DestinationRetryExhaustedError(self._clean(
                    f"{self.name} kept answering HTTP {status} ({result.message() or 'no detail'})"
                    f"; gave up after {attempt} attempts in {elapsed:.0f} s."), status)
            reason: WaitReason = "rate_limited" if kind == "rate_limited" else "backoff"
            await self._pause(reason, delay, shown, bucket if kind == "rate_limited" else None)

    async def _pause(
        self, reason: WaitReason, delay: float, path: str, bucket: TokenBucket | None
    ) -> None:
        self.stats.retries += 1
        if bucket is not None:
            bucket.pause_for(delay)  # every request of this bucket holds back, not just this one
        self._wait_event(reason, delay, path)
        await self._sleep(delay)

    def _auth_message(self, result: ApiResponse) -> str:
        detail = result.message()
        text = (f"{self.name} rejected the API key (HTTP {result.status}"
                f"{': ' + detail if detail else ''}). Check the key in the connection settings, "
                "and that it has the permissions segport needs.")
        return self._clean(text)
