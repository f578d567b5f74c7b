"""Serve the three emulators with uvicorn in one event loop: ``Sandbox``.

- CLI: ``await Sandbox(port=8701).serve_forever(on_ready=print_urls)`` (handles SIGINT/SIGTERM).
- Tests: ``with Sandbox(port=0) as sb: sb.base_url("sendgrid")`` (a background thread).

Port rule (cli.md): Iterable on ``port``, SendGrid on ``port + 1``, Autopilot on ``port + 2``;
``port=0`` gives each its own ephemeral port. Access logs are off: keys never reach a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import uvicorn

from segport.model import DESTINATION_TYPES, DestinationType
from segport.sandbox.autopilot import AutopilotEmulator
from segport.sandbox.common import Emulator
from segport.sandbox.config import AutopilotConfig, IterableConfig, SendGridConfig
from segport.sandbox.defaults import API_PREFIX, DEFAULT_HOST, DEFAULT_PORT, PORT_OFFSETS
from segport.sandbox.iterable import IterableEmulator
from segport.sandbox.sendgrid import SendGridEmulator


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to the :class:`Sandbox` (it runs three)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Sandbox:
    """The Iterable, SendGrid and Autopilot emulators on loopback, in one process."""

    def __init__(
        self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
        iterable: IterableConfig | None = None, sendgrid: SendGridConfig | None = None,
        autopilot: AutopilotConfig | None = None,
        kinds: Iterable[DestinationType] = DESTINATION_TYPES,
    ) -> None:
        self.host = host
        self.port = port
        made: dict[str, Emulator[Any]] = {
            "iterable": IterableEmulator(iterable), "sendgrid": SendGridEmulator(sendgrid),
            "autopilot": AutopilotEmulator(autopilot),
        }
        self.emulators: dict[DestinationType, Emulator[Any]] = {k: made[k] for k in kinds}
        self._sockets: dict[DestinationType, socket.socket] = {}
        self._ports: dict[DestinationType, int] = {}
        self._servers: dict[DestinationType, _Server] = {}
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._http: httpx.Client | None = None
        #: The signal that ended :meth:`serve_forever`, if one did (the CLI maps SIGINT to 130).
        self.stopped_by: int | None = None

    # --- addresses -------------------------------------------------------------------------------
    def bind(self) -> None:
        """Open the listening sockets now (so a busy port fails here, with the port named)."""
        if self._sockets:
            return
        family, _, _, _, address = socket.getaddrinfo(self.host, None, type=socket.SOCK_STREAM)[0]
        try:
            for kind in self.emulators:
                port = self.port + PORT_OFFSETS[kind] if self.port else 0
                # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so
                # (proto 0 would cost every small response a delayed-ACK wait of ~40 ms).
                sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((address[0], port))
                except OSError as exc:
                    sock.close()
                    raise OSError(exc.errno, f"cannot listen on {self.host}:{port} for the "
                                             f"{kind} emulator: {exc.strerror}") from exc
                self._sockets[kind] = sock
                self._ports[kind] = int(sock.getsockname()[1])
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        """Release the listening sockets (after serving, or when bound but never served)."""
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    def port_of(self, kind: DestinationType) -> int:
        """The port an emulator listens on (binds first if needed)."""
        if kind not in self._ports:
            self.bind()
        return self._ports[kind]

    def origin(self, kind: DestinationType) -> str:
        """``http://host:port`` of an emulator (where ``/_sandbox/*`` lives)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port_of(kind)}"

    def base_url(self, kind: DestinationType) -> str:
        """The API base URL a client is configured with (Autopilot's ends in ``/v1``)."""
        return self.origin(kind) + API_PREFIX[kind]

    def describe(self) -> dict[str, dict[str, str]]:
        """``{kind: {"base_url", "api_key"}}`` as ``segport sandbox --json`` prints it."""
        return {kind: {"base_url": self.base_url(kind), "api_key": emu.config.demo_key}
                for kind, emu in self.emulators.items()}

    # --- serving ---------------------------------------------------------------------------------
    async def serve_forever(
        self, *, on_ready: Callable[[Sandbox], None] | None = None, handle_signals: bool = True,
    ) -> None:
        """Serve until :meth:`request_stop` (or SIGINT/SIGTERM when ``handle_signals`` and on the
        main thread); ``on_ready`` is called once every emulator accepts connections."""
        self.bind()
        self._servers = {}
        self.stopped_by = None
        for kind, emulator in self.emulators.items():
            config = uvicorn.Config(
                emulator.app, log_config=None, access_log=False, lifespan="off", http="h11",
                loop="asyncio", server_header=False, timeout_graceful_shutdown=1)
            self._servers[kind] = _Server(config)
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        use_signals = handle_signals and threading.current_thread() is threading.main_thread()
        if use_signals:
            for sig in signals:
                loop.add_signal_handler(sig, self._on_signal, sig)
        tasks = [asyncio.create_task(server.serve(sockets=[self._sockets[kind]]))
                 for kind, server in self._servers.items()]
        try:
            while not all(s.started for s in self._servers.values()):
                if any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.01)
            else:
                self._ready.set()
                if on_ready is not None:
                    on_ready(self)
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            self.request_stop()
            await asyncio.shield(asyncio.gather(*tasks, return_exceptions=True))
            raise
        finally:
            if use_signals:
                for sig in signals:
                    loop.remove_signal_handler(sig)
            self.close()

    def _on_signal(self, sig: int) -> None:
        self.stopped_by = sig
        self.request_stop()

    def request_stop(self) -> None:
        """Ask every server to shut down (thread-safe; returns at once)."""
        for server in self._servers.values():
            server.should_exit = True

    def start(self, timeout: float = 10.0) -> Sandbox:
        """Serve in a background thread; returns once every emulator accepts connections."""
        self.bind()
        self._ready.clear()
        self._failure = None

        def run() -> None:
            try:
                asyncio.run(self.serve_forever(handle_signals=False))
            except BaseException as exc:  # reported by start()
                self._failure = exc
                self._ready.set()

        self._thread = threading.Thread(target=run, name="segport-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._failure is not None:
            self.stop()
            raise RuntimeError(f"the sandbox did not start: {self._failure!r}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the servers down and wait for the thread."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the /_sandbox endpoints, over HTTP ------------------------------------------------------
    @property
    def http(self) -> httpx.Client:
        """A plain HTTP client for the ``/_sandbox`` helpers (no proxies from the environment)."""
        if self._http is None:
            self._http = httpx.Client(timeout=10, trust_env=False)
        return self._http

    def reset(self, keep_config: bool = False) -> None:
        """``POST /_sandbox/reset`` on every emulator."""
        for kind in self.emulators:
            params = {"keep_config": "1"} if keep_config else {}
            self.http.post(f"{self.origin(kind)}/_sandbox/reset", params=params).raise_for_status()

    def configure(self, kind: DestinationType, patch: dict[str, Any]) -> dict[str, Any]:
        """``POST /_sandbox/config`` (a JSON patch of limits/faults); returns the new config."""
        response = self.http.post(f"{self.origin(kind)}/_sandbox/config", json=patch)
        response.raise_for_status()
        return dict(response.json())

    def state(self, kind: DestinationType, account: str | None = None) -> dict[str, Any]:
        """``GET /_sandbox/state`` (the demo account's lists unless ``account`` is given)."""
        params = {"account": account} if account else {}
        response = self.http.get(f"{self.origin(kind)}/_sandbox/state", params=params)
        response.raise_for_status()
        return dict(response.json())


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Sandbox"]
