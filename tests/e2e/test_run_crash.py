"""Runs are crash-safe and cancel cleanly (product.md §3 "Crash-safe"; cli.md exit codes).

Against the real sandbox over HTTP: `segport run` is killed with SIGKILL at seeded points and
cancelled with SIGINT and SIGTERM; an in-process run goes through a storm of faults; another is
cancelled after its first acknowledged batch. Every time, the platform and the ledger end up
holding exactly the segment, and nothing the platform acknowledged (and segport committed) is
sent again: only batches in flight when the process ended may be resent.

Autopilot is the platform of the subprocess tests: batches of 100 at its documented 5 requests/s
(the pace the real client keeps) make a run of a thousand or two profiles last a few seconds
and give the kills many batch boundaries to fall between. The emulator's own limit is raised
so that the client's pacing alone sets the pace (no 429 noise in the request counts).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

from crash_support import (
    EXPORT,
    SEGMENT,
    UPSERT,
    Setup,
    by_outcome,
    dump,
    list_members,
    make_setup,
    read_rejected,
    upserts,
    watch,
)

from segport.destinations.autopilot import AutopilotDestination
from segport.destinations.iterable import IterableDestination
from segport.destinations.retry import RetryPolicy
from segport.engine.events import BatchAcknowledged, Event, RunFinished
from segport.manage import running
from segport.sandbox.server import Sandbox

AUTOPILOT = AutopilotDestination.default_limits
BATCH = AUTOPILOT.max_batch_count
MAX_IN_FLIGHT = AUTOPILOT.max_in_flight
#: Autopilot paced at the emulator's raised limit, for in-process runs that need no pacing.
FAST_AUTOPILOT = replace(AUTOPILOT, requests_per_s=50.0)
TALLY_KEYS = ("sent", "accepted", "rejected", "failed", "removed")


def fast_emulator(sandbox: Sandbox, latency: float = 0.0) -> None:
    """Autopilot's emulator limit above the client's pace (every request is a real attempt, no
    429 noise), answers after ``latency`` to twice that."""
    sandbox.configure("autopilot", {"rate": {"rate": 50, "burst": 10},
                                    "faults": {"latency": latency, "latency_jitter": latency}})


def count(sandbox: Sandbox, kind: str = "autopilot") -> int:
    return upserts(sandbox.state(kind), kind)  # type: ignore[arg-type]


def latest_run(setup: Setup) -> int:
    """The id of the export's latest run record (0: none yet)."""
    found = setup.ledger().runs(EXPORT, 1)
    return found[0].id if found else 0


def upserts_logged(setup: Setup, run_id: int) -> int:
    """Upsert requests in a run's API call log (what the client sent, retries included)."""
    path = UPSERT[setup.kind].split(" ", 1)[1]
    return sum(1 for c in setup.ledger().api_calls(run_id) if c.path == path)


def assert_ledger_on_platform(setup: Setup, sandbox: Sandbox) -> set[str]:
    """Every email the ledger says was delivered is on the list, with the right fields."""
    members = setup.members()
    on_list = list_members(sandbox.state(setup.kind))
    expected = setup.expected
    missing = members - on_list.keys()
    assert not missing, f"{len(missing)} ledger member(s) not on the list: {sorted(missing)[:5]}"
    wrong = {e: on_list[e] for e in members if on_list[e] != expected[e]}
    assert not wrong, f"wrong fields on the platform: {dump(wrong)}"
    return members


def assert_exact_final_state(setup: Setup, sandbox: Sandbox) -> None:
    """The list holds exactly the segment's emails with their fields; so does the ledger."""
    on_list = list_members(sandbox.state(setup.kind))
    expected = setup.expected
    assert on_list.keys() == expected.keys(), (
        f"missing {sorted(expected.keys() - on_list.keys())[:5]}, "
        f"extra {sorted(on_list.keys() - expected.keys())[:5]}")
    wrong = {e: (on_list[e], expected[e]) for e in expected if on_list[e] != expected[e]}
    assert not wrong, f"wrong fields: {dump(wrong)}"
    assert setup.members() == expected.keys()


def run_record(setup: Setup, run_id: int) -> Any:
    record = setup.ledger().run(run_id)
    assert record is not None, f"no run record {run_id}"
    return record


