"""The key never shows: not in records, reprs, exception text or chains, wait events, or logs."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import asdict

import httpx
import pytest
from dest_support import LEAK, Captured

from segport.destinations import (
    Contact,
    Destination,
    DestinationAuthError,
    DestinationError,
    RequestRecord,
    WaitEvent,
)

Build = Callable[..., tuple[Destination, Captured]]


def chain_text(exc: BaseException) -> str:
    """Everything a traceback printer could show, including causes and contexts."""
    return "".join(traceback.format_exception(exc)) + repr(exc)


@pytest.mark.parametrize("kind", ["iterable", "sendgrid", "autopilot"])
async def test_key_absent_everywhere(mocked: Build, kind: str, caplog: pytest.LogCaptureFixture
                                     ) -> None:
    caplog.set_level(logging.DEBUG)
    records: list[RequestRecord] = []
    waits: list[WaitEvent] = []
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        assert LEAK in " ".join(request.headers.values())  # it travels in its header only
        if calls["n"] == 1:
            raise httpx.ConnectError(f"refused while sending key {LEAK}")
        if calls["n"] == 2:
            raise httpx.RemoteProtocolError(f"peer closed; headers were Api-Key: {LEAK}")
        if calls["n"] == 3:
            return httpx.Response(429, json={"msg": f"slow down {LEAK}"})
        return httpx.Response(500, json={"msg": f"echo {LEAK}", "message": f"echo {LEAK}",
                                         "errors": [{"field": None, "message": f"echo {LEAK}"}]})

    dest, _ = mocked(kind, handler, on_record=records.append, on_wait=waits.append)
    result = await dest.upsert("11111111-2222-3333-4444-555555555555" if kind == "sendgrid"
                               else "7", [Contact("a@x.io")], confirm=False)
    assert not result.outcomes[0].accepted and result.outcomes[0].retryable
    texts = [repr(dest), str(dest), repr(dest.session), repr(dest._key), str(result),
             *(repr(r) for r in records), *(repr(w) for w in waits),
             *(str(asdict(r)) for r in records), caplog.text, repr(dest.stats)]
    for text in texts:
        assert LEAK not in text
    assert any(r.error and "could not be reached" in r.error for r in records)


async def test_auth_error_text_and_chain_are_clean(mocked: Build) -> None:
    dest, _ = mocked("sendgrid", lambda r: httpx.Response(
        401, json={"errors": [{"field": None, "message": f"authorization required {LEAK}"}]}))
    with pytest.raises(DestinationAuthError) as info:
        await dest.validate()
    assert LEAK not in chain_text(info.value)
    assert "rejected the API key" in str(info.value)


@pytest.mark.parametrize("failure", [
    httpx.ConnectError(f"cannot connect {LEAK}"),
    httpx.ReadTimeout(f"timed out {LEAK}"),
    httpx.RemoteProtocolError(f"bad {LEAK}"),
])
async def test_transport_errors_carry_no_httpx_context(mocked: Build, failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    dest, _ = mocked("autopilot", handler, validate_budget_s=1)
    with pytest.raises(DestinationError) as info:
        await dest.validate()
    assert LEAK not in chain_text(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


async def test_key_is_required_and_never_repr() -> None:
    from segport.destinations import make_destination

    with pytest.raises(DestinationAuthError):
        make_destination("iterable", "  ")
    dest = make_destination("autopilot", LEAK)
    assert LEAK not in repr(dest) and "***" in repr(dest)
    assert LEAK not in repr(vars(dest))
    await dest.aclose()
