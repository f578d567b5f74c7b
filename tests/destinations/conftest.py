"""Fixtures for destination tests: fake time, MockTransport clients, the sandbox emulators."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from dest_support import (
    ADMIN_SCOPES,
    EU_KEY,
    LEAK,
    SG_ADMIN,
    SG_NO_MARKETING,
    Captured,
    FakeTime,
    Handler,
)

from segport.destinations import Destination, RetryPolicy, make_destination


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mocked(fake_time: FakeTime) -> Callable[..., tuple[Destination, Captured]]:
    """``mocked(kind, handler, **options)`` → a client answering from ``handler``, no real I/O."""

    def build(kind: str, handler: Handler, key: str = LEAK, **options: Any
              ) -> tuple[Destination, Captured]:
        seen = Captured()

        def respond(request: httpx.Request) -> httpx.Response:
            seen.add(request)
            return handler(request)

        options.setdefault("policy", RetryPolicy(rng=lambda: 0.5, budget_s=60))
        base = {"iterable": "https://api.iterable.com", "sendgrid": "https://api.sendgrid.com",
                "autopilot": "https://api2.autopilothq.com/v1"}[kind]
        dest = make_destination(kind, key, options.pop("base_url", base),  # type: ignore[arg-type]
                                options.pop("data_center", None),
                                transport=httpx.MockTransport(respond), clock=fake_time.clock,
                                sleep=fake_time.sleep, **options)
        return dest, seen

    return build


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    """All three emulators on ephemeral loopback ports for the whole session (a thread)."""
    from segport.sandbox.config import IterableConfig, SendGridConfig
    from segport.sandbox.server import Sandbox

    sandbox = Sandbox(port=0, iterable=IterableConfig(keys={EU_KEY: "eu"}),
                      sendgrid=SendGridConfig(keys={SG_NO_MARKETING: ("mail.send",),
                                                    SG_ADMIN: ADMIN_SCOPES}))
    with sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_server: Any) -> Any:
    """The session's emulators with data, counters, limits and faults reset."""
    sandbox_server.reset()
    return sandbox_server
