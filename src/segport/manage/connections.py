"""Connections: add (key to the keyring, agreement recorded), list, remove."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from segport.errors import ConfigError
from segport.manage.context import Context, now_iso
from segport.manage.names import check_name
from segport.model import Connection, DataCenter, DestinationType, PrivacyAgreement
from segport.privacy import PRIVACY_STATEMENT, PRIVACY_STATEMENT_VERSION
from segport.secrets import connection_entry


@dataclass(frozen=True)
class ConnectionDraft:
    """What the user chose in the connection steps, before it is saved."""

    name: str
    type: DestinationType
    shared_with_contributors: bool = False
    data_center: DataCenter | None = None
    base_url: str | None = None


def check_base_url(url: str) -> str:
    """An http(s) URL with a host; returned without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"The base URL '{url}' is not an http(s) URL with a host, e.g. "
                          "http://127.0.0.1:8701 for the sandbox.")
    if parts.username or parts.password:
        raise ConfigError("The base URL must not contain credentials; the key is asked for "
                          "separately and stored in the OS keyring.")
    return url.rstrip("/")


def check_draft(ctx: Context, draft: ConnectionDraft, *, agreed: bool) -> ConnectionDraft:
    """Everything about a new connection that can be checked before its key is asked for."""
    if ctx.workspace.exists:
        access = ctx.access()
        access.require_manage_connections("add connections")
        if draft.name in access.config.connections:
            raise ConfigError(f"A connection named '{draft.name}' already exists; choose another "
                              "name or remove it first.")
    check_name(draft.name, "connection")
    if not agreed:
        raise ConfigError("A connection needs your agreement to the data privacy and compliance "
                          f"statement:\n\n{PRIVACY_STATEMENT}\n\nPass --agree-privacy to agree.")
    if draft.type != "iterable" and draft.data_center is not None:
        raise ConfigError("--data-center applies to Iterable connections only.")
    base_url = check_base_url(draft.base_url) if draft.base_url else None
    return replace(draft, base_url=base_url)


def check_key(key: str) -> str:
    """A pasted API key, trimmed; empty or multi-line keys are refused."""
    key = key.strip()
    if not key:
        raise ConfigError("The API key is empty; paste the key of the platform account.")
    if any(ch.isspace() for ch in key):
        raise ConfigError("The API key contains spaces or line breaks; paste it on one line.")
    return key


def add_connection(ctx: Context, draft: ConnectionDraft, key: str, *, agreed: bool) -> Connection:
    """Save a new connection: key to the secret store, settings to the workspace (admins only).

    The caller validates the key with the platform (Connect) before calling this.
    """
    draft = check_draft(ctx, draft, agreed=agreed)
    key = check_key(key)
    now = now_iso()
    connection = Connection(
        name=draft.name,
        type=draft.type,
        export_user=ctx.user,
        privacy=PrivacyAgreement(agreed_by=ctx.user, agreed_at=now,
                                 version=PRIVACY_STATEMENT_VERSION),
        created_by=ctx.user,
        created_at=now,
        shared_with_contributors=draft.shared_with_contributors,
        data_center=(draft.data_center or "us") if draft.type == "iterable" else None,
        base_url=draft.base_url,
    )
    entry = connection_entry(draft.name)
    ctx.secrets.set(entry, key)

    def change(current):  # type: ignore[no-untyped-def]
        ctx.access(current).require_manage_connections("add connections")
        if draft.name in current.connections:
            raise ConfigError(f"A connection named '{draft.name}' already exists.")
        return replace(current, connections={**current.connections, draft.name: connection})

    try:
        ctx.update(change)
    except BaseException:
        ctx.secrets.delete(entry)
        raise
    return connection


def set_sharing(ctx: Context, name: str, shared: bool) -> Connection:
    """Share a connection with contributors, or stop sharing it; exports keep working."""

    def change(current):  # type: ignore[no-untyped-def]
        ctx.access(current).require_manage_connections("change who can use a connection")
        conn = _get(current.connections, name)
        return replace(current, connections={**current.connections,
                                             name: replace(conn, shared_with_contributors=shared)})

    return ctx.update(change).connections[name]


def remove_connection(ctx: Context, name: str, *, detach_exports: bool = False) -> list[str]:
    """Remove a connection and its key (admins only); returns the exports that were detached.

    Refused while exports use it, unless ``detach_exports``.
    """
    config = ctx.config()
    access = ctx.access(config)
    access.require_manage_connections("remove connections")
    _get(config.connections, name)
    _refuse_if_used(config, name, detach_exports)
    ctx.secrets.delete(connection_entry(name))  # a keyring failure stops here, nothing changed
    detached: list[str] = []

    def change(current):  # type: ignore[no-untyped-def]
        ctx.access(current).require_manage_connections("remove connections")
        _get(current.connections, name)
        _refuse_if_used(current, name, detach_exports)
        exports = dict(current.exports)
        for export in current.exports_using(name):
            exports[export.name] = replace(export, connection=None)
            detached.append(export.name)
        connections = {k: v for k, v in current.connections.items() if k != name}
        return replace(current, connections=connections, exports=exports)

    ctx.update(change)
    return detached


def _refuse_if_used(config, name: str, detach_exports: bool) -> None:  # type: ignore[no-untyped-def]
    users = config.exports_using(name)
    if users and not detach_exports:
        raise ConfigError(
            f"Connection '{name}' is used by export(s) {', '.join(e.name for e in users)}. Remove "
            "those exports, or detach them with --detach-exports (they keep their settings and "
            "can be attached to another connection of the same type)."
        )


def _get(connections: dict[str, Connection], name: str) -> Connection:
    if name not in connections:
        raise ConfigError(f"No connection named '{name}'. See 'segport connections list'.")
    return connections[name]
