"""Connect: check a key with a cheap authenticated call, and say what the key can see."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

from segport.destinations import AccountInfo, DestinationUnreachableError, make_destination
from segport.destinations.errors import DestinationConnectionError, DestinationError
from segport.errors import ConfigError
from segport.manage.connections import ConnectionDraft
from segport.manage.context import Context
from segport.model import Connection
from segport.secrets import connection_entry, env_var_for

SANDBOX_HINT = "Is the sandbox running? Start it with 'segport sandbox' in another terminal."
#: Seconds Connect waits for an answer; ``SEGPORT_CONNECT_TIMEOUT`` changes it (slow networks).
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Seconds Connect keeps retrying (a refused connection, a 429, a 5xx) before it reports.
CONNECT_RETRY_BUDGET = 3.0


def connect_timeout() -> float:
    """The Connect timeout in seconds (``SEGPORT_CONNECT_TIMEOUT`` or the default)."""
    raw = os.environ.get("SEGPORT_CONNECT_TIMEOUT", "")
    try:
        value = float(raw) if raw else DEFAULT_CONNECT_TIMEOUT
    except ValueError:
        raise ConfigError(f"SEGPORT_CONNECT_TIMEOUT={raw!r} is not a number of seconds.") from None
    if value <= 0:
        raise ConfigError("SEGPORT_CONNECT_TIMEOUT must be a positive number of seconds.")
    return value


def is_sandbox(base_url: str | None) -> bool:
    """Only the sandbox serves a platform's API on this machine's loopback."""
    return bool(base_url) and urlsplit(base_url).hostname in ("127.0.0.1", "localhost", "::1")


async def validate_key(draft: ConnectionDraft, key: str) -> AccountInfo:
    """Ask the platform what ``key`` can see; raise a :class:`DestinationError` subclass if not."""
    timeout = connect_timeout()
    try:
        async with make_destination(draft.type, key, draft.base_url, draft.data_center,
                                    timeout=timeout,
                                    validate_budget_s=min(timeout, CONNECT_RETRY_BUDGET)) as dest:
            return await dest.validate()
    except DestinationConnectionError as exc:
        if is_sandbox(draft.base_url) and isinstance(exc, DestinationUnreachableError):
            raise type(exc)(f"{exc} {SANDBOX_HINT}") from None
        raise


class ConnectFailed(ConfigError):
    """Connect did not succeed; the cause (wrong key, other data centre, unreachable, timeout)
    is the original :class:`DestinationError`, in ``__cause__``."""


def connect(draft: ConnectionDraft, key: str) -> AccountInfo:
    """:func:`validate_key` for synchronous callers (the CLI); failures exit 2."""
    try:
        return asyncio.run(validate_key(draft, key))
    except DestinationError as exc:
        raise ConnectFailed(str(exc)) from exc


def draft_of(connection: Connection) -> ConnectionDraft:
    """The settings of a saved connection, as a draft (for testing it again)."""
    return ConnectionDraft(name=connection.name, type=connection.type,
                           shared_with_contributors=connection.shared_with_contributors,
                           data_center=connection.data_center, base_url=connection.base_url)


def test_connection(ctx: Context, name: str) -> tuple[Connection, AccountInfo]:
    """Validate a saved connection's key (from the keyring or its environment override)."""
    access = ctx.member_access()
    connection = access.config.connections.get(name)
    if connection is None:
        raise ConfigError(f"No connection named '{name}'. See 'segport connections list'.")
    access.require_use_connection(connection)
    key = ctx.secrets.get(connection_entry(name))
    if not key:
        raise ConfigError(f"No key for connection '{name}' in {ctx.secrets.describe()}. Add the "
                          f"connection again, or set {env_var_for(name)} for unattended runs.")
    return connection, connect(draft_of(connection), key)
