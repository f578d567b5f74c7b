"""429 hints in every flavour, classification and the backoff schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from segport.destinations.retry import (
    RetryPolicy,
    classify,
    exhausted_headers,
    parse_reset,
    retry_hint,
)

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "7"}, None, 7.0),
        ({"retry-after": "0"}, None, 0.0),
        ({"Retry-After": format_datetime(datetime.fromtimestamp(NOW + 12, UTC), usegmt=True)},
         None, 12.0),
        ({"X-RateLimit-Reset": str(int(NOW + 4))}, None, 4.0),  # epoch seconds
        ({"X-RateLimit-Reset": "3"}, None, 3.0),  # seconds until reset (< 10^9)
        ({"X-RateLimit-Reset": str(int(NOW - 5))}, None, 0.0),  # already past
        ({"try-in-seconds": "2"}, None, 2.0),  # Ortto
        ({}, {"msg": "Exceeded", "code": "RateLimitExceeded",
              "params": {"rateLimitLimit": 5, "rateLimitRemaining": 0, "rateLimitReset": 2}},
         2.0),
        ({}, {"params": {"rateLimitReset": int((NOW + 1.5) * 1000)}}, 1.5),  # epoch ms
        ({}, {"error": "Too Many Requests", "message": "You have exceeded"}, None),  # Autopilot
        ({"Retry-After": "soon"}, None, None),
        ({"Retry-After": "soon", "X-RateLimit-Reset": "2"}, None, 2.0),
    ],
)
def test_retry_hints(headers: dict[str, str], body: object, expected: float | None) -> None:
    hint = retry_hint(headers, body, now_epoch=NOW)
    assert hint == (None if expected is None else pytest.approx(expected, abs=1e-6))


def test_reset_threshold() -> None:
    assert parse_reset("999999999", NOW) == 999999999  # just below 10^9: a delta
    assert parse_reset(str(NOW + 1), NOW) == pytest.approx(1)
    assert parse_reset("nan", NOW) is None and parse_reset(None, NOW) is None


def test_exhausted_headers_only_when_remaining_zero() -> None:
    assert exhausted_headers({"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "1"}) is None
    assert exhausted_headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}) == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, "ok"), (202, "ok"), (401, "auth"), (403, "auth"), (429, "rate_limited"),
     (500, "retry"), (502, "retry"), (503, "retry"), (504, "retry"), (400, "client_error"),
     (404, "client_error"), (409, "client_error"), (413, "client_error"), (599, "server_error")],
)
def test_classify(status: int, kind: str) -> None:
    assert classify(status) == kind


def test_backoff_schedule_doubles_up_to_cap() -> None:
    no_jitter = RetryPolicy(base_s=0.5, cap_s=8, rng=lambda: 0.0)
    assert no_jitter.schedule(7) == [0.5, 1, 2, 4, 8, 8, 8]
    full_jitter = RetryPolicy(base_s=0.5, cap_s=8, jitter=0.5, rng=lambda: 1.0)
    assert full_jitter.schedule(4) == [0.25, 0.5, 1, 2]


def test_backoff_jitter_stays_in_bounds() -> None:
    import random

    rng = random.Random(7)
    policy = RetryPolicy(base_s=1, cap_s=30, jitter=0.5, rng=rng.random)
    for attempt in range(1, 10):
        nominal = min(30, 2 ** (attempt - 1))
        for _ in range(50):
            assert nominal * 0.5 <= policy.backoff(attempt) <= nominal
