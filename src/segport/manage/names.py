"""Rules for the names people give to segments, connections and exports."""

from __future__ import annotations

import unicodedata

from segport.errors import ConfigError

MAX_NAME = 100


def check_name(name: str, what: str) -> None:
    """A name is 1–100 printable characters with no leading or trailing space."""
    if not name or not name.strip():
        raise ConfigError(f"The {what} name must not be empty.")
    if name != name.strip():
        raise ConfigError(f"The {what} name '{name}' has leading or trailing spaces; remove them.")
    if len(name) > MAX_NAME:
        raise ConfigError(f"The {what} name is {len(name)} characters; at most {MAX_NAME}.")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ConfigError(f"The {what} name {name!r} contains control characters.")
