"""The one interface every destination platform implements (values live in ``values``)."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar

import httpx

from segport.destinations.batching import fits, split
from segport.destinations.catalogue import API_FIELDS
from segport.destinations.errors import (
    DestinationAuthError,
    DestinationConnectionError,
    DestinationError,
    DestinationRequestError,
    DestinationResponseError,
    DestinationRetryExhaustedError,
)
from segport.destinations.http import ApiResponse, ApiSession, RequestRecord, Secret, encode_json
from segport.destinations.pacing import Clock, Sleep, TokenBucket, WaitEvent, WaitStats
from segport.destinations.retry import RetryPolicy
from segport.destinations.values import (
    AccountInfo,
    Batch,
    BatchResult,
    Contact,
    Limits,
    ListRef,
    PendingJob,
    RowOutcome,
    bad_rows,
    failed,
)
from segport.model import DataCenter, DestinationType

__all__ = [
    "AccountInfo", "Batch", "BatchResult", "Contact", "Destination", "Limits", "ListRef",
    "PendingJob", "RowOutcome", "bad_rows", "failed", "most_telling",
]

#: Bytes kept free in every batch for the envelope around the contacts (list ids, keys).
ENVELOPE_RESERVE = 512


def most_telling(group: BaseExceptionGroup) -> BaseException:
    """The exception to surface from a failed task group: an auth error first."""
    flat: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        else:
            flat.append(exc)
    return next((e for e in flat if isinstance(e, DestinationAuthError)), flat[0])


def refused(platform: str, what: str, response: ApiResponse) -> DestinationRequestError:
    """The error for ``platform`` refusing to ``what`` (its status and own words)."""
    return DestinationRequestError(
        f"{platform} refused to {what} (HTTP {response.status}: {response.message()}).",
        response.status, response.message())


class Destination(ABC):
    """A platform account segport exports to. Use as ``async with``; one HTTP client each."""

    type: ClassVar[DestinationType]
    label: ClassVar[str]
    default_limits: ClassVar[Limits]
    #: Bytes each contact adds to a body beyond its own JSON (separator, per-item list tag).
    item_overhead: ClassVar[int] = 1

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        data_center: DataCenter | None = None,
        *,
        limits: Limits | None = None,
        policy: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        validate_budget_s: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_wait: Callable[[WaitEvent], None] | None = None,
        on_record: Callable[[RequestRecord], None] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not api_key or not api_key.strip():
            raise DestinationAuthError(f"No API key given for {self.label}.")
        self._key = Secret(api_key.strip())
        self.data_center: DataCenter | None = data_center
        self.base_url = (base_url or self.default_base_url(data_center)).rstrip("/")
        self.limits = limits or self.default_limits
        self.validate_budget_s = validate_budget_s
        if isinstance(timeout, int | float):
            timeout = httpx.Timeout(float(timeout), connect=min(5.0, float(timeout)))
        # Connect answers within seconds or says why: never the 30 s a bulk upload may take.
        read = timeout.read if timeout is not None and timeout.read is not None else 30.0
        self.validate_timeout = httpx.Timeout(min(10.0, read), connect=min(5.0, read))
        self._clock, self._sleep = clock, sleep
        self._transport = transport
        self.session = ApiSession(
            self.label, self.base_url, self.auth_headers(self._key.reveal()), secret=self._key,
            policy=policy, timeout=timeout, max_in_flight=self.limits.max_in_flight,
            transport=transport, on_wait=on_wait, on_record=on_record, clock=clock, sleep=sleep,
        )
        self.bucket = self.make_bucket(self.limits.requests_per_s)

    def make_bucket(self, rate: float) -> TokenBucket:
        """A token bucket at ``rate`` on this destination's clock.

        Capacity 1 (evenly spaced requests): the platform's own burst then absorbs network
        jitter, so pacing at the full documented rate draws no 429s.
        """
        return TokenBucket(rate, 1, clock=self._clock, sleep=self._sleep)

    # -- what each platform defines ---------------------------------------------------------

    @classmethod
    @abstractmethod
    def default_base_url(cls, data_center: DataCenter | None) -> str:
        """The real API host (and path prefix) for ``data_center``."""

    @abstractmethod
    def auth_headers(self, key: str) -> dict[str, str]:
        """The header(s) carrying the key."""

    @abstractmethod
    def payload_item(self, contact: Contact, list_id: str = "") -> dict[str, Any]:
        """One contact as the platform's upsert body carries it."""

    @abstractmethod
    def upsert_body(self, list_id: str, items: Sequence[bytes]) -> bytes:
        """The upsert request body around already encoded contacts (see ``encode``)."""

    @abstractmethod
    async def validate(self) -> AccountInfo:
        """Check the key with a cheap authenticated call and report what it can see."""

    @abstractmethod
    async def lists(self) -> list[ListRef]:
        """Every list the key can see."""

    @abstractmethod
    async def ensure_list(self, name: str) -> ListRef:
        """The list called ``name``: reused when it exists, created when missing."""

    def _raise_unless_ok(self, response: ApiResponse, what: str) -> None:
        """Raise :func:`refused` unless the platform answered 2xx."""
        if not response.ok:
            raise refused(self.label, what, response)

    @abstractmethod
    async def list_size(self, list_id: str) -> int | None:
        """How many members the list holds (None: the platform cannot tell cheaply)."""

    @abstractmethod
    async def members_among(self, list_id: str, emails: Sequence[str], size: int | None,
                            asked: int) -> set[str]:
        """Which of ``emails`` (normalised) the list already holds. ``size`` (from
        :meth:`list_size`) and ``asked`` (how many emails will be asked about this list in
        all, these among them) let a platform pick the cheaper way to ask."""

    @abstractmethod
    async def _upsert_batch(self, list_id: str, batch: Batch) -> BatchResult:
        """Send one batch that fits the limits."""

    async def _send_setting_aside(
        self, list_id: str, batch: Batch, method: str, path: str,
        accept: Callable[[ApiResponse, list[str], BatchResult], bool],
        named_rows: Callable[[ApiResponse, list[str]], dict[int, str]],
    ) -> BatchResult:
        """Send the batch; rows a 400 names are set aside as rejected and the rest resent.

        ``accept`` records a successful answer in the result and says whether it was one;
        ``named_rows`` reads a 400's body for the rows (index in this request → reason) it names.
        """
        result = BatchResult()
        rows = list(range(len(batch)))
        while rows:
            body = self.upsert_body(list_id, [batch.encoded[i] for i in rows])
            response = await self.session.request(method, path, content=body, bucket=self.bucket,
                                                  records=result.records)
            emails = [batch[i].email for i in rows]
            if accept(response, emails, result):
                return result
            named = named_rows(response, emails) if response.status == 400 else {}
            if not named:
                reason = f"HTTP {response.status}: {response.message() or 'refused'}"
                result.outcomes.extend(failed(emails, reason, retryable=False))
                return result
            result.outcomes.extend(RowOutcome(emails[i], False, why)
                                   for i, why in sorted(named.items()))
            rows = [row for i, row in enumerate(rows) if i not in named]
        return result

    @abstractmethod
    async def _remove_batch(self, list_id: str, emails: Sequence[str]) -> BatchResult:
        """Remove one batch of emails from the list."""

    async def confirm(self, result: BatchResult) -> BatchResult:
        """Wait for the platform's jobs in ``result`` and settle their rows (no-op by default)."""
        return result

    def precheck(self, contact: Contact) -> str | None:
        """Why the platform would refuse this row outright (checked before sending), or None."""
        return None

    def refusals(self, contacts: Sequence[Contact]) -> dict[str, str]:
        """email → ``precheck`` reason, for each contact refused (platforms may be faster)."""
        return {c.email: why for c in contacts if (why := self.precheck(c)) is not None}

    # -- batching ----------------------------------------------------------------------------

    @property
    def api_fields(self) -> dict[str, str]:
        """segport field name → the platform's field name."""
        return API_FIELDS[self.type]

    def mapped(self, contact: Contact) -> dict[str, str]:
        """The contact's optional fields that this platform takes, in the platform's names."""
        names = API_FIELDS[self.type]
        return {names[k]: v for k, v in contact.fields().items() if k in names}

    @property
    def stats(self) -> WaitStats:
        """Waits, retries and statuses so far."""
        return self.session.stats

    def encode(self, contact: Contact) -> bytes:
        """A contact's JSON as it goes into a batch body (list-independent)."""
        return encode_json(self.payload_item(contact))

    def encode_many(self, contacts: Sequence[Contact]) -> list[bytes]:
        """``encode`` of each contact, in order (a platform may encode a run faster at once)."""
        return [self.encode(c) for c in contacts]

    def batches(self, contacts: Iterable[Contact]) -> Iterator[Batch]:
        """Split into batches within the limits, by count AND serialized bytes.

        Each contact is encoded once; the bytes travel with the batch. A contact that alone
        exceeds the byte limit comes out as a batch of one marked ``oversize`` (never sent).
        """
        return split(contacts, self.encode_many, **self._batch_limits())

    def _fits(self, batch: Batch) -> bool:
        """Whether a prepared batch is within this client's limits as it stands."""
        return fits(batch, **self._batch_limits())

    def _batch_limits(self) -> dict[str, int]:
        return {"max_count": self.limits.max_batch_count, "item_overhead": self.item_overhead,
                "room": self.limits.max_batch_bytes - ENVELOPE_RESERVE}

    # -- upsert and remove ----------------------------------------------------------------------

    async def upsert(
        self, list_id: str, contacts: Sequence[Contact], *, confirm: bool = True
    ) -> BatchResult:
        """Add or update contacts on the list; every row gets an outcome.

        A ``Batch`` from ``batches`` is sent as is; anything else is split first, so nothing
        oversize is ever sent. With ``confirm`` (the default) asynchronous platform jobs are
        awaited before returning.
        """
        result = BatchResult()
        refused = self.refusals(contacts)
        result.outcomes.extend(RowOutcome(e, False, why) for e, why in refused.items())
        if isinstance(contacts, Batch) and not refused and self._fits(contacts):
            batches: Iterable[Batch] = [contacts]
        else:
            batches = self.batches(c for c in contacts if c.email not in refused)
        for batch in batches:
            if batch.oversize:
                result.outcomes.append(RowOutcome(batch[0].email, False,
                                                  "contact too large for one request"))
                continue
            result.extend(await self._guard([c.email for c in batch],
                                            lambda b=batch: self._upsert_batch(list_id, b)))
        return await self.confirm(result) if confirm else result

    async def remove(self, list_id: str, emails: Sequence[str]) -> BatchResult:
        """Take emails off the list (not off the platform); every row gets an outcome."""
        result = BatchResult()
        step = self.limits.remove_batch_count
        for start in range(0, len(emails), step):
            chunk = list(emails[start:start + step])
            result.extend(await self._guard(chunk, lambda c=chunk: self._remove_batch(list_id, c)))
        return await self.confirm(result)

    async def upsert_all(
        self,
        list_id: str,
        contacts: Iterable[Contact],
        on_batch: Callable[[BatchResult], Awaitable[None] | None] | None = None,
        on_sent: Callable[[int], None] | None = None,
        on_sending: Callable[[Batch], Awaitable[None]] | None = None,
    ) -> BatchResult:
        """Upsert everything, up to ``max_in_flight`` uploads at once; confirmed results.

        A batch's slot is freed once its upload was accepted: its platform job (SendGrid) is
        awaited beside later uploads. ``on_sent`` hears each upload's size once the platform
        took it; ``on_batch`` sees each batch's confirmed result as it completes (to commit a
        ledger) — then the returned result is empty: a million outcomes are not kept.
        ``on_sending`` is awaited with each batch just before it goes out.
        """
        total = BatchResult()
        slots = asyncio.Semaphore(self.limits.max_in_flight)

        async def one(batch: Batch) -> None:
            try:
                if on_sending is not None:
                    await on_sending(batch)
                sent = await self.upsert(list_id, batch, confirm=False)
            finally:
                slots.release()
            if on_sent is not None:
                on_sent(len(batch))
            del batch  # contacts and their JSON are no longer needed while the job runs
            result = await self.confirm(sent)
            if on_batch is None:
                total.extend(result)
                return
            maybe = on_batch(result)  # the caller keeps what it needs: nothing piles up here
            if maybe is not None:
                await maybe

        try:
            async with asyncio.TaskGroup() as group:
                for batch in self.batches(contacts):
                    await slots.acquire()  # at most max_in_flight batches materialised at once
                    group.create_task(one(batch))
                    await asyncio.sleep(0)  # let it start before encoding the next batch
        except BaseExceptionGroup as failures:
            raise most_telling(failures) from None
        return total

    async def _guard(
        self, emails: list[str], send: Callable[[], Awaitable[BatchResult]]
    ) -> BatchResult:
        """Run one batch; a failure of the batch becomes a failed outcome for each row.

        Auth errors propagate (fail fast: no later batch can succeed either).
        """
        try:
            return await send()
        except DestinationAuthError:
            raise
        except (DestinationConnectionError, DestinationRetryExhaustedError,
                DestinationResponseError) as exc:  # the platform may have done it: unknown
            return BatchResult(failed(emails, str(exc), retryable=True))
        except DestinationError as exc:
            return BatchResult(failed(emails, str(exc), retryable=False))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.session.aclose()

    async def __aenter__(self) -> Destination:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        dc = f", data_center={self.data_center!r}" if self.data_center else ""
        return f"{type(self).__name__}(base_url={self.base_url!r}{dc}, api_key='***')"
