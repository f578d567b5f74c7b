"""Paging helpers the emulators share: opaque tokens, and pages after a sequence number.

- SendGrid's ``page_token``: ``encode_token("o", offset)``.
- Autopilot's ``bookmark``: ``encode_token("b", seq)`` of the last member returned. Members carry
  the sequence number they joined with, so a removal between two pages skips nobody.
"""

from __future__ import annotations

import base64
from bisect import bisect_right
from collections.abc import Mapping
from typing import TypeVar

K = TypeVar("K")


def encode_token(prefix: str, number: int) -> str:
    """An opaque, URL-safe token carrying ``number`` (base64 of ``"<prefix>:<number>"``)."""
    return base64.urlsafe_b64encode(f"{prefix}:{number}".encode()).decode().rstrip("=")


def decode_token(prefix: str, token: str) -> int | None:
    """The number in a token made by :func:`encode_token` with ``prefix``; ``None`` if invalid."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except ValueError:
        return None
    head, _, digits = text.partition(":")
    if head != prefix or not (digits.isascii() and digits.isdigit()):
        return None
    return int(digits)


def page_after(seqs: Mapping[K, int], after: int, size: int) -> tuple[list[K], int | None]:
    """Up to ``size`` keys whose sequence number is above ``after`` (``seqs`` iterates in
    increasing sequence order), and the number to continue after, ``None`` on the last page."""
    keys, numbers = list(seqs), list(seqs.values())
    start = bisect_right(numbers, after)
    end = start + size
    return keys[start:end], (numbers[end - 1] if end < len(keys) else None)
