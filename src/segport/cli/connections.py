"""``segport connections list|add|remove``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from segport.cli.output import context, emit_json, info, read_secret, table, warn
from segport.manage.connections import (
    ConnectionDraft,
    add_connection,
    check_draft,
    check_key,
    remove_connection,
)
from segport.model import DATA_CENTERS, DESTINATION_LABELS, DESTINATION_TYPES, Connection

if TYPE_CHECKING:
    from segport.destinations import AccountInfo


@click.group()
def connections() -> None:
    """Connections: named links to one account on one platform."""


def _public(c: Connection) -> dict[str, object]:
    return {"name": c.name, "type": c.type}


def _detailed(c: Connection) -> dict[str, object]:
    return {
        **_public(c),
        "shared_with_contributors": c.shared_with_contributors,
        "export_user": c.export_user,
        "data_center": c.data_center,
        "base_url": c.base_url,
        "created_by": c.created_by,
        "created_at": c.created_at,
        "privacy": {"agreed_by": c.privacy.agreed_by, "agreed_at": c.privacy.agreed_at,
                    "version": c.privacy.version},
    }


@connections.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Connections the current user may see (contributors: name and type only)."""
    access = context(ctx).member_access()
    visible = access.visible_connections()
    rows = [_detailed(c) if access.can_see_connection_details(c) else _public(c) for c in visible]
    if as_json:
        emit_json(rows)
        return
    if access.can_manage_connections():
        table(None, ["connection", "type", "shared with contributors", "export user", "base URL"],
              [(c.name, DESTINATION_LABELS[c.type], "yes" if c.shared_with_contributors else "no",
                c.export_user, c.base_url or "(platform default)") for c in visible])
    else:
        table(None, ["connection", "type"], [(c.name, DESTINATION_LABELS[c.type]) for c in visible])


@connections.command("add")
@click.option("--type", "type_", required=True, type=click.Choice(DESTINATION_TYPES))
@click.option("--name", required=True, help='Name it after purpose and target ("Iterable – EU '
              'newsletter").')
@click.option("--agree-privacy", is_flag=True,
              help="Agree to the data privacy and compliance statement (required).")
@click.option("--share-with-contributors", is_flag=True,
              help="Let contributors create and run exports on it (default: administrators only).")
@click.option("--data-center", type=click.Choice(DATA_CENTERS),
              help="Iterable: us (default) or eu.")
@click.option("--base-url", metavar="URL", help="Another API host, e.g. the local sandbox.")
@click.pass_context
def add(ctx: click.Context, type_: str, name: str, agree_privacy: bool,
        share_with_contributors: bool, data_center: str | None, base_url: str | None) -> None:
    """Add a connection (admins only). The API key is read from stdin or a hidden prompt."""
    c = context(ctx)
    draft = ConnectionDraft(name=name, type=type_, shared_with_contributors=share_with_contributors,
                            data_center=data_center, base_url=base_url)  # type: ignore[arg-type]
    from segport.manage.connect import connect  # the HTTP stack, only when needed

    draft = check_draft(c, draft, agreed=agree_privacy)
    key = check_key(read_secret(f"{DESTINATION_LABELS[type_]} API key"))
    info(f"Connecting to {DESTINATION_LABELS[type_]}…")
    _report(connect(draft, key))
    conn = add_connection(c, draft, key, agreed=agree_privacy)
    info(f"Connection '{conn.name}' ({DESTINATION_LABELS[conn.type]}) saved; its key is in "
         f"{c.secrets.describe()}. Export user: {conn.export_user}.")


def _report(account: AccountInfo) -> None:
    where = f" ({account.data_center.upper()} data centre)" if account.data_center else ""
    info(f"Connected{where}: " + (f"account {account.account}, " if account.account else "")
         + f"{len(account.lists)} list(s) visible"
         + (f", scopes: {', '.join(account.scopes)}" if account.scopes else "") + ".")
    for warning in account.warnings:
        warn(warning)


def _account_json(account: AccountInfo) -> dict[str, object]:
    return {"account": account.account, "data_center": account.data_center,
            "lists": [{"id": x.id, "name": x.name, "size": x.size} for x in account.lists],
            "scopes": list(account.scopes), "warnings": list(account.warnings)}


@connections.command("test")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def test(ctx: click.Context, name: str, as_json: bool) -> None:
    """Check a connection's key against its platform (Connect again)."""
    from segport.manage.connect import test_connection

    c = context(ctx)
    connection, account = test_connection(c, name)
    details = c.access().can_see_connection_details(connection)
    if as_json:
        emit_json({"name": name, "type": connection.type, "ok": True,
                   **(_account_json(account) if details else {})})
    elif details:
        _report(account)
    else:
        info(f"Connection '{name}' works.")


@connections.command("remove")
@click.argument("name")
@click.option("--detach-exports", is_flag=True,
              help="Detach the exports using it (they keep their settings) instead of refusing.")
@click.pass_context
def remove(ctx: click.Context, name: str, detach_exports: bool) -> None:
    """Remove a connection and delete its key from the keyring (admins only)."""
    detached = remove_connection(context(ctx), name, detach_exports=detach_exports)
    for export in detached:
        info(f"Export '{export}' detached (inactive; attach it to another connection to use it).")
    info(f"Connection '{name}' removed and its key deleted.")


COMMANDS = [connections]
