"""When to retry, how long to wait, and how to read a platform's "come back later" hints."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

#: Values of a reset header below this are "seconds from now", above it a Unix time.
EPOCH_THRESHOLD = 1e9


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by a total time budget per request."""

    base_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 20.0
    budget_s: float = 120.0
    max_hint_s: float = 60.0
    jitter: float = 0.5
    #: A shorter budget for a host that accepts no connection at all (None: ``budget_s``):
    #: the sandbox on loopback is either running or not, and waiting tells the user nothing.
    unreachable_budget_s: float | None = None
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        The nominal delay ``base * factor**(attempt-1)`` (capped) loses a random share of up to
        ``jitter`` of itself, so concurrent clients spread out instead of retrying in step.
        """
        nominal = min(self.cap_s, self.base_s * self.factor ** max(0, attempt - 1))
        return nominal * (1.0 - self.jitter * self.rng())

    def schedule(self, attempts: int) -> list[float]:
        """The first ``attempts`` backoff delays (for display and tests)."""
        return [self.backoff(n) for n in range(1, attempts + 1)]


#: Statuses worth retrying after a wait (429 is handled separately, with hints).
RETRYABLE_STATUSES = frozenset({408, 425, 500, 502, 503, 504, 520, 521, 522, 523, 524})
AUTH_STATUSES = frozenset({401, 403})


def classify(status: int) -> str:
    """``ok`` | ``auth`` | ``rate_limited`` | ``retry`` | ``client_error`` | ``server_error``."""
    if 200 <= status < 300:
        return "ok"
    if status in AUTH_STATUSES:
        return "auth"
    if status == 429:
        return "rate_limited"
    if status in RETRYABLE_STATUSES:
        return "retry"
    if 400 <= status < 500:
        return "client_error"
    return "server_error"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # drop NaN


def parse_reset(value: Any, now_epoch: float) -> float | None:
    """Seconds until a reset given as seconds-from-now, Unix seconds, or Unix milliseconds."""
    number = _number(value)
    if number is None:
        return None
    if number >= EPOCH_THRESHOLD * 1000:  # epoch milliseconds
        number = number / 1000.0 - now_epoch
    elif number >= EPOCH_THRESHOLD:
        number = number - now_epoch
    return max(0.0, number)


def parse_retry_after(value: str, now_epoch: float) -> float | None:
    """``Retry-After`` as delta-seconds or an HTTP-date."""
    value = value.strip()
    number = _number(value)
    if number is not None:
        return max(0.0, number)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_epoch)


def retry_hint(
    headers: Mapping[str, str], body: Any, now_epoch: float | None = None
) -> float | None:
    """How long a 429 (or 503) asks the client to wait, from any flavour the platforms use.

    Retry-After (seconds or HTTP-date), X-RateLimit-Reset (epoch, or seconds when < 10^9),
    Ortto's ``try-in-seconds``, and Iterable's body ``params.rateLimitReset``. None: no hint.
    """
    now = time.time() if now_epoch is None else now_epoch
    lower = {k.lower(): v for k, v in headers.items()}
    if "retry-after" in lower:
        hint = parse_retry_after(lower["retry-after"], now)
        if hint is not None:
            return hint
    if "try-in-seconds" in lower:
        hint = parse_reset(lower["try-in-seconds"], now)
        if hint is not None:
            return hint
    if "x-ratelimit-reset" in lower:
        hint = parse_reset(lower["x-ratelimit-reset"], now)
        if hint is not None:
            return hint
    if isinstance(body, dict):
        params = body.get("params")
        if isinstance(params, dict) and "rateLimitReset" in params:
            return parse_reset(params["rateLimitReset"], now)
    return None


def exhausted_headers(headers: Mapping[str, str], now_epoch: float | None = None) -> float | None:
    """Seconds to hold off when a success says ``X-RateLimit-Remaining: 0``; else None."""
    lower = {k.lower(): v for k, v in headers.items()}
    remaining = _number(lower.get("x-ratelimit-remaining"))
    if remaining is None or remaining > 0:
        return None
    now = time.time() if now_epoch is None else now_epoch
    return parse_reset(lower.get("x-ratelimit-reset"), now)
