"""``segport exports list|add|detach|attach|remove``."""

from __future__ import annotations

import click

from segport.cli.output import context, emit_json, info, table, warn
from segport.errors import ConfigError
from segport.manage.exports import add_export, attach_export, detach_export, remove_export
from segport.model import EXPORT_MODES, Export


@click.group()
def exports() -> None:
    """Exports: which segments go to which connection, and how."""


def _as_dict(e: Export) -> dict[str, object]:
    return {"name": e.name, "connection": e.connection, "connection_type": e.connection_type,
            "active": e.active, "segments": list(e.segments), "mapping": dict(e.mapping),
            "list_id": e.list_id, "mode": e.mode, "schedule": e.schedule,
            "max_removal_share": e.max_removal_share, "cap": e.cap}


@exports.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Exports the current user may see and manage."""
    visible = context(ctx).member_access().visible_exports()
    if as_json:
        emit_json([_as_dict(e) for e in visible])
        return
    table(None, ["export", "connection", "segments", "mode", "schedule"],
          [(e.name, e.connection or "(detached)", ", ".join(e.segments), e.mode,
            "on" if e.schedule else "off") for e in visible])


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise ConfigError(f"--map '{pair}' is not FIELD=COLUMN (e.g. email=email_address).")
        if field.strip() in mapping:
            raise ConfigError(f"--map names the field '{field.strip()}' twice.")
        mapping[field.strip()] = column.strip()
    return mapping


@exports.command("add")
@click.option("--name", required=True)
@click.option("--connection", required=True, metavar="CONN")
@click.option("--segment", "segments", multiple=True, required=True, metavar="SEG")
@click.option("--map", "maps", multiple=True, required=True, metavar="FIELD=COLUMN",
              help="email=COLUMN is required; also first_name, last_name, country, state, city, "
                   "postal_code where the platform takes them.")
@click.option("--list-id", metavar="ID", help="SendGrid: the contact list's ID (Autopilot: "
              "an existing list instead of one per segment).")
@click.option("--mode", type=click.Choice(EXPORT_MODES), default="upsert", show_default=True)
@click.option("--schedule", type=click.Choice(["on", "off"]), default="off", show_default=True)
@click.pass_context
def add(ctx: click.Context, name: str, connection: str, segments: tuple[str, ...],
        maps: tuple[str, ...], list_id: str | None, mode: str, schedule: str) -> None:
    """Add an export. Saving does not run it: use 'segport run NAME'."""
    export = Export(name=name, connection=connection, connection_type="iterable",
                    segments=segments, mapping=_mapping(maps), list_id=list_id,
                    mode=mode, schedule=schedule == "on")  # type: ignore[arg-type]
    check = add_export(context(ctx), export)
    for warning in check.warnings:
        warn(warning)
    info(f"Export '{name}' saved: {len(segments)} segment(s), {check.total:,} profiles. "
         f"Run it with: segport run '{name}'")


@exports.command("detach")
@click.argument("name")
@click.pass_context
def detach(ctx: click.Context, name: str) -> None:
    """Make an export inactive; it keeps its settings."""
    detach_export(context(ctx), name)
    info(f"Export '{name}' detached.")


@exports.command("attach")
@click.argument("name")
@click.argument("connection")
@click.pass_context
def attach(ctx: click.Context, name: str, connection: str) -> None:
    """Attach an export to a connection of the same type."""
    attach_export(context(ctx), name, connection)
    info(f"Export '{name}' attached to '{connection}'.")


@exports.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove an export."""
    remove_export(context(ctx), name)
    info(f"Export '{name}' removed.")


COMMANDS = [exports]
