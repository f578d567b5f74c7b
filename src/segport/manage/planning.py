"""Plan (dry run) an export: what a run would add, update, remove and reject; writes nothing."""

from __future__ import annotations

from collections.abc import Callable

from segport.access import Access
from segport.engine.events import EventSink
from segport.engine.ledger import Ledger
from segport.engine.plan import plan_export
from segport.engine.spool import Plan
from segport.manage.context import Context
from segport.manage.exports import managed_export
from segport.model import Export, WorkspaceConfig


def export_for(ctx: Context, export_name: str) -> tuple[WorkspaceConfig, Access, Export]:
    """The config, the user's access and the named export, which the user may manage."""
    config = ctx.config()
    access = ctx.access(config)
    return config, access, managed_export(access, export_name)


def plan(ctx: Context, export_name: str, *, allow_mass_removal: bool = False,
         on_event: EventSink | None = None,
         should_stop: Callable[[], bool] | None = None) -> Plan:
    """Plan ``export_name`` for the current user; the caller closes the returned plan.

    ``should_stop`` is asked between batches; when it says yes, planning stops with
    :class:`segport.engine.plan.PlanStopped` (a screen closed while planning)."""
    config, _, export = export_for(ctx, export_name)
    with ctx.open_source(config.source) as source, Ledger.reader(ctx.workspace.db_path) as ledger:
        return plan_export(source, config, export, ledger, on_event,
                           allow_mass_removal=allow_mass_removal, should_stop=should_stop)
