"""Shared helpers of the destination tests (a unique module name: no clash with other suites)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

LEAK = "LEAK-CANARY-key-9f8e7d6c5b4a"
EU_KEY = "iterable-eu-project-key-5e1f0c2b7a9d"
SG_NO_MARKETING = "SG.mail-only-key.0b6f1e2d3c4a5968"
SG_ADMIN = "SG.full-access-key.7c1d2e3f4a5b6978"
ADMIN_SCOPES = ("api_keys.create", "api_keys.read", "billing.read", "mail.send",
                "marketing.read", "marketing.create", "marketing.update", "marketing.delete",
                "user.account.read", "user.username.read")


class FakeTime:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


@dataclass
class Captured:
    """Requests a MockTransport saw (method, path, query, headers, parsed JSON body)."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def add(self, request: httpx.Request) -> None:
        body = json.loads(request.content) if request.content else None
        self.requests.append({"method": request.method, "path": request.url.path,
                              "query": dict(request.url.params), "headers": dict(request.headers),
                              "body": body})


Handler = Callable[[httpx.Request], httpx.Response]
