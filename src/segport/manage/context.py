"""The acting user, their workspace and their secret store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from segport.access import Access, current_user
from segport.errors import ConfigError
from segport.model import SourceConfig, WorkspaceConfig
from segport.secrets import POSTGRES_ENTRY, SecretStore, default_store
from segport.sources import open_source
from segport.sources.base import ProfileSource
from segport.workspace import Workspace


def now_iso() -> str:
    """The current UTC time, to the second, ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class Context:
    """Who acts on which workspace, with which secrets."""

    workspace: Workspace
    user: str = field(default_factory=current_user)
    secrets: SecretStore = field(default_factory=default_store)

    def config(self) -> WorkspaceConfig:
        """The workspace's current config (must exist)."""
        return self.workspace.load()

    def access(self, config: WorkspaceConfig | None = None) -> Access:
        """The user's permissions on ``config`` (default: the current config)."""
        return Access(self.user, config if config is not None else self.config())

    def member_access(self) -> Access:
        """The user's permissions, refusing users who are not in the team."""
        access = self.access()
        access.require_member()
        return access

    def update(self, change: Callable[[WorkspaceConfig], WorkspaceConfig]) -> WorkspaceConfig:
        """Apply ``change`` under the workspace lock; a new workspace gets the user as admin."""
        return self.workspace.update(change, creator=self.user)

    def open_source(
        self, source: SourceConfig | None = None, *, password: str | object | None = ...
    ) -> ProfileSource:
        """Open the configured profile source (or ``source``).

        ``password`` overrides the PostgreSQL password from the keyring (for trying a new one).
        """
        if source is None:
            source = self.config().source
        if source is None:
            raise ConfigError(
                f"{self.workspace.config_path}: no profile source is configured; set one with "
                "'segport source set files PATH' (or sqlite/postgres)."
            )
        if password is ...:
            return open_source(source, self.workspace.root, password=self._postgres_password)
        given = password if isinstance(password, str) else None
        return open_source(source, self.workspace.root, password=lambda: given)

    def _postgres_password(self) -> str | None:
        return self.secrets.get(POSTGRES_ENTRY)
