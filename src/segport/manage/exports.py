"""Exports: add (checked against connection, segments and columns), detach, attach, remove."""

from __future__ import annotations

from dataclasses import dataclass, replace

from segport.access import Access
from segport.destinations.catalogue import CATALOGUES, FIELD_LABELS
from segport.errors import ConfigError
from segport.manage.context import Context
from segport.manage.names import check_name
from segport.model import DESTINATION_LABELS, Connection, Export, WorkspaceConfig


@dataclass(frozen=True)
class ExportCheck:
    """What was learned while checking an export: members per segment, and cap warnings."""

    export: Export
    members: dict[str, int]
    warnings: list[str]

    @property
    def total(self) -> int:
        return sum(self.members.values())


def usable_connection(access: Access, name: str) -> Connection:
    """The named connection, if it exists and the user may use it (else a clear refusal)."""
    access.require_member()
    conn = access.config.connections.get(name)
    if conn is None:
        raise ConfigError(f"No connection named '{name}'. See 'segport connections list'.")
    access.require_use_connection(conn)
    return conn


def check_export(ctx: Context, config: WorkspaceConfig, export: Export) -> ExportCheck:
    """Validate mapping, list settings, segments and columns; count members; warn about caps."""
    catalogue = CATALOGUES[export.connection_type]
    label = DESTINATION_LABELS[export.connection_type]
    unknown = [f for f in export.mapping if f not in catalogue.fields]
    if unknown:
        raise ConfigError(
            f"{label} does not accept the field(s) {', '.join(unknown)}; it accepts "
            + ", ".join(f"{f} ({FIELD_LABELS[f]})" for f in catalogue.fields) + "."
        )
    if "email" not in export.mapping:
        raise ConfigError("Map the column holding the email address: --map email=COLUMN.")
    if export.connection_type == "sendgrid" and not export.list_id:
        raise ConfigError("A SendGrid export needs the ID of an existing contact list: "
                          "--list-id ID.")
    if export.connection_type == "iterable" and export.list_id:
        raise ConfigError("Iterable exports take no list ID: a static list named exactly like "
                          "each segment is created and reused.")
    missing = [s for s in export.segments if s not in config.segments]
    if missing:
        raise ConfigError(f"No segment named {', '.join(repr(s) for s in missing)}. See "
                          "'segport segments list'.")
    with ctx.open_source(config.source) as source:
        columns = {c.name for c in source.columns(samples=0)}
        bad = {f: c for f, c in export.mapping.items() if c not in columns}
        if bad:
            raise ConfigError(
                "Mapped column(s) not in the profile source: "
                + ", ".join(f"{f}={c}" for f, c in bad.items())
                + f". Columns: {', '.join(sorted(columns))}."
            )
        members = {s: source.count(config.segments[s]) for s in export.segments}
    total = sum(members.values())
    cap = export.cap or catalogue.cap
    warnings = []
    if total > cap:
        warnings.append(
            f"The segments hold {total:,} profiles in all, above {label}'s documented limit of "
            f"{cap:,} profiles {catalogue.cap_scope}. Runs will be refused until the total is "
            "below it, unless the export raises its cap (your contract with the platform may "
            "allow more)."
        )
    return ExportCheck(export=export, members=members, warnings=warnings)


def add_export(ctx: Context, export: Export) -> ExportCheck:
    """Check and save a new export (on a connection the user may use). Saving does not run it."""
    check_name(export.name, "export")
    if len(set(export.segments)) != len(export.segments):
        raise ConfigError("A segment is named twice; name each segment once.")
    config = ctx.config()
    access = ctx.access(config)
    access.require_member()
    if export.name in config.exports:
        raise ConfigError(f"An export named '{export.name}' already exists; choose another name "
                          "or remove it first.")
    if export.connection is None:
        raise ConfigError("An export needs a connection: --connection NAME.")
    conn = usable_connection(access, export.connection)
    export = replace(export, connection_type=conn.type, created_by=ctx.user)
    check = check_export(ctx, config, export)

    def change(current):  # type: ignore[no-untyped-def]
        usable_connection(ctx.access(current), conn.name)
        if export.name in current.exports:
            raise ConfigError(f"An export named '{export.name}' already exists.")
        return replace(current, exports={**current.exports, export.name: export})

    ctx.update(change)
    return replace(check, export=export)


def managed_export(access: Access, name: str) -> Export:
    """The named export of ``access.config``, which the user must be allowed to manage."""
    access.require_member()
    export = access.config.exports.get(name)
    if export is None:
        raise ConfigError(f"No export named '{name}'. See 'segport exports list'.")
    access.require_manage_export(export)
    return export


def _change_export(ctx: Context, name: str, how) -> WorkspaceConfig:  # type: ignore[no-untyped-def]
    def change(current):  # type: ignore[no-untyped-def]
        access = ctx.access(current)
        return how(current, access, managed_export(access, name))

    return ctx.update(change)


def detach_export(ctx: Context, name: str) -> Export:
    """Make an export inactive, keeping its settings."""

    def how(current, access, export):  # type: ignore[no-untyped-def]
        return replace(current, exports={**current.exports, name: replace(export, connection=None)})

    return _change_export(ctx, name, how).exports[name]


def attach_export(ctx: Context, name: str, connection: str) -> Export:
    """Attach a (detached) export to a connection of the same type."""

    def how(current, access, export):  # type: ignore[no-untyped-def]
        conn = usable_connection(access, connection)
        if conn.type != export.connection_type:
            raise ConfigError(
                f"Export '{name}' is a {DESTINATION_LABELS[export.connection_type]} export; "
                f"connection '{connection}' is {DESTINATION_LABELS[conn.type]}. Attach it to a "
                f"{DESTINATION_LABELS[export.connection_type]} connection."
            )
        return replace(current, exports={**current.exports,
                                         name: replace(export, connection=conn.name)})

    return _change_export(ctx, name, how).exports[name]


def remove_export(ctx: Context, name: str) -> None:
    """Remove an export's configuration."""

    def how(current, access, export):  # type: ignore[no-untyped-def]
        return replace(current, exports={k: v for k, v in current.exports.items() if k != name})

    _change_export(ctx, name, how)
