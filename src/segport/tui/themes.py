"""Themes as TOML files (fields of :class:`textual.theme.Theme`): shipped ones and the user's."""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from textual.theme import Theme

_FIELDS = {f.name for f in dataclasses.fields(Theme)}


def theme_from_toml(text: str, source: str) -> Theme:
    """A theme from TOML text; raises ValueError naming ``source`` and the problem."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ValueError(f"{source}: unknown theme field(s) {', '.join(unknown)}")
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ValueError(f"{source}: a theme needs a 'name' and a 'primary' colour")
    try:
        theme = Theme(**data)
        theme.to_color_system()  # parses every colour: a bad one fails here, not at paint time
    except Exception as exc:
        raise ValueError(f"{source}: {exc}") from None
    return theme


def builtin_themes() -> list[Theme]:
    """The themes shipped in ``segport/themes``."""
    folder = resources.files("segport") / "themes"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out.append(theme_from_toml(entry.read_text(encoding="utf-8"), entry.name))
    return out


def user_themes(folder: Path) -> tuple[list[Theme], list[str]]:
    """The user's ``*.toml`` themes in ``folder`` and a warning per file that was skipped."""
    if not folder.is_dir():
        return [], []
    themes, warnings = [], []
    for path in sorted(folder.glob("*.toml")):
        try:
            themes.append(theme_from_toml(path.read_text(encoding="utf-8"), str(path)))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            warnings.append(f"Theme skipped: {exc}")
    return themes, warnings
