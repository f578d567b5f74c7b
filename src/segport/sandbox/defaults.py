"""Where the sandbox listens by default and the demo accounts' API keys (public, sandbox-only)."""

from __future__ import annotations

import hashlib

from segport.model import DestinationType

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8701

#: Port offset of each emulator from ``--port`` (cli.md: Iterable N, SendGrid N+1, Autopilot N+2).
PORT_OFFSETS: dict[DestinationType, int] = {"iterable": 0, "sendgrid": 1, "autopilot": 2}

#: API keys of the sandbox's demo accounts. They open nothing but the local emulators.
DEMO_KEYS: dict[DestinationType, str] = {
    "iterable": "sandbox-iterable-demo-key-0000000000000000",
    "sendgrid": "SG.sandbox-demo.sendgrid-demo-key-000000000000",
    "autopilot": "sandbox-autopilot-demo-key-0000000000000000",
}

#: Path prefix of each platform's API on its host.
API_PREFIX: dict[DestinationType, str] = {"iterable": "", "sendgrid": "", "autopilot": "/v1"}


def base_url(kind: DestinationType, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """The base URL of one emulator when the sandbox's first port is ``port``."""
    return f"http://{host}:{port + PORT_OFFSETS[kind]}{API_PREFIX[kind]}"


def account_id(api_key: str) -> str:
    """The sandbox's public name of the account an API key opens (``/_sandbox/state?account=``).

    A short SHA-256 prefix: it identifies the account without ever echoing the key.
    """
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]
