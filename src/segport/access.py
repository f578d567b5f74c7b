"""Every permission decision in one place (product.md §1.1).

Roles guard a shared workspace against mistakes; they are not a security boundary against
someone who can edit the workspace files.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from enum import Enum

from segport.errors import PermissionDenied
from segport.model import Connection, Export, Team, WorkspaceConfig


class Role(Enum):
    """A user's role in one workspace."""

    ADMIN = "admin"
    CONTRIBUTOR = "contributor"
    NONE = "none"


def current_user() -> str:
    """The OS user name (``LOGNAME``/``USER`` first, as :func:`getpass.getuser` does)."""
    return getpass.getuser()


def role_of(user: str, team: Team) -> Role:
    """The user's role; a workspace without a team has none yet (its creator becomes admin)."""
    if user in team.admins:
        return Role.ADMIN
    if user in team.contributors:
        return Role.CONTRIBUTOR
    return Role.NONE


@dataclass(frozen=True)
class Access:
    """What ``user`` may see and do in a workspace whose config is ``config``."""

    user: str
    config: WorkspaceConfig

    @property
    def role(self) -> Role:
        return role_of(self.user, self.config.team)

    # --- questions (never raise) -------------------------------------------------------------
    def can_read(self) -> bool:
        """Members of the team may see the workspace at all."""
        return self.role is not Role.NONE

    def can_manage_connections(self) -> bool:
        """Add, remove or change connections and their keys: administrators only."""
        return self.role is Role.ADMIN

    def can_manage_source(self) -> bool:
        """Change the profile source: administrators only."""
        return self.role is Role.ADMIN

    def can_manage_segments(self) -> bool:
        """Add or remove segments: every member of the team."""
        return self.role in (Role.ADMIN, Role.CONTRIBUTOR)

    def can_see_connection_details(self, connection: Connection) -> bool:
        """Settings beyond name and type (base URL, export user, agreement): admins only."""
        return self.role is Role.ADMIN

    def can_use_connection(self, connection: Connection) -> bool:
        """Create, edit and run exports on a connection."""
        if self.role is Role.ADMIN:
            return True
        return self.role is Role.CONTRIBUTOR and connection.shared_with_contributors

    def visible_connections(self) -> list[Connection]:
        """Connections this user may see at all (contributors: only those shared with them)."""
        return [c for c in self.config.connections.values() if self.can_use_connection(c)]

    def can_manage_export(self, export: Export) -> bool:
        """Edit, run, detach or remove an export: needs its connection to be usable.

        A detached export may be managed by admins, and by contributors when it was theirs.
        """
        if self.role is Role.ADMIN:
            return True
        if self.role is not Role.CONTRIBUTOR:
            return False
        if export.connection is None:
            return export.created_by == self.user
        conn = self.config.connections.get(export.connection)
        return conn is not None and self.can_use_connection(conn)

    def visible_exports(self) -> list[Export]:
        """Exports this user may see."""
        return [e for e in self.config.exports.values() if self.can_manage_export(e)]

    # --- demands (raise PermissionDenied with who may) -----------------------------------------
    def _admins(self) -> str:
        names = ", ".join(self.config.team.admins) or "nobody yet"
        return f"administrators of this workspace ({names})"

    def _you(self) -> str:
        if self.role is Role.NONE:
            return (f"you ('{self.user}') are not in this workspace's [team]; "
                    f"ask one of the {self._admins()} to add you")
        return f"you ('{self.user}') are a {self.role.value}"

    def require_member(self) -> None:
        if not self.can_read():
            raise PermissionDenied(f"Refused: {self._you()}.")

    def require_admin(self, action: str) -> None:
        if self.role is not Role.ADMIN:
            raise PermissionDenied(
                f"Refused: only {self._admins()} may {action}; {self._you()}."
            )

    def require_manage_connections(self, action: str = "add, change or remove connections") -> None:
        self.require_admin(action)

    def require_manage_source(self) -> None:
        self.require_admin("change the profile source")

    def require_manage_segments(self) -> None:
        if not self.can_manage_segments():
            raise PermissionDenied(
                f"Refused: only team members may change segments; {self._you()}."
            )

    def require_use_connection(self, connection: Connection) -> None:
        if self.can_use_connection(connection):
            return
        self.require_member()
        raise PermissionDenied(
            f"Refused: connection '{connection.name}' is not shared with contributors; "
            f"only {self._admins()} may use it or share it; {self._you()}."
        )

    def require_manage_export(self, export: Export) -> None:
        if self.can_manage_export(export):
            return
        self.require_member()
        if export.connection is None:
            raise PermissionDenied(
                f"Refused: export '{export.name}' is detached; only {self._admins()} or its "
                f"creator may change it; {self._you()}."
            )
        raise PermissionDenied(
            f"Refused: export '{export.name}' uses connection '{export.connection}', which is not "
            f"shared with contributors; only {self._admins()} may manage it; {self._you()}."
        )