def assert_tallies_match(setup: Setup, record: Any) -> None:
    """The record's counts are what its committed batches did (totals and per segment)."""
    tallies = setup.ledger().run_tallies(record.id)
    totals = {k: sum(t[k] for t in tallies.values()) for k in TALLY_KEYS}
    assert {k: record.counts[k] for k in TALLY_KEYS} == totals, (record.counts, tallies)
    for segment, tally in tallies.items():
        assert {k: record.segments[segment][k] for k in TALLY_KEYS} == tally


# --- 1. kill -9 -------------------------------------------------------------------------------

KILL_ROWS = 1_300
KILLS = 3


def test_kill_9_at_seeded_points_then_a_run_finishes_exactly(sandbox: Sandbox,
                                                             tmp_path: Path) -> None:
    setup = make_setup(tmp_path / "kill", sandbox, "autopilot", KILL_ROWS)
    # Answers take 0.1-0.2 s: at the client's 5 requests/s, kills may land with one in flight.
    fast_emulator(sandbox, latency=0.1)
    clean = math.ceil(KILL_ROWS / BATCH)
    # Distinct kill points: the kill comes once this run's k-th upsert was answered.
    points = random.Random(20_260_322).sample(range(1, 5), KILLS)
    committed, delivered = 0, []
    for k in points:
        needed = math.ceil((KILL_ROWS - committed) / BATCH)
        assert needed - k >= 3, "the run must still have batches to send when it is killed"
        previous = latest_run(setup)
        proc = setup.spawn("run", EXPORT)
        try:
            # Counted from the moment the run opened its record: the answers still under way
            # to the killed run (0.2 s at most) were counted long before (start-up takes > 1 s).
            watch(proc, "the run's record", lambda p=previous: latest_run(setup) > p, timeout=60)
            before = count(sandbox)
            watch(proc, f"{k} upsert(s) of this run",
                  lambda k=k, before=before: count(sandbox) >= before + k, timeout=60)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        # What was committed is on the platform; the ledger never goes backwards.
        now = assert_ledger_on_platform(setup, sandbox)
        assert len(now) >= committed
        delivered.append(len(now) - committed)
        committed = len(now)

    final = setup.cli("run", EXPORT, "--json")
    assert final.code == 0, final.output
    (summary,) = final.json()["runs"]
    assert summary["outcome"] == "succeeded", summary
    remaining = KILL_ROWS - committed
    # The last run planned exactly what no earlier run had committed, and sent it once.
    assert summary["counts"]["adds"] == remaining
    assert summary["counts"]["unchanged"] == committed
    assert summary["counts"]["sent"] == summary["counts"]["accepted"] == remaining
    assert upserts_logged(setup, summary["run_id"]) == math.ceil(remaining / BATCH)

    assert_exact_final_state(setup, sandbox)
    # segport made the list and put everyone on it — even the batches the platform took but a
    # kill kept from being recorded: mirror mode may remove any of them later
    ledger = setup.ledger().members(EXPORT, SEGMENT)
    assert all(m.added for m in ledger.values()), sorted(e for e, m in ledger.items()
                                                          if not m.added)
    total = count(sandbox)
    # Only batches in flight at a kill may have been sent twice.
    assert clean <= total <= clean + KILLS * MAX_IN_FLIGHT, (total, points)
    # Answered, or cut off by a kill before the emulator read the body (then nothing was done).
    seen = by_outcome(sandbox.state("autopilot"), "autopilot")
    assert seen.keys() <= {"200", "disconnect"}, seen

    records = setup.runs()
    assert [r["outcome"] for r in records] == ["failed"] * KILLS + ["succeeded"], dump(records)
    for r, done in zip(records[:KILLS], delivered, strict=True):
        assert r["detail"].startswith("Interrupted"), r
        assert r["finished_at"] is not None and r["exit_code"] == 1
        # A killed run's record still counts what it committed (its rows are in the ledger).
        assert r["counts"].get("accepted") == done, (r["counts"], delivered)
    # Every row was committed exactly once, by one run or another.
    assert sum(r["counts"]["accepted"] for r in records) == KILL_ROWS
    print(f"kill points {points}: upserts {dump(seen)} for a clean {clean}; "
          f"{committed} of {KILL_ROWS} rows committed before the last run")


# --- 2. Ctrl-C and SIGTERM --------------------------------------------------------------------

CANCEL_ROWS = 1_500


