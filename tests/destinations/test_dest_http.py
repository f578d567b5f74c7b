"""Retries, 429 flavours, fail-fast and the retry budget, on a MockTransport and a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dest_support import Captured, FakeTime

from segport.destinations import (
    Contact,
    Destination,
    DestinationAuthError,
    DestinationTimeoutError,
    DestinationUnreachableError,
    RetryPolicy,
    WaitEvent,
)

Build = Callable[..., tuple[Destination, Captured]]
SUBSCRIBED = {"successCount": 2, "failCount": 0, "invalidEmails": [], "invalidUserIds": [],
              "failedUpdates": {}}
PEOPLE = [Contact("a@example.com", "Ann"), Contact("b@example.com")]


def sequence(*responses: Any) -> Callable[[httpx.Request], httpx.Response]:
    """Answer with each item in turn (the last repeats); exceptions are raised."""
    items = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


async def test_iterable_429_waits_for_body_reset(mocked: Build, fake_time: FakeTime) -> None:
    events: list[WaitEvent] = []
    limited = httpx.Response(429, json={"msg": "Exceeded rate limit", "code": "RateLimitExceeded",
                                        "params": {"rateLimitLimit": 5, "rateLimitRemaining": 0,
                                                   "rateLimitReset": 3}})
    ok = httpx.Response(200, json=SUBSCRIBED)
    dest, _ = mocked("iterable", sequence(limited, limited, ok), on_wait=events.append)
    result = await dest.upsert("7", PEOPLE)
    assert result.accepted == ["a@example.com", "b@example.com"]
    assert [r.status for r in result.records] == [429, 429, 200]
    assert [r.attempt for r in result.records] == [1, 2, 3]
    limited_waits = [e.seconds for e in events if e.reason == "rate_limited"]
    assert len(limited_waits) == 2 and all(3.0 <= w <= 3.4 for w in limited_waits)
    assert dest.stats.rate_limited == 2 and dest.stats.rate_limited_s == pytest.approx(
        sum(limited_waits))
    assert fake_time.now - 1000 >= 6


async def test_autopilot_429_without_hint_backs_off_exponentially(
    mocked: Build, fake_time: FakeTime
) -> None:
    limited = httpx.Response(429, json={"error": "Too Many Requests",
                                        "message": "You have exceeded your request rate of 5 r/s."})
    dest, _ = mocked("autopilot", sequence(limited, limited, limited,
                                           httpx.Response(200, json={"contact_ids": ["p1", "p2"]})),
                     policy=RetryPolicy(base_s=0.5, rng=lambda: 0.0))
    result = await dest.upsert("contactlist_1", PEOPLE)
    assert len(result.accepted) == 2
    backoffs = [s for s in fake_time.sleeps if s >= 0.5]
    assert backoffs == [0.5, 1.0, 2.0]


async def test_sendgrid_429_honours_ratelimit_reset_seconds(mocked: Build) -> None:
    events: list[WaitEvent] = []
    limited = httpx.Response(429, headers={"X-RateLimit-Reset": "4", "X-RateLimit-Remaining": "0",
                                           "X-RateLimit-Limit": "3"},
                             json={"errors": [{"field": None, "message": "too many requests"}]})
    job = httpx.Response(202, json={"job_id": "j1"})
    dest, _ = mocked("sendgrid", sequence(limited, job), on_wait=events.append)
    result = await dest.upsert("list-1", PEOPLE, confirm=False)
    assert [j.job_id for j in result.jobs] == ["j1"]
    assert [round(e.seconds) for e in events if e.reason == "rate_limited"] == [4]


@pytest.mark.parametrize("failure", [
    httpx.Response(500, json={"msg": "oops"}),
    httpx.Response(503, text="<html>busy</html>"),
    httpx.ReadTimeout("read timed out"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
    httpx.ReadError("Connection reset by peer"),
])
async def test_transient_failures_are_retried(mocked: Build, failure: Any) -> None:
    ok = httpx.Response(200, json=SUBSCRIBED)
    dest, seen = mocked("iterable", sequence(failure, failure, ok))
    result = await dest.upsert("7", PEOPLE)
    assert result.accepted == ["a@example.com", "b@example.com"]
    assert len(seen.requests) == 3
    assert result.records[0].status in (500, 503, None)
    assert result.records[-1].status == 200


async def test_retry_budget_exhausted_reports_every_row(mocked: Build, fake_time: FakeTime) -> None:
    dest, seen = mocked("iterable", sequence(httpx.Response(503, json={"msg": "down"})),
                        policy=RetryPolicy(budget_s=30, rng=lambda: 0.0))
    result = await dest.upsert("7", PEOPLE)
    assert [o.email for o in result.outcomes] == ["a@example.com", "b@example.com"]
    assert all(not o.accepted and o.retryable for o in result.outcomes)
    assert "503" in (result.outcomes[0].reason or "")
    assert fake_time.now - 1000 <= 30 + 1
    assert len(seen.requests) > 3


async def test_bad_key_fails_fast(mocked: Build) -> None:
    dest, seen = mocked("autopilot", sequence(httpx.Response(
        401, json={"error": "Unauthorized", "message": "Provided autopilotapikey not valid."})))
    with pytest.raises(DestinationAuthError, match="rejected the API key"):
        await dest.upsert("contactlist_1", PEOPLE)
    assert len(seen.requests) == 1


async def test_other_4xx_is_not_retried(mocked: Build) -> None:
    dest, seen = mocked("iterable", sequence(httpx.Response(
        400, json={"msg": "listId does not exist", "code": "BadParams", "params": None})))
    result = await dest.upsert("7", PEOPLE)
    assert len(seen.requests) == 1
    assert all(not o.accepted and not o.retryable for o in result.outcomes)
    assert "listId does not exist" in (result.outcomes[0].reason or "")


async def test_validate_distinguishes_unreachable_and_timeout(mocked: Build) -> None:
    dest, _ = mocked("sendgrid", sequence(httpx.ConnectError("[Errno 111] Connection refused")),
                     validate_budget_s=2)
    with pytest.raises(DestinationUnreachableError, match="could not be reached"):
        await dest.validate()
    dest, _ = mocked("sendgrid", sequence(httpx.ReadTimeout("timed out")), validate_budget_s=2)
    with pytest.raises(DestinationTimeoutError, match="did not answer in time"):
        await dest.validate()


async def test_success_with_remaining_zero_pauses_the_bucket(
    mocked: Build, fake_time: FakeTime
) -> None:
    drained = httpx.Response(202, json={"job_id": "j"},
                             headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"})
    dest, _ = mocked("sendgrid", sequence(drained))
    await dest.upsert("l", PEOPLE, confirm=False)
    start = fake_time.now
    await dest.upsert("l", PEOPLE, confirm=False)
    assert fake_time.now - start == pytest.approx(2.0, abs=0.05)
