"""Benchmark: the plan stage over N demo profiles from Parquet (DuckDB source).

Two scenarios, each measured ``--runs`` times in a fresh child process (so peak RSS — VmHWM
from /proc/self/status — is that plan's alone, source included):

- ``first``: an empty ledger (everyone is an add);
- ``rerun``: after the ledger was seeded as if every add had been delivered, 1 % of them with
  a different fingerprint (so ~1 % updates, the rest unchanged), and its snapshot refreshed as
  apply does when a run ends;
- ``rerun-stale-snapshot``: the same after one more write (as after a crashed run): the plan
  reads the ledger row by row.

The segment is ``true`` (everyone); the export is an Iterable export mapping email, first and
last name. Prints profiles/s (wall clock, source opening included), CPU seconds (all threads of
the child: the figure that does not depend on what else the machine runs) and peak RSS per run
and the medians; writes ``perf-results/plan.json``.

    python tests/perf/bench_plan.py [--profiles 1000000] [--runs 3] [--mode upsert|mirror]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "perf-results"


def _export(mode: str):  # type: ignore[no-untyped-def]
    from segport.model import Export

    return Export("bench", "iterable", ("everyone",),
                  {"email": "email", "first_name": "first_name", "last_name": "last_name"},
                  connection="bench", mode=mode)  # type: ignore[arg-type]


def _config(parquet: Path):  # type: ignore[no-untyped-def]
    from segport.model import Segment, SourceConfig, WorkspaceConfig

    return WorkspaceConfig(source=SourceConfig("files", "profile_id", path=str(parquet.resolve())),
                           segments={"everyone": Segment("everyone", where="true")})


def child(parquet: Path, db: Path, mode: str) -> None:
    """One measured plan, in this (fresh) process; prints a JSON line."""
    from segport.engine.ledger import Ledger
    from segport.engine.plan import plan_export
    from segport.sources import open_source

    config = _config(parquet)
    assert config.source is not None
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with open_source(config.source, parquet.parent) as source:
        plan = plan_export(source, config, _export(mode), Ledger.reader(db))
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)  # this process only (all threads)
        totals = plan.totals
        plan.close()
    status = Path("/proc/self/status").read_text()
    hwm_kb = int(status.split("VmHWM:")[1].split()[0])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"seconds": seconds, "plan_seconds": plan.duration, "cpu_seconds": cpu,
                      "totals": totals.as_dict(), "peak_rss_mb": round(hwm_kb / 1024, 1),
                      "loadavg": os.getloadavg()[0]}))


def measure(parquet: Path, db: Path, mode: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(parquet), str(db), mode],
        capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    profiles = result["totals"]["read"]  # type: ignore[index]
    result["profiles_per_s"] = round(profiles / result["seconds"])  # type: ignore[operator]
    return result


def seed(parquet: Path, db: Path, mode: str) -> int:
    """Record every planned add as delivered; every 100th with a changed fingerprint."""
    from segport.engine.ledger import Ledger
    from segport.engine.plan import plan_export
    from segport.engine.records import Delivered
    from segport.sources import open_source

    config = _config(parquet)
    assert config.source is not None
    seeded = 0
    with open_source(config.source, parquet.parent) as source, Ledger.open(db) as ledger, \
            plan_export(source, config, _export(mode), ledger) as plan:
        run_id = ledger.start_run("bench", "bench", "bench", "bench")
        for batch in plan.changes("everyone", "add", batch_size=50_000):
            ledger.record_batch(run_id, "bench", "everyone", "", kind="add", accepted=(
                Delivered(c.contact.email,
                          c.fingerprint if (seeded + i) % 100 else c.fingerprint ^ 1)
                for i, c in enumerate(batch)))
            seeded += len(batch)
        ledger.finish_run(run_id, "success", {"adds": seeded})
        ledger.refresh_snapshots("bench")  # what apply does when a run ends
    return seeded


def touch(db: Path) -> None:
    """Record one more delivered member: the snapshot goes stale (as after a crashed run)."""
    from segport.engine.ledger import Ledger
    from segport.engine.records import Delivered

    with Ledger.open(db) as ledger:
        run_id = ledger.start_run("bench", "bench", "bench", "bench")
        ledger.record_batch(run_id, "bench", "everyone", "", kind="add",
                            accepted=[Delivered("someone.new@example.com", 1)])
        ledger.finish_run(run_id, "failed", {"adds": 1})


def report(name: str, runs: list[dict[str, object]]) -> dict[str, object]:
    rates = [int(r["profiles_per_s"]) for r in runs]  # type: ignore[call-overload]
    rss = [float(r["peak_rss_mb"]) for r in runs]  # type: ignore[arg-type]
    cpu = [float(r["cpu_seconds"]) for r in runs]  # type: ignore[arg-type]
    for i, r in enumerate(runs, 1):
        print(f"  {name} run {i}: {r['profiles_per_s']:>9,} profiles/s  {r['seconds']:.2f} s "
              f"(CPU {r['cpu_seconds']:.2f} s, load {r['loadavg']:.1f})  "
              f"peak RSS {r['peak_rss_mb']} MB")
    summary = {"median_profiles_per_s": int(statistics.median(rates)),
               "median_cpu_seconds": round(statistics.median(cpu), 2),
               "median_peak_rss_mb": statistics.median(rss), "max_peak_rss_mb": max(rss),
               "totals": runs[0]["totals"], "runs": runs}
    print(f"  {name}: median {summary['median_profiles_per_s']:,} profiles/s, median CPU "
          f"{summary['median_cpu_seconds']} s, median peak RSS "
          f"{summary['median_peak_rss_mb']} MB (max {max(rss)} MB); {runs[0]['totals']}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mode", choices=("upsert", "mirror"), default="upsert")
    parser.add_argument("--child", nargs=3, metavar=("PARQUET", "DB", "MODE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.child[2])
        return

    from segport.demo import generate_profiles
    from segport.demo.profiles import is_current

    cache = RESULTS / "cache"
    parquet = cache / f"profiles-{args.profiles}.parquet"
    if not is_current(parquet, args.profiles):
        started = time.perf_counter()
        generate_profiles(parquet, args.profiles)
        print(f"generated {args.profiles:,} profiles in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory(prefix="segport-bench-") as tmp:
        db = Path(tmp) / "segport.db"
        print(f"plan over {args.profiles:,} profiles ({args.mode}), {args.runs} runs each")
        first = report("first", [measure(parquet, db, args.mode) for _ in range(args.runs)])
        started = time.perf_counter()
        seeded = seed(parquet, db, args.mode)
        print(f"  seeded the ledger with {seeded:,} delivered members (1 % changed) in "
              f"{time.perf_counter() - started:.1f} s")
        rerun = report("rerun", [measure(parquet, db, args.mode) for _ in range(args.runs)])
        touch(db)
        stale = report("rerun-stale-snapshot",
                       [measure(parquet, db, args.mode) for _ in range(args.runs)])
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "plan.json"
    out.write_text(json.dumps({"profiles": args.profiles, "mode": args.mode,
                               "python": sys.version.split()[0], "first": first,
                               "rerun": rerun,
                               "rerun_stale_snapshot": stale}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
