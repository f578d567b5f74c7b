"""The workspace folder: ``segport.toml`` (tomllib in, atomic tomli-w out) and ``segport.db``."""

from __future__ import annotations

import contextlib
import os
import pwd
import sqlite3
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import platformdirs
import tomli_w
from filelock import FileLock, Timeout

from segport import codec
from segport.errors import ConfigError
from segport.fsutil import atomic_replace
from segport.model import Team, WorkspaceConfig

CONFIG_NAME = "segport.toml"
DB_NAME = "segport.db"
LOCK_NAME = ".segport.lock"
RUNS_DIR = "runs"
ENV_WORKSPACE = "SEGPORT_WORKSPACE"

_DB_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
"""


def _owner(path: Path) -> str:
    """The OS user name owning ``path``."""
    uid = path.stat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def default_location() -> Path:
    """The platform's user data directory for segport."""
    return Path(platformdirs.user_data_dir("segport", appauthor=False))


def resolve_location(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--workspace``, else ``$SEGPORT_WORKSPACE``, else the user data directory."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(ENV_WORKSPACE)
    if env:
        return Path(env).expanduser().resolve()
    return default_location()


class Workspace:
    """One workspace folder. Every write happens under a file lock, atomically."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.config_path = self.root / CONFIG_NAME
        self.db_path = self.root / DB_NAME
        self.runs_dir = self.root / RUNS_DIR
        self._lock = FileLock(str(self.root / LOCK_NAME), timeout=30)

    @property
    def exists(self) -> bool:
        """Whether ``segport.toml`` is there."""
        return self.config_path.is_file()

    def resolve_path(self, path: str) -> Path:
        """A path from the config, relative to the workspace folder unless absolute."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.root / p

    def load(self) -> WorkspaceConfig:
        """Read and validate ``segport.toml``; a missing file is an error that says how to start."""
        if not self.exists:
            raise ConfigError(
                f"No workspace at {self.root} (no {CONFIG_NAME}). Create one with 'segport demo "
                "--setup-only', or 'segport source set ...', or pass --workspace DIR."
            )
        return self._read()

    def load_or_new(self, creator: str) -> WorkspaceConfig:
        """The workspace's config, or a new one whose creator is its admin."""
        if self.exists:
            return self._read()
        return codec.new_config(creator)

    def _read(self) -> WorkspaceConfig:
        try:
            data = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{self.config_path}: not valid TOML: {exc}. Fix the file by hand; "
                              "segport will not overwrite it.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{self.config_path}: not UTF-8 text. Fix the file by hand; "
                              "segport will not overwrite it.") from None
        except OSError as exc:
            raise ConfigError(f"{self.config_path}: cannot read: {exc.strerror}.") from None
        config = codec.decode(data, str(self.config_path))
        if not config.team.admins and not config.team.contributors:
            # A workspace without a team belongs to whoever created (owns) the file.
            config = replace(config, team=Team(admins=(_owner(self.config_path),)))
        return config

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the workspace's write lock."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            with self._lock:
                yield
        except Timeout:
            raise ConfigError(
                f"{self.root}: another segport process holds the workspace lock; try again."
            ) from None

    def update(
        self, change: Callable[[WorkspaceConfig], WorkspaceConfig], *, creator: str
    ) -> WorkspaceConfig:
        """Re-read under the lock, apply ``change``, write the result atomically, return it."""
        with self.locked():
            current = self.load_or_new(creator)
            new = change(current)
            self._write(new)
            self.ensure_db()
            return new

    def save(self, config: WorkspaceConfig) -> None:
        """Write ``config`` as is (under the lock, atomically)."""
        with self.locked():
            if self.exists:
                self._read()  # never overwrite a file we could not read
            self._write(config)
            self.ensure_db()

    def _write(self, config: WorkspaceConfig) -> None:
        text = tomli_w.dumps(codec.encode(config))
        with atomic_replace(self.config_path) as tmp:
            tmp.write_text(text, encoding="utf-8")

    def ensure_db(self) -> None:
        """Create ``segport.db`` (mode 0600) and the ``runs/`` folder when missing."""
        self.runs_dir.mkdir(exist_ok=True, mode=0o700)
        new = not self.db_path.exists()
        with contextlib.closing(sqlite3.connect(self.db_path)) as db:
            db.executescript(_DB_SCHEMA)
            db.commit()
        if new:
            os.chmod(self.db_path, 0o600)
