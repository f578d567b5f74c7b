"""What crosses the wire and what is kept of it: bodies, answers, redacted request records."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


class Secret:
    """A string that never shows itself in ``repr`` or ``str``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: only for building the auth header."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP attempt as it may be logged: no headers, no key, no query string."""

    method: str
    path: str
    status: int | None
    duration_s: float
    attempt: int
    error: str | None = None


@dataclass
class ApiResponse:
    """A final answer from the platform (2xx, or a 4xx the caller must interpret)."""

    status: int
    body: Any
    headers: dict[str, str] = field(repr=False)
    records: list[RequestRecord] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        """2xx."""
        return 200 <= self.status < 300

    def message(self) -> str:
        """The platform's error text, from any of the three envelopes."""
        return error_message(self.body)


def error_message(body: Any) -> str:
    """``msg`` (Iterable), ``errors[].message`` (SendGrid), ``message`` (Autopilot)."""
    if isinstance(body, dict):
        if isinstance(body.get("msg"), str):
            return body["msg"]
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            parts = []
            for e in errors[:5]:
                if isinstance(e, dict):
                    text = str(e.get("message", ""))
                    parts.append(f"{e['field']}: {text}" if e.get("field") else text)
            return "; ".join(p for p in parts if p)
        if isinstance(body.get("message"), str):
            return body["message"]
        if isinstance(body.get("error"), str):
            return body["error"]
    if isinstance(body, str):
        return body[:200]
    return ""


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode_json(payload: Any) -> bytes:
    """The exact bytes sent for a JSON body (compact, UTF-8): what byte limits apply to."""
    return _ENCODER.encode(payload).encode()


def parse_body(response: httpx.Response, clean: Callable[[str], str]) -> Any:
    """JSON (else text) of a body, with the key redacted should the platform echo it."""
    if not response.content:
        return None
    text = clean(response.text)
    try:
        return json.loads(text)
    except ValueError:
        return text
