"""One run of an export: plan, apply, and a run record whatever happens.

:func:`run_export` opens the run record first, then finds the export's lists on the platform,
plans in a worker thread (its events handed to the event loop's thread), applies the plan
unless it was refused, and always closes the record — ``succeeded``,
``completed_with_rejections``, ``failed`` (with the reason) or ``cancelled`` — with counts
totalled from what was committed, a file of the rows kept back or refused, the API call log,
and fresh ledger snapshots. Only one run per export at a time (a lock file in ``runs/``); a run
finding an earlier one still marked running knows that process died, marks it failed, and goes
on from the ledger: nothing acknowledged is resent, nothing unacknowledged is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from segport.destinations.base import Destination
from segport.destinations.errors import DestinationError, DestinationUnreachableError
from segport.destinations.pacing import WaitEvent
from segport.destinations.wire import RequestRecord
from segport.engine.apply import NEW_LIST, Applier, CallLog
from segport.engine.events import (
    Event,
    EventSink,
    RateLimited,
    RequestLogged,
    RunFinished,
    RunStarted,
    ignore,
)
from segport.engine.ledger import Ledger
from segport.engine.outcome import RunResult, decide, write_rejected
from segport.engine.plan import PlanStopped, plan_export
from segport.engine.spool import Plan
from segport.errors import ConfigError, SegportError
from segport.model import Connection, Export, WorkspaceConfig
from segport.sources.base import ProfileSource

#: Builds the export's destination client with the engine's hooks (``on_wait``, ``on_record``).
DestinationFactory = Callable[..., Destination]
INTERRUPTED = ("Interrupted: the process ended before the run finished (killed, crashed or "
               "powered off); the next run goes on from what the platform acknowledged.")


@dataclass
class RunJob:
    """Everything a run needs, resolved by the caller (permissions, key, source)."""

    config: WorkspaceConfig
    export: Export
    connection: Connection
    source: ProfileSource
    open_destination: DestinationFactory
    ledger_path: Path
    runs_dir: Path
    who: str
    plan_options: Mapping[str, Any] | None = None
    #: Said after the reason when the platform accepts no connection (the sandbox: start it).
    unreachable_hint: str | None = None


@contextlib.contextmanager
def export_lock(runs_dir: Path, export: str) -> Iterator[None]:
    """Hold the export's run lock, or say that another run of it is under way."""
    runs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256(export.encode()).hexdigest()[:16]
    lock = FileLock(str(runs_dir / f".run-{digest}.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ConfigError(f"Export '{export}' is already running in another segport process; "
                          "wait for it to finish (see 'segport runs list').") from None
    try:
        yield
    finally:
        lock.release()


def is_running(runs_dir: Path, export: str) -> bool:
    """Whether a process holds the export's run lock now."""
    try:
        with export_lock(runs_dir, export):
            return False
    except ConfigError:
        return True


async def _known_lists(dest: Destination, export: Export) -> dict[str, str]:
    """segment → id of its list found by name (a NEW_LIST placeholder when missing); checks a
    list id."""
    lists = await dest.lists()
    if export.list_id:
        if not any(ref.id == export.list_id for ref in lists):
            raise ConfigError(
                f"{dest.label} has no list with id {export.list_id!r} for export "
                f"'{export.name}'. Choose an existing list for the export, then run again.")
        return {}
    by_name: dict[str, str] = {}
    for ref in lists:
        by_name.setdefault(ref.name, ref.id)
    return {s: by_name.get(s, f"{NEW_LIST} {s}") for s in export.segments}


async def _plan(job: RunJob, list_ids: Mapping[str, str], allow_mass_removal: bool,
                emit: EventSink) -> Plan:
    """Plan in a worker thread; on cancel, stop it and wait for it to let go of the source."""
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def handed_over(event: Event) -> None:
        loop.call_soon_threadsafe(emit, event)

    work = loop.run_in_executor(None, functools.partial(
        plan_export, job.source, job.config, job.export, Ledger.reader(job.ledger_path),
        handed_over, allow_mass_removal=allow_mass_removal, list_ids=list_ids,
        should_stop=stop.is_set, **(job.plan_options or {})))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        stop.set()
        with contextlib.suppress(PlanStopped):
            (await work).close()
        raise


async def run_export(job: RunJob, on_event: EventSink | None = None, *,
                     allow_mass_removal: bool = False) -> RunResult:
    """Run ``job.export`` once; see the module doc. Cancelling the calling task cancels the
    run cleanly: the result's outcome is then ``cancelled``."""
    emit = on_event or ignore
    export, connection = job.export, job.connection
    with export_lock(job.runs_dir, export.name), Ledger.open(job.ledger_path) as ledger:
        ledger.close_interrupted(export.name, INTERRUPTED)
        run_id = ledger.start_run(export.name, job.who, connection.name,
                                  connection.export_user, connection_type=connection.type)
        started = time.perf_counter()
        emit(RunStarted(run_id, export.name, connection.name, connection.export_user,
                        export.segments))
        calls = CallLog()
        plan: Plan | None = None
        applier: Applier | None = None
        outcome: str | None = None
        detail: str | None = None

        def waited(wait: WaitEvent) -> None:
            emit(RateLimited(wait.seconds, wait.reason))

        def logged(record: RequestRecord) -> None:
            calls.add(record)
            emit(RequestLogged(record.method, record.path, record.status, record.duration_s,
                               record.attempt))

        try:
            async with job.open_destination(on_wait=waited, on_record=logged) as dest:
                list_ids = await _known_lists(dest, export)
                plan = await _plan(job, list_ids, allow_mass_removal, emit)
                if plan.refusals:
                    outcome, detail = "failed", f"Refused before sending: {plan.refusal}"
                else:
                    applier = Applier(plan, dest, ledger, run_id, emit, calls)
                    await applier.apply()
        except asyncio.CancelledError:
            outcome = "cancelled"
            detail = ("Cancelled by the user. What the platform acknowledged is recorded; "
                      "run the export again to finish.")
            if applier is not None:
                try:
                    await applier.drain()
                except BaseException:  # interrupted again while draining: still close the record
                    _finish(job, ledger, run_id, plan, calls, started, outcome, detail, emit)
                    raise
        except (DestinationError, SegportError) as exc:
            outcome, detail = "failed", str(exc)
            if isinstance(exc, DestinationUnreachableError) and job.unreachable_hint:
                detail = f"{detail} {job.unreachable_hint}"
        except Exception as exc:
            outcome, detail = "failed", f"Unexpected error: {type(exc).__name__}: {exc}"
            _finish(job, ledger, run_id, plan, calls, started, outcome, detail, emit)
            raise
        return _finish(job, ledger, run_id, plan, calls, started, outcome, detail, emit)


def _finish(job: RunJob, ledger: Ledger, run_id: int, plan: Plan | None, calls: CallLog,
            started: float, outcome: str | None, detail: str | None,
            emit: EventSink) -> RunResult:
    """Close the run record from what was committed, write the rejected file, drop the plan's
    spool, refresh snapshots, and record the whole duration."""
    try:
        ledger.log_calls(run_id, calls.take())
        segments = _segment_counts(plan, ledger.run_tallies(run_id))
        totals: dict[str, int] = {}
        for counts in segments.values():
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
        if outcome is None:
            outcome, detail = decide(totals)
        path = write_rejected(job.runs_dir / str(run_id), plan, ledger, run_id)
        rejected = str(path) if path else None
        duration = time.perf_counter() - started
        ledger.finish_run(run_id, outcome, totals, detail=detail, rejected_file=rejected,
                          segments=segments, duration=duration)
        if outcome in ("succeeded", "completed_with_rejections") and not totals.get("failed"):
            ledger.forget_sent(job.export.name)  # every add sent so far has its answer
    finally:
        if plan is not None:
            plan.close()  # the plan's DuckDB (every row of the export) goes before snapshots come
    ledger.refresh_snapshots(job.export.name, run_id=run_id)
    # the record was closed before the snapshots (a crash while writing them leaves it closed);
    # its duration takes them in now: the time the person waited
    duration = time.perf_counter() - started
    ledger.set_duration(run_id, duration)
    result = RunResult(run_id, job.export.name, outcome, totals, duration, detail, rejected,
                       segments)
    emit(RunFinished(result))
    return result


def _segment_counts(plan: Plan | None, done: Mapping[str, Mapping[str, int]]
                    ) -> dict[str, dict[str, int]]:
    """Planned counts and committed tallies, per segment of the export."""
    found: dict[str, dict[str, int]] = {}
    names = [s.name for s in plan.segments] if plan is not None else list(done)
    for name in names:
        counts = plan.segment(name).counts.as_dict() if plan is not None else {}
        tally = dict.fromkeys(("sent", "accepted", "rejected", "failed", "removed"), 0)
        tally.update(done.get(name, {}))
        found[name] = {**counts, **tally}
    return found
