"""The TUI's own settings: theme and keymap overrides, in ``user_config_dir("segport")/tui.toml``.

```toml
theme = "segport-light"
[keymap]
"wizard.next" = "ctrl+right"    # binding id = key(s)
```

The wizards' last-step Save key (``wizard.save``) follows ``wizard.next`` unless given its own.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
import tomli_w

from segport.fsutil import atomic_replace

SETTINGS_NAME = "tui.toml"
THEMES_DIR = "themes"
DEFAULT_THEME = "segport-dark"


def config_dir() -> Path:
    """segport's user configuration folder (platform convention)."""
    return Path(platformdirs.user_config_dir("segport", appauthor=False))


def settings_path() -> Path:
    """Where the TUI settings live."""
    return config_dir() / SETTINGS_NAME


def user_themes_dir() -> Path:
    """Where users drop their own theme TOML files."""
    return config_dir() / THEMES_DIR


@dataclass
class TuiSettings:
    """What the TUI remembers between sessions."""

    theme: str = DEFAULT_THEME
    keymap: dict[str, str] = field(default_factory=dict)


def load_settings(path: Path | None = None) -> tuple[TuiSettings, list[str]]:
    """The settings (defaults when the file is missing) and warnings about what was ignored."""
    path = path or settings_path()
    if not path.is_file():
        return TuiSettings(), []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return TuiSettings(), [f"{path}: ignored ({exc}); using the default settings."]
    warnings: list[str] = []
    settings = TuiSettings()
    theme = data.get("theme", DEFAULT_THEME)
    if isinstance(theme, str) and theme:
        settings.theme = theme
    else:
        warnings.append(f"{path}: 'theme' must be a theme name; using {DEFAULT_THEME}.")
    keymap = data.get("keymap", {})
    if isinstance(keymap, dict):
        for binding_id, keys in keymap.items():
            if isinstance(keys, str) and keys.strip():
                settings.keymap[str(binding_id)] = keys.strip()
            else:
                warnings.append(f"{path}: keymap entry {binding_id!r} is not a key; ignored.")
    else:
        warnings.append(f"{path}: [keymap] must be a table of binding id = key; ignored.")
    return settings, warnings


def save_settings(settings: TuiSettings, path: Path | None = None) -> None:
    """Write the settings atomically (creating the folder)."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data: dict[str, object] = {"theme": settings.theme}
    if settings.keymap:
        data["keymap"] = dict(settings.keymap)
    with atomic_replace(path) as tmp:
        tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