def cancel_mid_run(setup: Setup, sandbox: Sandbox, sig: signal.Signals, k: int,
                   times: int = 1) -> dict[str, Any]:
    """Start `segport run --json`, send ``sig`` (``times`` times in a row) once this run had
    ``k`` upserts answered and a batch committed; check exit 130 and the message; return the
    run's JSON summary."""
    committed = len(setup.members())
    before = count(sandbox)
    proc = setup.spawn("run", EXPORT, "--json")
    try:
        watch(proc, f"{k} upserts and a committed batch",
              lambda: count(sandbox) >= before + k and len(setup.members()) > committed,
              timeout=60)
        for _ in range(times):
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    assert proc.returncode == 130, (sig, proc.returncode, out, err)
    assert "cancelled" in err.lower(), err
    assert "Traceback" not in err, err
    (summary,) = json.loads(out)["runs"]
    assert summary["outcome"] == "cancelled", summary
    record = run_record(setup, summary["run_id"])
    assert record.outcome == "cancelled" and record.finished_at is not None
    assert "Cancelled" in (record.detail or "")
    assert_tallies_match(setup, record)
    # It planned only what was not committed before, and committed what it says it did.
    members = assert_ledger_on_platform(setup, sandbox)
    assert record.counts["adds"] == CANCEL_ROWS - committed
    assert record.counts["accepted"] == len(members) - committed > 0
    assert record.counts["accepted"] < record.counts["adds"], "cancelled after the end"
    return summary


def test_sigint_then_sigterm_cancel_with_130_and_a_rerun_finishes(sandbox: Sandbox,
                                                                  tmp_path: Path) -> None:
    setup = make_setup(tmp_path / "cancel", sandbox, "autopilot", CANCEL_ROWS)
    fast_emulator(sandbox)
    clean = math.ceil(CANCEL_ROWS / BATCH)

    cancel_mid_run(setup, sandbox, signal.SIGINT, 2)     # Ctrl-C
    cancel_mid_run(setup, sandbox, signal.SIGTERM, 2)    # systemd stopping the service
    cancel_mid_run(setup, sandbox, signal.SIGINT, 2, times=2)  # an impatient Ctrl-C Ctrl-C

    # The re-run (in-process here, unpaced: the binary's own re-run is test 1's last run).
    committed = len(setup.members())
    ctx = setup.context()
    final = asyncio.run(running.run(ctx, running.prepare(ctx, EXPORT),
                                    destination_options={"limits": FAST_AUTOPILOT}))
    remaining = CANCEL_ROWS - committed
    assert final.outcome == "succeeded", final
    assert final.counts["adds"] == final.counts["accepted"] == remaining
    assert upserts_logged(setup, final.run_id) == math.ceil(remaining / BATCH)
    assert_exact_final_state(setup, sandbox)
    total = count(sandbox)
    assert clean <= total <= clean + 3 * MAX_IN_FLIGHT, total
    records = setup.ledger().runs(EXPORT)
    assert [r.outcome for r in records] == ["succeeded", "cancelled", "cancelled", "cancelled"]
    print(f"cancel: {total} upserts for a clean {clean}")


# --- 3. a storm of faults ---------------------------------------------------------------------

STORM_ROWS = 2_400
#: Faults on the upsert only (list look-ups and creation stay clean). Seed 2 draws a 5xx, a
#: reset, a late answer and a timeout within its first 12 decisions, and none in its first 2.
FAULTS = {"seed": 2, "only": [UPSERT["iterable"]], "error_rate": 0.12, "reset_rate": 0.08,
          "timeout_rate": 0.03, "late_rate": 0.08, "hang_seconds": 2.0}
#: The storm starts at the first acknowledged batch and outlasts the retry budget: requests in
#: its first moments give up (their rows fail); later ones wait it out and succeed.
STORM_S = 1.4
STORM_OPTIONS = {
    "limits": replace(IterableDestination.default_limits, max_batch_count=100,
                      requests_per_s=25.0),
    "policy": RetryPolicy(base_s=0.05, cap_s=0.4, budget_s=1.2),
    "timeout": 0.75,  # a late answer (held 2 s after the work was done) times out
}


