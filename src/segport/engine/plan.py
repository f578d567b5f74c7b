"""Plan an export: what a run would add, update, leave, remove and keep back — without writing.

For each segment, in order: stream its rows (key, email and the mapped columns only) as Arrow
batches, read ahead by a thread; normalise and validate emails and canonicalise field values
(the same SQL for every source, see :mod:`segport.engine.emails` and :mod:`segport.engine.canon`);
dedupe within each target list (the first row of an email wins, later ones are reported
``duplicate of <key>``: across the export for SendGrid's one list, within each segment where
every segment has its own list); diff with the ledger scope (export, segment) — made ready
meanwhile by another thread, from its snapshot when current — into adds / updates /
unchanged; in mirror mode, spool removals: ledger members segport itself added to the target
list that no segment of that list holds any more. All of it runs in the plan's own DuckDB
(:mod:`segport.engine.work`): nothing is kept per row in Python, and memory stays bounded
(``memory_limit``, then spilling).

Then the refusals: over the cap (the catalogue's, or ``export.cap``) counted in valid emails
unique per list, summed over the export's lists; and the blast-radius guard — removals above
``export.max_removal_share`` of a list's known size — unless ``allow_mass_removal``.

Planning reads the ledger through connections that cannot write; the spool lives in a
temporary folder outside the workspace (``spool_dir`` to choose where).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from segport.destinations.catalogue import CATALOGUES
from segport.engine.canon import optional_fields
from segport.engine.events import (
    EventSink,
    PlanFinished,
    PlanReady,
    PlanStarted,
    RowsRead,
    ignore,
)
from segport.engine.ledger import Ledger
from segport.engine.reader import arrow_batches, prefetched
from segport.engine.spool import Plan, Refusal, SegmentPlan
from segport.engine.work import LedgerLoader, Work, connect
from segport.errors import ConfigError
from segport.model import DESTINATION_LABELS, Export, Segment, WorkspaceConfig
from segport.sources.base import ProfileSource

#: Rows per Arrow batch read from the source: DuckDB's row group size (appending whole row
#: groups is several times faster than appending arbitrary chunks).
BATCH_ROWS = 122_880
#: The plan's DuckDB memory budget; past it, the spool spills to its temporary folder.
MEMORY_LIMIT = "128MB"


class PlanStopped(Exception):
    """Planning was stopped on request (the run was cancelled)."""


def _segments(config: WorkspaceConfig, export: Export) -> list[Segment]:
    if "email" not in export.mapping:
        raise ConfigError(f"Export '{export.name}' maps no email column — map it with "
                          "email=COLUMN.")
    missing = [s for s in export.segments if s not in config.segments]
    if missing:
        raise ConfigError(f"Export '{export.name}' names unknown segment(s) "
                          f"{', '.join(repr(s) for s in missing)} — see 'segport segments list'.")
    if not export.segments:
        raise ConfigError(f"Export '{export.name}' has no segments to send.")
    return [config.segments[s] for s in export.segments]


def _columns(key: str, mapping: Mapping[str, str], fields: Sequence[str]
             ) -> tuple[list[str], int | None, int, list[int]]:
    """Distinct source columns to read, and the positions of key, email and each field."""
    columns: list[str] = []

    def at(column: str) -> int:
        if column not in columns:
            columns.append(column)
        return columns.index(column)

    key_at = at(key) if key else None
    email_at = at(mapping["email"])
    return columns, key_at, email_at, [at(mapping[f]) for f in fields]


def _groups(names: Sequence[str], targets: Sequence[str | None]) -> dict[str, list[int]]:
    """Segments by the list they go to (a known list id, else one list per segment)."""
    groups: dict[str, list[int]] = {}
    for i, (name, target) in enumerate(zip(names, targets, strict=True)):
        groups.setdefault(f"list {target}" if target else f"segment {name}", []).append(i)
    return groups


def _cap_refusal(export: Export, members: int, cap: int, scope: str) -> Refusal | None:
    if members <= cap:
        return None
    label = DESTINATION_LABELS[export.connection_type]
    raised = " (the export's own cap)" if export.cap else f" ({label}'s documented limit)"
    return Refusal("cap", (
        f"The export's segments hold {members:,} valid email addresses (unique per list), "
        f"above the cap "
        f"of {cap:,} profiles {scope}{raised}. Narrow the segments, or raise the export's cap "
        f"if your contract with {label} allows more."))


def _removal_refusal(export: Export, where: str, removals: int, size: int) -> Refusal | None:
    if removals == 0 or removals <= export.max_removal_share * size:
        return None
    share = removals / size if size else 1.0
    return Refusal("mass_removal", (
        f"This run would remove {removals:,} of the {size:,} members segport delivered to "
        f"{where} ({share:.1%}), above the export's limit of {export.max_removal_share:.0%}. "
        "Check the segment's definition; if the removal is intended, allow mass removal for "
        "this run."))


def plan_export(
    source: ProfileSource,
    config: WorkspaceConfig,
    export: Export,
    ledger: Ledger | None,
    on_event: EventSink | None = None,
    *,
    allow_mass_removal: bool = False,
    list_ids: Mapping[str, str] | None = None,
    spool_dir: str | Path | None = None,
    batch_size: int = BATCH_ROWS,
    memory_limit: str = MEMORY_LIMIT,
    threads: int = 2,
    count_first: bool = True,
    should_stop: Callable[[], bool] | None = None,
) -> Plan:
    """Plan ``export``; see the module doc. ``list_ids`` (segment → list id) names lists
    resolved by name (Iterable, Autopilot), else ``export.list_id`` is every segment's target.
    ``count_first`` asks the source for each segment's size first (``PlanStarted.total_hint``).
    ``should_stop`` is asked between batches; when it says yes, :class:`PlanStopped` is raised.
    The caller closes the returned :class:`Plan`."""
    emit = on_event or ignore
    started = time.perf_counter()
    segments = _segments(config, export)
    names = [s.name for s in segments]
    fields = optional_fields(export.mapping)
    columns, key_at, email_at, field_at = _columns(source.key, export.mapping, fields)
    targets = [(list_ids or {}).get(n) or export.list_id for n in names]
    groups = _groups(names, targets)
    last_of = {g[-1]: g for g in groups.values()}
    group_of = {i: g for g in groups.values() for i in g}
    mirror = export.mode == "mirror"

    spool = Path(tempfile.mkdtemp(prefix="segport-plan-", dir=spool_dir))
    con = connect(spool, memory_limit, threads)
    loader = LedgerLoader(con, ledger, export.name, names, targets, spool)
    try:
        work = Work(con, fields)
        loader.start()
        read_counts: list[tuple[int, int]] = []
        plans: list[SegmentPlan | None] = [None] * len(segments)
        for si, segment in enumerate(segments):
            emit(PlanStarted(export.name, segment.name,
                             source.count(segment) if count_first else None))
            known = ledger is not None and ledger.has_members(export.name, segment.name)
            sql = work.insert_sql(si, key_at, email_at, field_at, fingerprints=known)
            read = invalid = 0
            for batch in prefetched(arrow_batches(source, segment, columns, batch_size)):
                if should_stop is not None and should_stop():
                    raise PlanStopped(f"Planning of export '{export.name}' was stopped.")
                invalid += work.stage(si, sql, key_at, email_at, batch)
                read += batch.num_rows
                emit(RowsRead(segment.name, read, invalid))
            loader.wait(si)
            work.classify(si, [j for j in group_of[si] if j <= si])
            read_counts.append((read, invalid))
            duplicates = work.counts(si, read, invalid).duplicates
            emit(RowsRead(segment.name, read, invalid, duplicates, done=True))
            for sj in last_of.get(si, ()):
                if mirror:
                    work.spool_removals(sj, last_of[si])
                plans[sj] = _segment_plan(work, sj, names[sj], targets[sj], *read_counts[sj])
                counts = plans[sj].counts  # type: ignore[union-attr]
                emit(PlanReady(names[sj], counts.adds, counts.updates, counts.unchanged,
                               counts.removals, counts.invalid, counts.duplicates))
        loader.join()
        done = tuple(p for p in plans if p is not None)
        refusals = _refusals(export, work, done, groups, targets, allow_mass_removal)
        work.drop_ledgers(len(segments))
    except BaseException:
        loader.stop()
        con.close()
        shutil.rmtree(spool, ignore_errors=True)
        raise
    catalogue = CATALOGUES[export.connection_type]
    plan = Plan(export, done, refusals, export.cap or catalogue.cap, catalogue.cap_scope,
                time.perf_counter() - started, con, spool, tuple(fields))
    emit(PlanFinished(export.name, plan.totals.as_dict(), plan.refusal, plan.duration,
                      tuple(r.kind for r in refusals)))
    return plan


def _segment_plan(work: Work, si: int, name: str, target: str | None, read: int,
                  invalid: int) -> SegmentPlan:
    return SegmentPlan(name, work.counts(si, read, invalid), target, work.list_size([si]),
                       work.samples(si))


def _refusals(export: Export, work: Work, plans: Sequence[SegmentPlan],
              groups: Mapping[str, list[int]], targets: Sequence[str | None],
              allow_mass_removal: bool) -> tuple[Refusal, ...]:
    catalogue = CATALOGUES[export.connection_type]
    members = sum(p.counts.members for p in plans)
    found = [_cap_refusal(export, members, export.cap or catalogue.cap, catalogue.cap_scope)]
    if export.mode == "mirror" and not allow_mass_removal:
        for group in groups.values():
            target = targets[group[0]]
            where = f"list {target}" if target else f"the list of segment '{plans[group[0]].name}'"
            found.append(_removal_refusal(export, where, work.removals_in(group),
                                          work.list_size(group)))
    return tuple(r for r in found if r is not None)
