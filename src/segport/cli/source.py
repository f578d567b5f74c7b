"""``segport source set|show``."""

from __future__ import annotations

from pathlib import Path

import click

from segport.cli.output import context, emit_json, info, read_secret, table
from segport.manage.catalog import SourceSummary, set_source, show_source
from segport.model import SourceConfig


@click.group()
def source() -> None:
    """The profile source: where profiles come from."""


@source.group("set")
def set_() -> None:
    """Choose the profile source (admins only)."""


def _report(summary: SourceSummary) -> None:
    info(f"Profile source set: {summary.description}, key column '{summary.key}', "
         f"{summary.row_count:,} profiles.")


def _absolute(path: str) -> str:
    return str(Path(path).expanduser().resolve())


@set_.command("files")
@click.argument("path")
@click.option("--key", "key", metavar="COLUMN", default="", help="Column identifying a profile.")
@click.pass_context
def set_files(ctx: click.Context, path: str, key: str) -> None:
    """A CSV, JSON Lines or Parquet file (by extension), queried in place."""
    config = SourceConfig(kind="files", key=key, path=_absolute(path))
    _report(set_source(context(ctx), config))


@set_.command("sqlite")
@click.argument("path")
@click.option("--table", "table_", required=True, help="Table (or view) holding the profiles.")
@click.option("--key", "key", metavar="COLUMN", default="", help="Column identifying a profile.")
@click.pass_context
def set_sqlite(ctx: click.Context, path: str, table_: str, key: str) -> None:
    """A SQLite database file, opened read-only."""
    config = SourceConfig(kind="sqlite", key=key, path=_absolute(path), table=table_)
    _report(set_source(context(ctx), config))


@set_.command("postgres")
@click.argument("url")
@click.option("--table", "table_", required=True, help="Table or view (schema.table allowed).")
@click.option("--key", "key", metavar="COLUMN", default="", help="Column identifying a profile.")
@click.pass_context
def set_postgres(ctx: click.Context, url: str, table_: str, key: str) -> None:
    """A PostgreSQL table; the password is read from stdin (or a hidden prompt) into the keyring.

    URL has no password: postgresql://USER@HOST:PORT/DATABASE
    """
    password = read_secret("Database password (empty for none)")
    config = SourceConfig(kind="postgres", key=key, url=url, table=table_)
    _report(set_source(context(ctx), config, password=password or None))


@source.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """Columns with types and sample values, and the number of profiles."""
    summary = show_source(context(ctx))
    if as_json:
        emit_json({
            "source": summary.description, "key": summary.key, "rows": summary.row_count,
            "columns": [{"name": c.name, "type": c.type, "samples": list(c.samples)}
                        for c in summary.columns],
        })
        return
    table(f"{summary.description} — {summary.row_count:,} profiles, key '{summary.key}'",
          ["column", "type", "sample values"],
          [(c.name, c.type, ", ".join(c.samples)) for c in summary.columns])


COMMANDS = [source]
