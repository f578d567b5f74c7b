"""Benchmark: each destination client pushing N contacts into its sandbox emulator.

The emulators run with their default, documented limits (Iterable 1,000/call at 5 req/s,
SendGrid 30,000/call at 3 PUT/s with import jobs pending 0.5 s then processed concurrently at
20,000 contacts/s each, Autopilot 100/call at 5 req/s). Prints achieved contacts/s against the
ceiling (batch size × request rate) and the ratio. SendGrid acknowledges a batch only when its
job finished, so it gets two figures:

- **upload**: contacts accepted (202) per second, from the start until the last 202, against
  batch × rate;
- **end-to-end**: until every job was confirmed, against min(batch × rate, job throughput with
  concurrent jobs) and against this run's own bound: the last job to finish, with uploads evenly
  spaced at the rate, each job pending then processing at the job rate, and no polling delay.

Runs are repeated with ``--runs`` and each figure reported as the median. Rows are merged into
``--json`` (default ``perf-results/destinations.json``) by platform and contact count.

    python tests/perf/bench_destinations.py [--contacts 100000] [--platform sendgrid ...]
                                            [--runs 3] [--json perf-results/destinations.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from segport.destinations import Contact, Destination, RequestRecord, make_destination
from segport.model import DESTINATION_TYPES, DestinationType
from segport.sandbox.defaults import API_PREFIX, DEMO_KEYS

#: The child process: every emulator on an ephemeral port; its first line is their URLs.
SERVE = (
    "import asyncio, json\n"
    "from segport.sandbox.server import Sandbox\n"
    "asyncio.run(Sandbox(port=0).serve_forever(\n"
    "    on_ready=lambda sb: print(json.dumps(sb.describe()), flush=True)))\n"
)
DEFAULT_JSON = "perf-results/destinations.json"


class Emulators:
    """The sandbox in its own process (like a remote API: no GIL shared with the client)."""

    def __init__(self, in_process: bool) -> None:
        self.in_process = in_process
        self._proc: subprocess.Popen[str] | None = None
        self._thread: Any = None
        self.urls: dict[str, str] = {}

    def __enter__(self) -> Emulators:
        if self.in_process:
            from segport.sandbox.server import Sandbox

            self._thread = Sandbox(port=0).start()
            self.urls = {k: v["base_url"] for k, v in self._thread.describe().items()}
            return self
        self._proc = subprocess.Popen([sys.executable, "-c", SERVE], stdout=subprocess.PIPE,
                                      text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        self.urls = {k: v["base_url"] for k, v in json.loads(line).items()}
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._thread.stop()
        if self._proc is not None:
            self._proc.send_signal(signal.SIGINT)
            self._proc.wait(10)

    def base_url(self, kind: DestinationType) -> str:
        return self.urls[kind]

    def origin(self, kind: DestinationType) -> str:
        return self.urls[kind].removesuffix(API_PREFIX[kind])

    def reset(self, kind: DestinationType) -> None:
        httpx.post(f"{self.origin(kind)}/_sandbox/reset").raise_for_status()

    def get(self, kind: DestinationType, what: str) -> dict[str, Any]:
        response = httpx.get(f"{self.origin(kind)}/_sandbox/{what}", timeout=60)
        response.raise_for_status()
        return dict(response.json())


def people(n: int) -> list[Contact]:
    return [Contact(f"bench{i}@example.com", f"First{i % 97}", f"Last{i % 89}", "New Zealand",
                    "Auckland", "Auckland", f"{1000 + i % 9000}") for i in range(n)]


def is_upload(record: RequestRecord) -> bool:
    """A SendGrid upload the platform accepted (202: its job is queued)."""
    return (record.method == "PUT" and record.path.endswith("/marketing/contacts")
            and record.status == 202)


async def one_run(sandbox: Emulators, kind: DestinationType, contacts: list[Contact]
                  ) -> dict[str, Any]:
    sandbox.reset(kind)
    accepted_at: list[float] = []

    def on_record(record: RequestRecord) -> None:
        if is_upload(record):
            accepted_at.append(time.perf_counter())

    async with make_destination(kind, DEMO_KEYS[kind], sandbox.base_url(kind),
                                on_record=on_record) as dest:
        ref = await dest.ensure_list(f"bench-{kind}")
        await asyncio.sleep(0.5)  # Iterable: past the new list's invalidListId moment
        started = time.perf_counter()
        result = await dest.upsert_all(ref.id, contacts)
        seconds = time.perf_counter() - started
        stats = dest.stats
    stored = sum(len(lst["members"]) for lst in sandbox.get(kind, "state")["lists"])
    ceiling = dest.limits.ceiling_per_s
    row: dict[str, Any] = {
        "platform": kind, "contacts": len(contacts), "accepted": len(result.accepted),
        "stored": stored, "seconds": round(seconds, 3),
        "per_s": round(len(contacts) / seconds, 1), "ceiling_per_s": ceiling,
        "ratio": round(len(contacts) / seconds / ceiling, 3),
        "requests": stats.requests, "rate_limited": stats.rate_limited,
        "retries": stats.retries, "paced_s": round(stats.paced_s, 2),
    }
    if kind == "sendgrid":
        row.update(sendgrid_figures(sandbox, dest, contacts, accepted_at, started, seconds))
    return row


def sendgrid_figures(sandbox: Emulators, dest: Destination, contacts: list[Contact],
                     accepted_at: list[float], started: float, seconds: float
                     ) -> dict[str, Any]:
    """Upload phase and end-to-end against their ceilings (see the module docstring)."""
    config = sandbox.get("sendgrid", "config")
    job_rate = float(config["job_contacts_per_second"])
    pending = float(config["job_pending_seconds"])
    concurrency = int(config.get("job_concurrency", 1))
    limits = dest.limits
    sizes = [len(b) for b in dest.batches(contacts)]
    upload_s = max(accepted_at) - started
    jobs_per_s = concurrency * job_rate if concurrency > 0 else math.inf
    e2e_ceiling = min(limits.ceiling_per_s, jobs_per_s)
    if concurrency > 0:  # the run's bound below assumes every job runs at once
        bound_s = math.nan
    else:
        bound_s = max(i / limits.requests_per_s + pending + n / job_rate
                      for i, n in enumerate(sizes))
    n = len(contacts)
    return {
        "batches": sizes, "uploads_202": len(accepted_at),
        "upload_seconds": round(upload_s, 3), "upload_per_s": round(n / upload_s, 1),
        "upload_ratio": round(n / upload_s / limits.ceiling_per_s, 3),
        "job_contacts_per_second": job_rate, "job_pending_seconds": pending,
        "job_concurrency": concurrency,
        "e2e_ceiling_per_s": e2e_ceiling, "e2e_ratio": round(n / seconds / e2e_ceiling, 3),
        "run_bound_seconds": round(bound_s, 3),
        "e2e_vs_run_bound": round(bound_s / seconds, 3),
    }


def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run by time, with every numeric figure replaced by its median over runs."""
    runs = sorted(runs, key=lambda r: r["seconds"])
    row = dict(runs[len(runs) // 2])
    for key, value in row.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            row[key] = statistics.median(r[key] for r in runs)
    row["runs"] = len(runs)
    row["runs_seconds"] = [r["seconds"] for r in runs]
    if "upload_seconds" in row:
        row["runs_upload_seconds"] = [r["upload_seconds"] for r in runs]
    return row


def print_row(row: dict[str, Any]) -> None:
    runs = f"median of {row['runs']}" if row["runs"] > 1 else "1 run"
    if "upload_seconds" not in row:
        print(f"{row['platform']:<10} {row['contacts']:>8} contacts in {row['seconds']:>7.2f} s"
              f"  {row['per_s']:>9,.0f}/s  ceiling {row['ceiling_per_s']:>7,.0f}/s  ratio "
              f"{row['ratio']:.0%}  requests {row['requests']}  429s {row['rate_limited']}  "
              f"stored {row['stored']}  ({runs})")
        return
    concurrent = ("concurrent, no cap" if row["job_concurrency"] == 0
                  else f"at most {row['job_concurrency']} at once")
    print(f"{row['platform']:<10} {row['contacts']:>8} contacts, {len(row['batches'])} uploads "
          f"{row['batches']}  requests {row['requests']}  429s {row['rate_limited']}  stored "
          f"{row['stored']}  ({runs})\n"
          f"{'':<10} upload      {row['upload_seconds']:>6.2f} s {row['upload_per_s']:>9,.0f}/s"
          f"  ceiling {row['ceiling_per_s']:>7,.0f}/s (batch × rate)  ratio "
          f"{row['upload_ratio']:.0%}\n"
          f"{'':<10} end-to-end  {row['seconds']:>6.2f} s {row['per_s']:>9,.0f}/s"
          f"  ceiling {row['e2e_ceiling_per_s']:>7,.0f}/s (min of batch × rate and jobs at "
          f"{row['job_contacts_per_second']:,.0f}/s each, {concurrent})  ratio "
          f"{row['e2e_ratio']:.0%}\n"
          f"{'':<10} this run's bound {row['run_bound_seconds']:.2f} s (last job done with "
          f"uploads at the rate, {row['job_pending_seconds']:g} s pending, no polling delay): "
          f"{row['e2e_vs_run_bound']:.0%} of it")


def save(path: str, rows: list[dict[str, Any]], peak_mb: float) -> None:
    """Merge ``rows`` into the JSON file, replacing earlier rows of the same platform and size."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads(out.read_text(encoding="utf-8")).get("rows", [])
    except (OSError, ValueError):
        old = []
    keys = {(r["platform"], r["contacts"]) for r in rows}
    merged = [r for r in old if (r.get("platform"), r.get("contacts")) not in keys] + rows
    merged.sort(key=lambda r: (r["platform"], r["contacts"]))
    out.write_text(json.dumps({"rows": merged, "peak_rss_mb": round(peak_mb, 1)}, indent=2)
                   + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--platform", action="append", choices=DESTINATION_TYPES)
    parser.add_argument("--runs", type=int, default=1, help="runs per platform (medians shown)")
    parser.add_argument("--json", default=DEFAULT_JSON,
                        help=f"merge the rows into this file (default {DEFAULT_JSON}; '' = no)")
    parser.add_argument("--in-process", action="store_true",
                        help="run the emulators in a thread of this process (shares the GIL)")
    args = parser.parse_args(argv)
    kinds: list[DestinationType] = args.platform or list(DESTINATION_TYPES)
    contacts = people(args.contacts)
    rows: list[dict[str, Any]] = []
    with Emulators(args.in_process) as sandbox:
        for kind in kinds:
            runs = [asyncio.run(one_run(sandbox, kind, contacts)) for _ in range(args.runs)]
            row = median_row(runs)
            row["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            row["cpus"], row["load_avg_1m"] = os.cpu_count(), round(os.getloadavg()[0], 2)
            rows.append(row)
            print_row(row)
            sys.stdout.flush()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    where = "emulators included" if args.in_process else "client only"
    print(f"peak RSS {peak_mb:.0f} MB (this process, {where})")
    if args.json:
        save(args.json, rows, peak_mb)
    ok = all(r["accepted"] == r["contacts"] == r["stored"] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
