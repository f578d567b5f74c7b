"""``segport run`` and ``segport runs list|show``: run exports, read the run records."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import click

from segport.cli.output import context, emit_json, err, info, table, warn
from segport.manage.context import Context

if TYPE_CHECKING:
    from segport.engine.outcome import RunResult

#: Which exit code wins when several exports ran: cancelled, failed, rejections, done.
_SEVERITY = (130, 1, 3, 0)


def _worst(codes: Sequence[int]) -> int:
    return next((c for c in _SEVERITY if c in codes), 0)


async def _run_all(ctx: Context, names: Sequence[str], allow_mass_removal: bool,
                   as_json: bool) -> list[RunResult]:
    from segport.cli.progress import live_progress
    from segport.manage.running import prepare, run

    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    if me is not None:  # Ctrl-C, and SIGTERM (systemd stopping a service): cancel cleanly
        stop = _stopper(me)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop)
    results: list[RunResult] = []
    for name in names:
        prepared = prepare(ctx, name)
        progress, live = live_progress(err)
        with live if live is not None else contextlib.nullcontext():
            result = await run(ctx, prepared, progress, allow_mass_removal=allow_mass_removal)
        results.append(result)
        _report(result, quiet=as_json)
        if result.outcome == "cancelled":
            break
    return results


def _stopper(task: asyncio.Task[object], exit_now: Callable[[int], object] = os._exit
             ) -> Callable[[], None]:
    """The first signal cancels the run; the second says it is stopping (the batch being
    committed and the run record finish in moments); a third stops the process at once — safe
    too: the next run finishes the job."""
    signals = 0

    def stop() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            task.cancel()
        elif signals == 2:
            warn("Already stopping: recording what the platform acknowledged and closing the "
                 "run record. Press Ctrl-C once more to stop at once (nothing is lost: the "
                 "next run finishes the job).")
        else:
            warn("Stopped at once. The next run finishes the job.")
            exit_now(130)
    return stop


def _report(result: RunResult, *, quiet: bool) -> None:
    c = result.counts
    line = (f"Run {result.run_id} of '{result.export}': {result.outcome} in "
            f"{result.duration:,.1f} s — {c.get('accepted', 0):,} accepted, "
            f"{c.get('removed', 0):,} removed, {c.get('unchanged', 0):,} unchanged, "
            f"{c.get('rejected', 0):,} rejected, {c.get('failed', 0):,} failed, "
            f"{c.get('invalid', 0):,} invalid, {c.get('duplicates', 0):,} duplicates.")
    info(line)
    if result.detail:
        (info if result.outcome == "succeeded" else warn)(result.detail)
    if result.rejected_file:
        info(f"Rows kept back or refused, with reasons: {result.rejected_file}")


@click.command("run")
@click.argument("exports", nargs=-1)
@click.option("--all", "run_all", is_flag=True, help="Run every export whose schedule is on.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("--allow-mass-removal", is_flag=True,
              help="Let mirror mode remove more than the export's share of a list.")
def run_command(exports: tuple[str, ...], run_all: bool, as_json: bool,
                allow_mass_removal: bool) -> None:
    """Run EXPORT(s) now: send what changed since the last run, and record the run.

    Exit codes: 0 done; 1 the run failed; 3 completed, but rows were invalid or rejected
    (see the run record); 130 cancelled.
    """
    from segport.manage.running import scheduled

    ctx = context(click.get_current_context())
    if run_all and exports:
        raise click.UsageError("Name exports or use --all, not both.")
    names = list(exports) if exports else (scheduled(ctx) if run_all else [])
    if not names:
        if not run_all:
            raise click.UsageError("Name an export to run (see 'segport exports list'), "
                                   "or use --all.")
        info("No export has its schedule on; nothing to run.")
        if as_json:
            emit_json({"runs": []})
        return
    results = asyncio.run(_run_all(ctx, names, allow_mass_removal, as_json))
    if as_json:
        emit_json({"runs": [r.as_dict() for r in results]})
    sys.exit(_worst([r.exit_code for r in results]))


@click.group()
def runs() -> None:
    """Run records: who ran which export when, and how it went."""


@runs.command("list")
@click.option("--export", "export", default=None, help="Only this export's runs.")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def runs_list(export: str | None, limit: int, as_json: bool) -> None:
    """The latest runs, newest first."""
    from segport.manage.running import runs as list_runs

    found = list_runs(context(click.get_current_context()), export, limit)
    if as_json:
        emit_json({"runs": [_record(r) for r in found]})
        return
    if not found:
        info("No runs yet. Run an export with 'segport run EXPORT'.")
        return
    table(None, ["run", "export", "started", "by", "outcome", "accepted", "kept back",
                 "duration"],
          [(r.id, r.export, _when(r.started_at), r.who, r.outcome.replace("_", " "),
            f"{r.counts.get('accepted', 0) + r.counts.get('removed', 0):,}",
            f"{sum(r.counts.get(k, 0) for k in _KEPT):,}",
            "" if r.duration is None else f"{r.duration:,.1f} s") for r in found])


_KEPT = ("invalid", "duplicates", "rejected", "failed")


def _when(iso: str | None) -> str:
    """An ISO timestamp as local time, to the second."""
    from datetime import datetime

    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


@runs.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def runs_show(run_id: int, as_json: bool) -> None:
    """One run: counts per segment, outcome, rejected file, API calls."""
    from segport.manage.running import call_summary, run_record

    record, calls = run_record(context(click.get_current_context()), run_id)
    grouped = dict(call_summary(calls))
    if as_json:
        emit_json({**_record(record), "api_calls": grouped})
        return
    info(f"Run {record.id} of '{record.export}': {record.outcome.replace('_', ' ')}")
    info(f"Run by {record.who}; connection {record.connection or '—'}, export user "
         f"{record.export_user or '—'}; {_when(record.started_at)} → "
         f"{_when(record.finished_at) or '…'}"
         + ("" if record.duration is None else f" ({record.duration:,.1f} s)"))
    if record.detail:
        info(record.detail)
    names = list(record.segments)
    table("Counts", ["", *names, *(["total"] if len(names) > 1 else [])],
          [(k, *(f"{record.segments[n].get(k, 0):,}" for n in names),
            *([f"{record.counts.get(k, 0):,}"] if len(names) > 1 else []))
           for k in _COUNTS])
    table("API calls", ["call", "count"], list(grouped.items()))
    if record.rejected_file:
        info(f"Rows kept back or refused, with reasons: {record.rejected_file}")


_COUNTS = ("read", "invalid", "duplicates", "adds", "updates", "unchanged", "removals", "sent",
           "accepted", "rejected", "failed", "removed")


def _record(r: object) -> dict[str, object]:
    from dataclasses import asdict

    from segport.engine.outcome import EXIT_CODES

    data = asdict(r)  # type: ignore[call-overload]
    data["exit_code"] = EXIT_CODES.get(data["outcome"])
    return data


COMMANDS = [run_command, runs]