async def test_fault_storm_loses_no_row_and_a_rerun_finishes(sandbox: Sandbox,
                                                             tmp_path: Path) -> None:
    setup = make_setup(tmp_path / "storm", sandbox, "iterable", STORM_ROWS)
    sandbox.configure("iterable", {"subscribe_rate": {"rate": 200, "burst": 50},
                                   "new_list_delay": 0.0, "faults": FAULTS})
    ctx = setup.context()
    storms: list[dict[str, Any]] = []

    def on_event(event: Event) -> None:
        if isinstance(event, BatchAcknowledged) and not storms:
            storms.append(sandbox.configure("iterable", {"faults": {"storm_seconds": STORM_S}}))

    prepared = running.prepare(ctx, EXPORT)
    result = await running.run(ctx, prepared, on_event, destination_options=STORM_OPTIONS)
    counts = result.counts
    state = sandbox.state("iterable")
    seen = by_outcome(state, "iterable")
    assert storms, "no batch was acknowledged"
    # The emulator did inject every kind of fault (late answers show as client timeouts).
    assert {"200", "429", "reset", "timeout"} <= seen.keys(), seen
    assert seen.keys() & {"500", "502", "503"}, seen

    # Rows given up on during the storm failed: the run says so, never "succeeded".
    assert counts["failed"] > 0, (counts, seen)
    assert result.outcome == "failed" and "could not be delivered" in (result.detail or "")
    record = run_record(setup, result.run_id)
    assert record.outcome == "failed" and dict(record.counts) == dict(counts)
    assert_tallies_match(setup, record)
    assert counts["rejected"] == counts["invalid"] == counts["duplicates"] == 0
    assert result.rejected_file is not None and record.rejected_file == result.rejected_file
    rejected = read_rejected(result.rejected_file)
    assert {r["stage"] for r in rejected} == {"failed"}
    assert {r["segment"] for r in rejected} == {SEGMENT}
    failed = {r["email"] for r in rejected}
    assert len(failed) == len(rejected) == counts["failed"]

    # No row lost: each was either acknowledged (ledger) or reported failed, never both.
    members = assert_ledger_on_platform(setup, sandbox)
    expected = setup.expected.keys()
    assert not members & failed
    assert members | failed == expected
    assert counts["accepted"] == len(members) and counts["sent"] == STORM_ROWS
    on_list = list_members(state)
    assert on_list.keys() <= expected  # failed rows may be there (late answers), nothing else
    assert all(on_list[e] == setup.expected[e] for e in on_list)

    # Faults off: the re-run sends only the failed rows and finishes the job.
    sandbox.configure("iterable", {"faults": {"error_rate": 0.0, "reset_rate": 0.0,
                                              "timeout_rate": 0.0, "late_rate": 0.0,
                                              "storm_seconds": 0.0}})
    again = await running.run(ctx, running.prepare(ctx, EXPORT),
                              destination_options={"limits": STORM_OPTIONS["limits"]})
    assert again.outcome == "succeeded", (again.detail, again.counts)
    assert again.counts["adds"] == again.counts["sent"] == again.counts["accepted"] == len(failed)
    assert again.counts["unchanged"] == len(members)
    assert again.rejected_file is None
    assert_exact_final_state(setup, sandbox)
    # Every member is segport's (failed rows the platform took all the same included): mirror
    # mode may remove any of them later
    ledger = setup.ledger().members(EXPORT, SEGMENT)
    assert all(m.added for m in ledger.values()), sorted(e for e, m in ledger.items()
                                                          if not m.added)
    print(f"storm: {dump(seen)}; {len(failed)} rows failed, then resent")


# --- 4. cancelling the run's task in-process --------------------------------------------------

async def test_cancel_after_first_acknowledged_batch_in_process(sandbox: Sandbox,
                                                                tmp_path: Path) -> None:
    rows = 1_000
    setup = make_setup(tmp_path / "task", sandbox, "autopilot", rows)
    fast_emulator(sandbox)
    ctx = setup.context()
    events: list[Event] = []
    task: asyncio.Task[Any] | None = None

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, BatchAcknowledged) and task is not None and not task.cancelling():
            task.cancel()

    options = {"limits": replace(AUTOPILOT, requests_per_s=20.0)}  # a few batches in flight
    task = asyncio.create_task(running.run(ctx, running.prepare(ctx, EXPORT), on_event,
                                           destination_options=options))
    result = await asyncio.wait_for(task, 60)

    assert result.outcome == "cancelled" and result.exit_code == 130
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert [e.outcome for e in finished] == ["cancelled"]
    record = run_record(setup, result.run_id)
    assert record.outcome == "cancelled" and record.finished_at is not None
    assert dict(record.counts) == dict(result.counts)
    assert_tallies_match(setup, record)
    accepted = record.counts["accepted"]
    assert BATCH <= accepted < rows, record.counts
    assert record.counts["failed"] == record.counts["rejected"] == 0
    members = assert_ledger_on_platform(setup, sandbox)
    assert len(members) == accepted
    acknowledged = sum(e.accepted for e in events if isinstance(e, BatchAcknowledged))
    assert acknowledged <= accepted
