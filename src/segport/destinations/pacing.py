"""Client-side pacing: an async token bucket, and waits reported as data.

The bucket is reservation based: each ``acquire`` takes a token at once (the balance may go
negative) and sleeps until that token would have been refilled. Concurrent callers therefore
queue in arrival order without a lock, and the timing is pure arithmetic on an injectable clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
WaitReason = Literal["pace", "rate_limited", "backoff"]


@dataclass(frozen=True)
class WaitEvent:
    """The client waited ``seconds`` before a request, and why."""

    destination: str
    reason: WaitReason
    seconds: float
    path: str = ""


@dataclass
class WaitStats:
    """Running totals of waits and retries, for progress displays and run records."""

    paced_s: float = 0.0
    rate_limited_s: float = 0.0
    backoff_s: float = 0.0
    rate_limited: int = 0
    retries: int = 0
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)

    def add(self, event: WaitEvent) -> None:
        """Count one wait."""
        if event.reason == "pace":
            self.paced_s += event.seconds
        elif event.reason == "rate_limited":
            self.rate_limited_s += event.seconds
        else:
            self.backoff_s += event.seconds


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``pause_until`` empties it."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._paused_until = float("-inf")

    def _refill(self) -> float:
        now = self._clock()
        if now > self._last:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
        return now

    def reserve(self) -> float:
        """Take one token now; return how long the caller must wait before using it."""
        self._refill()
        self._tokens -= 1.0
        return max(0.0, -self._tokens / self.rate)

    async def acquire(self) -> float:
        """Wait for one token; return the seconds waited."""
        start = self._clock()
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)
        # A pause set while this caller slept (a 429 elsewhere) holds it back too.
        while (now := self._clock()) < self._paused_until:
            await self._sleep(self._paused_until - now)
        return max(wait, self._clock() - start)

    def pause_until(self, when: float) -> None:
        """No token is handed out before ``when`` (a clock time); queued reservations move back."""
        now = self._refill()
        if when <= now:
            return
        self._paused_until = max(self._paused_until, when)
        # One token at ``when``, behind any queued reservations; refills until then are forfeited.
        debt = max(0.0, -self._tokens)
        self._tokens = min(self._tokens, 1.0 - debt - (when - now) * self.rate)

    def pause_for(self, seconds: float) -> None:
        """``pause_until`` relative to now."""
        self.pause_until(self._clock() + seconds)

    @property
    def available(self) -> float:
        """Tokens available now (negative when reservations are queued)."""
        self._refill()
        return self._tokens
