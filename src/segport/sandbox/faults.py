"""Fault injection on the wire: 5xx, dropped connections, hangs, late answers, 429 storms, latency.

:class:`FaultInjector` decides (seeded, so a run is repeatable for a given request order);
:func:`run_with_faults` carries the decision out on the real connection. Connection drops need the
server's transport: under uvicorn it is reached through the ``send`` callable's owner
(``RequestResponseCycle.transport``); elsewhere a truncated response is sent instead.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import time
from dataclasses import dataclass
from typing import Literal, Protocol

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from segport.sandbox.config import FaultConfig

FaultKind = Literal["none", "error", "reset", "timeout", "late", "storm"]


@dataclass(frozen=True)
class Decision:
    """One request's fate: a fault ``kind`` (``status`` for errors) after ``delay`` seconds."""

    kind: FaultKind = "none"
    status: int = 0
    delay: float = 0.0
    storm_left: float = 0.0


class FaultResponses(Protocol):
    """The platform's own bodies and headers for injected errors and storms."""

    def error_response(self, status: int, scope: Scope) -> Response: ...

    def storm_response(self, seconds_left: float, scope: Scope) -> Response: ...


class FaultInjector:
    """Seeded decisions from a :class:`FaultConfig`; :meth:`configure` restarts the sequence."""

    def __init__(self, config: FaultConfig) -> None:
        self.configure(config)

    def configure(self, config: FaultConfig) -> None:
        """Use ``config`` from now on: reseed, reset the fault budget, start a storm if asked."""
        self.config = config
        self._rng = random.Random(config.seed)
        self.injected = 0
        self.storm_until = time.monotonic() + config.storm_seconds if config.storm_seconds else 0.0

    def decide(self, method: str, template: str) -> Decision:
        """The fate of one API request to ``method template``."""
        cfg = self.config
        if cfg.only and f"{method} {template}" not in cfg.only:
            return Decision()
        delay = cfg.latency + (cfg.latency_jitter * self._rng.random() if cfg.latency_jitter else 0)
        storm_left = self.storm_until - time.monotonic()
        if storm_left > 0:
            return Decision("storm", 429, delay, storm_left)
        if cfg.max_faults is not None and self.injected >= cfg.max_faults:
            return Decision(delay=delay)
        rates: list[tuple[FaultKind, float]] = [
            ("error", cfg.error_rate), ("reset", cfg.reset_rate),
            ("timeout", cfg.timeout_rate), ("late", cfg.late_rate),
        ]
        if not any(rate > 0 for _, rate in rates):
            return Decision(delay=delay)
        draw, edge = self._rng.random(), 0.0
        for kind, rate in rates:
            edge += rate
            if draw < edge:
                self.injected += 1
                status = self._rng.choice(cfg.error_statuses) if kind == "error" else 0
                return Decision(kind, status, delay)
        return Decision(delay=delay)


def server_transport(send: Send) -> asyncio.Transport | None:
    """The connection's transport when ``send`` is uvicorn's own (outermost middleware only)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


async def run_with_faults(
    decision: Decision, scope: Scope, receive: Receive, send: Send, app: ASGIApp,
    hooks: FaultResponses, transport: asyncio.Transport | None, config: FaultConfig,
) -> str | None:
    """Serve one request under ``decision``; returns "reset"/"timeout" when no answer reached the
    client (for the request counters), else ``None``."""
    if decision.delay > 0:
        await asyncio.sleep(decision.delay)
    kind = decision.kind
    if kind == "none":
        await app(scope, receive, send)
        return None
    if kind == "late":
        return await _late(scope, receive, send, app, config.hang_seconds)
    await _drain(receive)
    if kind == "error":
        await hooks.error_response(decision.status, scope)(scope, receive, send)
        return None
    if kind == "storm":
        await hooks.storm_response(decision.storm_left, scope)(scope, receive, send)
        return None
    if kind == "timeout":
        if not await _wait_disconnect(receive, config.hang_seconds):
            await _drop(transport, send, "rst")
        return "timeout"
    await _drop(transport, send, config.reset_style)
    return "reset"


async def _drain(receive: Receive) -> None:
    """Read the request body to its end, so the client is waiting for an answer, not writing."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return


async def _wait_disconnect(receive: Receive, seconds: float) -> bool:
    """Wait until the client hangs up (True) or ``seconds`` pass (False)."""
    try:
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        return False
    return True


async def _drop(transport: asyncio.Transport | None, send: Send, style: str) -> None:
    """Close the connection without a (complete) answer."""
    if transport is None or style == "truncate":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"64")]})
        await send({"type": "http.response.body", "body": b'{"', "more_body": True})
        if transport is not None:
            transport.close()  # flushes the partial answer, then FIN
    elif style == "fin":
        transport.close()
    else:
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0: close() sends a TCP RST instead of a FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    await asyncio.sleep(0)  # let the server see the connection lost before the app returns


async def _late(
    scope: Scope, receive: Receive, send: Send, app: ASGIApp, hang: float
) -> str | None:
    """Do the work, then hold the answer until the client gives up (or ``hang`` passes)."""
    held: list[Message] = []

    async def hold(message: Message) -> None:
        held.append(message)

    await app(scope, receive, hold)
    if await _wait_disconnect(receive, hang):
        return "timeout"
    for message in held:
        await send(message)
    return None

