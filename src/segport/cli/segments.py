"""``segport segments list|add|preview|remove``."""

from __future__ import annotations

import click

from segport.cli.output import context, emit_json, info, table
from segport.errors import ConfigError
from segport.manage.catalog import add_segment, remove_segment, segment_counts


@click.group()
def segments() -> None:
    """Segments: named sets of profiles (a SQL filter or a members file)."""


@segments.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Name, definition and member count of every segment."""
    rows = segment_counts(context(ctx))
    if as_json:
        emit_json([{"name": s.name, "where": s.where, "members_file": s.members,
                    "members": n, "error": e} for s, n, e in rows])
        return
    table(None, ["segment", "definition", "members"],
          [(s.name, s.definition, f"{n:,}" if n is not None else f"error: {e}")
           for s, n, e in rows])


@segments.command("add")
@click.argument("name")
@click.option("--where", "where", metavar="SQL_FILTER", help="A SQL boolean filter on profiles.")
@click.option("--members", "members", metavar="FILE",
              help="A CSV whose header names the key column (or email).")
@click.pass_context
def add(ctx: click.Context, name: str, where: str | None, members: str | None) -> None:
    """Add a segment; it is checked against the source before it is saved."""
    from segport.model import Segment

    if (where is None) == (members is None):
        raise ConfigError("Give exactly one of --where SQL_FILTER or --members FILE.")
    count = add_segment(context(ctx), Segment(name=name, where=where, members=members))
    info(f"Segment '{name}' added: {count:,} members.")


@segments.command("preview")
@click.argument("name")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def preview(ctx: click.Context, name: str, limit: int, as_json: bool) -> None:
    """The first members of a segment."""
    c = context(ctx)
    config = c.config()
    c.access(config).require_member()
    segment = config.segments.get(name)
    if segment is None:
        raise ConfigError(f"No segment named '{name}'. See 'segport segments list'.")
    with c.open_source(config.source) as source:
        result = source.preview(segment, limit)
    if as_json:
        emit_json({"segment": name, "columns": list(result.columns),
                   "rows": [dict(zip(result.columns, r, strict=True)) for r in result.rows]})
        return
    table(f"Segment '{name}' (first {limit})", result.columns, result.rows)


@segments.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove a segment that no export uses."""
    remove_segment(context(ctx), name)
    info(f"Segment '{name}' removed.")


COMMANDS = [segments]
