"""The profile source and its segments: set, inspect, add, remove."""

from __future__ import annotations

from dataclasses import dataclass, replace

from segport.errors import ConfigError, SegportError
from segport.manage.context import Context
from segport.manage.names import check_name
from segport.model import Segment, SourceConfig, WorkspaceConfig
from segport.secrets import POSTGRES_ENTRY
from segport.sources.base import ColumnInfo

#: Key columns tried, in order, when ``--key`` is not given.
KEY_CANDIDATES = ("profile_id", "customer_id", "contact_id", "user_id", "id", "key")


@dataclass(frozen=True)
class SourceSummary:
    """What ``source show`` reports."""

    description: str
    key: str
    row_count: int
    columns: list[ColumnInfo]


def set_source(ctx: Context, source: SourceConfig, password: str | None = None) -> SourceSummary:
    """Check that ``source`` opens and has its key column, then save it (admins only).

    ``source.key`` may be empty: the key column is then guessed from common names.
    For PostgreSQL the password goes to the keyring (``None`` or empty: no password).
    """
    if ctx.workspace.exists:
        ctx.access().require_manage_source()
    secret = password if source.kind == "postgres" else None
    with ctx.open_source(source, password=secret) as opened:  # an empty key: not checked yet
        columns = opened.columns()
    names = [c.name for c in columns]
    final = replace(source, key=source.key or _guess_key(names))
    with ctx.open_source(final, password=secret) as opened:
        summary = SourceSummary(opened.describe(), final.key, opened.row_count(), columns)

    def change(config: WorkspaceConfig) -> WorkspaceConfig:
        if config.source is not None:
            ctx.access(config).require_manage_source()
        return replace(config, source=final)

    ctx.update(change)
    if source.kind == "postgres":  # only once the source is known to work
        if password:
            ctx.secrets.set(POSTGRES_ENTRY, password)
        else:
            ctx.secrets.delete(POSTGRES_ENTRY)
    return summary


def _guess_key(names: list[str]) -> str:
    lowered = {n.lower(): n for n in names}
    for candidate in KEY_CANDIDATES:
        if candidate in lowered:
            return lowered[candidate]
    raise ConfigError(f"Cannot tell which column identifies a profile; name it with --key COLUMN "
                      f"(columns: {', '.join(names)}).")


def show_source(ctx: Context) -> SourceSummary:
    """The configured source: description, key, row count, columns with samples."""
    ctx.member_access()
    with ctx.open_source() as source:
        return SourceSummary(source.describe(), source.key, source.row_count(), source.columns())


def segment_counts(ctx: Context) -> list[tuple[Segment, int | None, str | None]]:
    """Every segment with its member count, or the error that prevents counting it."""
    config = ctx.config()
    ctx.access(config).require_member()
    out: list[tuple[Segment, int | None, str | None]] = []
    if not config.segments:
        return out
    with ctx.open_source(config.source) as source:
        for segment in config.segments.values():
            try:
                out.append((segment, source.count(segment), None))
            except SegportError as exc:
                out.append((segment, None, str(exc)))
    return out


def add_segment(ctx: Context, segment: Segment) -> int:
    """Check the segment against the source (it must count), save it, return its member count."""
    check_name(segment.name, "segment")
    config = ctx.config()
    ctx.access(config).require_manage_segments()
    if segment.name in config.segments:
        raise ConfigError(f"A segment named '{segment.name}' already exists; remove it first or "
                          "choose another name.")
    if segment.members is not None:
        members = ctx.workspace.resolve_path(segment.members).resolve()
        segment = replace(segment, members=str(members))
    with ctx.open_source(config.source) as source:
        count = source.count(segment)

    def change(current):  # type: ignore[no-untyped-def]
        ctx.access(current).require_manage_segments()
        if segment.name in current.segments:
            raise ConfigError(f"A segment named '{segment.name}' already exists.")
        return replace(current, segments={**current.segments, segment.name: segment})

    ctx.update(change)
    return count


def remove_segment(ctx: Context, name: str) -> None:
    """Remove a segment no export uses."""

    def change(current):  # type: ignore[no-untyped-def]
        ctx.access(current).require_manage_segments()
        if name not in current.segments:
            raise ConfigError(f"No segment named '{name}'. See 'segport segments list'.")
        users = current.exports_with_segment(name)
        if users:
            raise ConfigError(f"Segment '{name}' is used by export(s) "
                              f"{', '.join(e.name for e in users)}; change or remove them first.")
        return replace(current, segments={k: v for k, v in current.segments.items() if k != name})

    ctx.update(change)
