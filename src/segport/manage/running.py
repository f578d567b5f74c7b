"""Run exports for the current user, and read the run records: what both faces call.

:func:`prepare` checks everything a run needs before anything is sent — the export exists and
is attached, the user may run it, its connection's key is in the secret store — and
:func:`run` performs it with the engine. The profile source is opened for the run's duration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from segport.destinations import make_destination
from segport.destinations.base import Destination
from segport.destinations.retry import RetryPolicy
from segport.engine.events import EventSink
from segport.engine.ledger import Ledger, committed_counts
from segport.engine.outcome import RunResult
from segport.engine.records import ApiCall, RunRecord
from segport.engine.run import INTERRUPTED, RunJob, is_running, run_export
from segport.errors import ConfigError
from segport.manage.connect import CONNECT_RETRY_BUDGET, SANDBOX_HINT, is_sandbox
from segport.manage.context import Context
from segport.manage.planning import export_for
from segport.model import Connection, Export, WorkspaceConfig
from segport.secrets import connection_entry, env_var_for


@dataclass(frozen=True)
class Prepared:
    """An export cleared to run: its config, connection and key (kept out of repr)."""

    config: WorkspaceConfig
    export: Export
    connection: Connection
    key: str

    def __repr__(self) -> str:
        return f"Prepared(export={self.export.name!r}, connection={self.connection.name!r})"


def prepare(ctx: Context, export_name: str) -> Prepared:
    """Check that ``export_name`` may run now; raises a :class:`SegportError` saying why not."""
    config, access, export = export_for(ctx, export_name)
    if export.connection is None:
        raise ConfigError(f"Export '{export_name}' is detached from its connection; attach it "
                          f"with 'segport exports attach {export_name} CONNECTION' first.")
    connection = config.connections.get(export.connection)
    if connection is None:
        raise ConfigError(f"Export '{export_name}' names connection '{export.connection}', "
                          "which does not exist. Attach it to another connection.")
    access.require_use_connection(connection)
    key = ctx.secrets.get(connection_entry(connection.name))
    if not key:
        raise ConfigError(
            f"No key for connection '{connection.name}' in {ctx.secrets.describe()}. Add the "
            f"connection again, or set {env_var_for(connection.name)} for unattended runs.")
    return Prepared(config, export, connection, key)


def scheduled(ctx: Context) -> list[str]:
    """The exports whose schedule is on and that are attached (``segport run --all``)."""
    config = ctx.config()
    return [e.name for e in config.exports.values() if e.schedule and e.active]


def _factory(prepared: Prepared, options: Mapping[str, Any]) -> Any:
    connection = prepared.connection
    if is_sandbox(connection.base_url) and "policy" not in options:
        # A sandbox that accepts no connection is not running: say so within seconds (the
        # default budget would retry for two minutes before telling to start it).
        options = {**options, "policy": RetryPolicy(unreachable_budget_s=CONNECT_RETRY_BUDGET)}

    def open_destination(**hooks: Any) -> Destination:
        return make_destination(connection.type, prepared.key, connection.base_url,
                                connection.data_center, **{**options, **hooks})

    return open_destination


async def run(ctx: Context, prepared: Prepared, on_event: EventSink | None = None, *,
              allow_mass_removal: bool = False,
              destination_options: Mapping[str, Any] | None = None,
              plan_options: Mapping[str, Any] | None = None) -> RunResult:
    """Run a prepared export (see :func:`segport.engine.run.run_export`)."""
    with ctx.open_source(prepared.config.source) as source:
        job = RunJob(prepared.config, prepared.export, prepared.connection, source,
                     _factory(prepared, destination_options or {}), ctx.workspace.db_path,
                     ctx.workspace.runs_dir, ctx.user, plan_options,
                     SANDBOX_HINT if is_sandbox(prepared.connection.base_url) else None)
        return await run_export(job, on_event, allow_mass_removal=allow_mass_removal)


# --- run records ----------------------------------------------------------------------------

def _visible(ctx: Context) -> set[str] | None:
    """Exports whose runs the user may see (None: all of them, for admins)."""
    access = ctx.member_access()
    if access.role.value == "admin":
        return None
    return {e.name for e in access.visible_exports()}


def runs(ctx: Context, export: str | None = None, limit: int = 50) -> list[RunRecord]:
    """The latest run records the user may see, newest first; a record still marked running
    whose process is gone shows as failed (interrupted)."""
    visible = _visible(ctx)
    found = Ledger.reader(ctx.workspace.db_path).runs(export, limit)
    return [_live(ctx, r) for r in found if visible is None or r.export in visible]


def call_summary(calls: Iterable[ApiCall]) -> list[tuple[str, int]]:
    """API calls grouped as ``METHOD path status`` → count, in the order they first happened."""
    grouped: dict[str, int] = {}
    for call in calls:
        name = f"{call.method} {call.path} {call.status if call.status is not None else 'error'}"
        grouped[name] = grouped.get(name, 0) + 1
    return list(grouped.items())


def run_record(ctx: Context, run_id: int) -> tuple[RunRecord, list[ApiCall]]:
    """One run record and its API call log."""
    visible = _visible(ctx)
    ledger = Ledger.reader(ctx.workspace.db_path)
    record = ledger.run(run_id)
    if record is None or (visible is not None and record.export not in visible):
        raise ConfigError(f"No run {run_id}. See 'segport runs list'.")
    return _live(ctx, record), ledger.api_calls(run_id)


def _live(ctx: Context, record: RunRecord) -> RunRecord:
    if record.outcome != "running" or is_running(ctx.workspace.runs_dir, record.export):
        return record
    totals, segments = committed_counts(Ledger.reader(ctx.workspace.db_path).run_tallies(record.id))
    return replace(record, outcome="failed", detail=INTERRUPTED, counts=totals, segments=segments)
