"""Destination platforms: one client per platform behind the ``Destination`` interface.

``make_destination`` builds a client from a connection's type, key, base URL and data centre;
the clients meet the platforms (or the sandbox emulators) only over HTTP.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from segport.errors import ConfigError
from segport.model import DataCenter, DestinationType

if TYPE_CHECKING:
    from segport.destinations.base import Destination

#: Public names and the module holding each; imported on first use, so that commands that
#: never talk to a platform do not pay for the HTTP stack.
_LAZY = {
    **dict.fromkeys(("AccountInfo", "BatchResult", "Contact", "Destination", "Limits", "ListRef",
                     "PendingJob", "RowOutcome"), "segport.destinations.base"),
    **dict.fromkeys(("DestinationAuthError", "DestinationConnectionError", "DestinationError",
                     "DestinationProtocolError", "DestinationRequestError",
                     "DestinationResponseError", "DestinationRetryExhaustedError",
                     "DestinationTimeoutError", "DestinationUnreachableError",
                     "WrongDataCenterError"), "segport.destinations.errors"),
    "RequestRecord": "segport.destinations.http",
    **dict.fromkeys(("TokenBucket", "WaitEvent", "WaitStats"), "segport.destinations.pacing"),
    "RetryPolicy": "segport.destinations.retry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AccountInfo",
    "BatchResult",
    "Contact",
    "Destination",
    "DestinationAuthError",
    "DestinationConnectionError",
    "DestinationError",
    "DestinationProtocolError",
    "DestinationRequestError",
    "DestinationResponseError",
    "DestinationRetryExhaustedError",
    "DestinationTimeoutError",
    "DestinationUnreachableError",
    "Limits",
    "ListRef",
    "PendingJob",
    "RequestRecord",
    "RetryPolicy",
    "RowOutcome",
    "TokenBucket",
    "WaitEvent",
    "WaitStats",
    "WrongDataCenterError",
    "destination_class",
    "make_destination",
]


def destination_class(kind: DestinationType) -> type[Destination]:
    """The client class for a platform type."""
    from segport.destinations.autopilot import AutopilotDestination
    from segport.destinations.iterable import IterableDestination
    from segport.destinations.sendgrid import SendGridDestination

    classes: dict[str, type[Destination]] = {
        "iterable": IterableDestination,
        "sendgrid": SendGridDestination,
        "autopilot": AutopilotDestination,
    }
    if kind not in classes:
        raise ConfigError(
            f"Unknown destination type {kind!r}: use iterable, sendgrid or autopilot.")
    return classes[kind]


def make_destination(
    type: DestinationType,
    api_key: str,
    base_url: str | None = None,
    data_center: DataCenter | None = None,
    **options: Any,
) -> Destination:
    """A client for one platform account; ``options`` tune limits, retries, timeouts, hooks."""
    return destination_class(type)(api_key, base_url, data_center, **options)
