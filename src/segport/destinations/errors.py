"""Failures of a destination platform, each with a message a user can act on.

No message ever contains the API key: clients build these from their own text, never from a
library's exception (whose request object carries the headers).
"""

from __future__ import annotations

from segport.errors import SegportError

REDACTED = "***"


def redact(text: str, *secrets: str) -> str:
    """``text`` with every occurrence of each secret (4+ characters) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


class DestinationError(SegportError):
    """A destination platform refused, failed or could not be reached."""

    exit_code = 1


class DestinationAuthError(DestinationError):
    """The platform rejected the key (401/403): wrong, revoked or lacking permission."""

    exit_code = 2

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WrongDataCenterError(DestinationAuthError):
    """The key belongs to a project in the other data centre (Iterable US/EU)."""

    def __init__(self, message: str, status: int | None = None, suggested: str = "") -> None:
        super().__init__(message, status)
        self.suggested = suggested


class DestinationConnectionError(DestinationError):
    """The request did not get an answer: worth retrying later."""


class DestinationUnreachableError(DestinationConnectionError):
    """No connection could be made to the host (DNS, refused, no network)."""


class DestinationTimeoutError(DestinationConnectionError):
    """The host accepted the connection but did not answer in time."""


class DestinationProtocolError(DestinationConnectionError):
    """The connection broke mid-request (reset, closed, malformed HTTP)."""


class DestinationRetryExhaustedError(DestinationError):
    """Retries ran out of their time budget; the last status or error is in the message."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class DestinationRequestError(DestinationError):
    """The platform refused the request (a 4xx other than auth and rate limiting)."""

    def __init__(self, message: str, status: int, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class DestinationResponseError(DestinationError):
    """The platform answered with something segport does not understand."""
