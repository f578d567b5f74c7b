"""httpx clients with each platform's demo credentials, for the session's real sandbox
(``fixtures.sandbox``: uvicorn on ephemeral loopback ports, reset before each test)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from segport.sandbox.defaults import DEMO_KEYS
from segport.sandbox.server import Sandbox


def _client(base_url: str, headers: dict[str, str], **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=headers, timeout=10, trust_env=False, **kwargs)


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """A plain client (no key, no base URL)."""
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
def iterable(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An Iterable client with the demo project's key."""
    with _client(sandbox.base_url("iterable"), {"Api-Key": DEMO_KEYS["iterable"]}) as client:
        yield client


@pytest.fixture
def sendgrid(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A SendGrid client with the demo account's key."""
    auth = {"Authorization": f"Bearer {DEMO_KEYS['sendgrid']}"}
    with _client(sandbox.base_url("sendgrid"), auth) as client:
        yield client


@pytest.fixture
def autopilot(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An Autopilot client with the demo account's key (base URL ends in /v1)."""
    base = sandbox.base_url("autopilot") + "/"
    with _client(base, {"autopilotapikey": DEMO_KEYS["autopilot"]}) as client:
        yield client
