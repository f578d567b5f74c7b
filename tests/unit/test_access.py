"""One module decides every permission (product.md §1.1)."""

from __future__ import annotations

import pytest

from segport.access import Access, Role
from segport.errors import PermissionDenied
from segport.model import Connection, Export, PrivacyAgreement, Team, WorkspaceConfig

AGREED = PrivacyAgreement("ana", "t", "1")


def conn(name: str, shared: bool) -> Connection:
    return Connection(name=name, type="sendgrid", export_user="ana", privacy=AGREED,
                      created_by="ana", created_at="t", shared_with_contributors=shared)


def export(name: str, connection: str | None, created_by: str = "ana") -> Export:
    return Export(name=name, connection_type="sendgrid", segments=("S",),
                  mapping={"email": "e"}, connection=connection, created_by=created_by)


CONFIG = WorkspaceConfig(
    team=Team(admins=("ana",), contributors=("bo",)),
    connections={"shared": conn("shared", True), "private": conn("private", False)},
    exports={"on-shared": export("on-shared", "shared"),
             "on-private": export("on-private", "private"),
             "detached-bo": export("detached-bo", None, created_by="bo"),
             "detached-ana": export("detached-ana", None)},
)


def test_roles() -> None:
    assert Access("ana", CONFIG).role is Role.ADMIN
    assert Access("bo", CONFIG).role is Role.CONTRIBUTOR
    assert Access("eve", CONFIG).role is Role.NONE


def test_admin_sees_and_manages_everything() -> None:
    a = Access("ana", CONFIG)
    assert a.can_manage_connections() and a.can_manage_source()
    assert [c.name for c in a.visible_connections()] == ["shared", "private"]
    assert {e.name for e in a.visible_exports()} == set(CONFIG.exports)
    assert all(a.can_see_connection_details(c) for c in CONFIG.connections.values())


def test_contributor_sees_only_shared_connections_and_their_exports() -> None:
    b = Access("bo", CONFIG)
    assert not b.can_manage_connections()
    assert not b.can_manage_source()
    assert b.can_manage_segments()
    assert [c.name for c in b.visible_connections()] == ["shared"]
    assert not b.can_see_connection_details(CONFIG.connections["shared"])
    assert {e.name for e in b.visible_exports()} == {"on-shared", "detached-bo"}


def test_refusals_say_who_may() -> None:
    b = Access("bo", CONFIG)
    with pytest.raises(PermissionDenied) as info:
        b.require_manage_connections("remove connections")
    assert info.value.exit_code == 4
    assert "only administrators of this workspace (ana) may remove connections" in str(info.value)
    assert "you ('bo') are a contributor" in str(info.value)
    with pytest.raises(PermissionDenied, match="not shared with contributors"):
        b.require_use_connection(CONFIG.connections["private"])
    with pytest.raises(PermissionDenied, match="connection 'private'"):
        b.require_manage_export(CONFIG.exports["on-private"])


def test_outsider_is_told_to_ask_an_admin() -> None:
    with pytest.raises(PermissionDenied, match=r"not in this workspace's \[team\]; ask one of"):
        Access("eve", CONFIG).require_member()
    with pytest.raises(PermissionDenied, match="not in this workspace"):
        Access("eve", CONFIG).require_use_connection(CONFIG.connections["shared"])
