"""Token buckets on the monotonic clock, one per (account, endpoint group), for all emulators."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from segport.sandbox.config import RateLimit

Clock = Callable[[], float]


class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate`` per second; a request takes one token."""

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return now

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take ``tokens`` if the bucket holds them; never waits."""
        with self._lock:
            self._refill()
            if self._tokens + 1e-9 >= tokens:
                self._tokens = max(0.0, self._tokens - tokens)
                return True
            return False

    def remaining(self) -> int:
        """Whole tokens left now."""
        with self._lock:
            self._refill()
            return math.floor(self._tokens + 1e-9)

    def wait_time(self, tokens: float = 1.0) -> float:
        """Seconds until ``tokens`` will be available (0 if they are now)."""
        with self._lock:
            self._refill()
            return max(0.0, (tokens - self._tokens) / self.rate)

    def time_to_full(self) -> float:
        """Seconds until the bucket is full again."""
        with self._lock:
            self._refill()
            return max(0.0, (self.burst - self._tokens) / self.rate)


class BucketSet:
    """Buckets keyed by ``(account, group)``, created on first use with the limits of that time."""

    def __init__(self, limits: Callable[[str], RateLimit], clock: Clock = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def get(self, account: str, group: str) -> TokenBucket:
        """The bucket of ``account`` for the endpoint ``group``."""
        bucket = self._buckets.get((account, group))
        if bucket is None:
            limit = self._limits(group)
            bucket = TokenBucket(limit.rate, limit.burst, self._clock)
            self._buckets[(account, group)] = bucket
        return bucket

    def clear(self) -> None:
        """Forget every bucket (after a reset or a change of limits): all start full."""
        self._buckets.clear()
