"""Benchmark: each destination client pushing N contacts into its sandbox emulator.

The emulators run with their default, documented limits (Iterable 1,000/call at 5 req/s,
SendGrid 30,000/call at 3 PUT/s with jobs processed at 20,000 contacts/s, Autopilot 100/call at
5 req/s). Prints achieved contacts/s against the ceiling (batch size × request rate) and the
ratio; SendGrid also against its job-processing ceiling, which binds first.

    python tests/perf/bench_destinations.py [--contacts 100000] [--platform iterable ...]
                                            [--runs 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from segport.destinations import Contact, make_destination
from segport.model import DESTINATION_TYPES, DestinationType
from segport.sandbox.defaults import API_PREFIX, DEMO_KEYS

#: The child process: every emulator on an ephemeral port; its first line is their URLs.
SERVE = (
    "import asyncio, json\n"
    "from segport.sandbox.server import Sandbox\n"
    "asyncio.run(Sandbox(port=0).serve_forever(\n"
    "    on_ready=lambda sb: print(json.dumps(sb.describe()), flush=True)))\n"
)


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


async def one_run(sandbox: Emulators, kind: DestinationType, contacts: list[Contact]
                  ) -> dict[str, Any]:
    sandbox.reset(kind)
    async with make_destination(kind, DEMO_KEYS[kind], sandbox.base_url(kind)) as dest:
        ref = await dest.ensure_list(f"bench-{kind}")
        await asyncio.sleep(0.5)  # Iterable: past the new list's invalidListId moment
        started = time.perf_counter()
        result = await dest.upsert_all(ref.id, contacts)
        seconds = time.perf_counter() - started
        stats = dest.stats
        limits = dest.limits
    stored = sum(len(lst["members"]) for lst in sandbox.get(kind, "state")["lists"])
    ceiling = limits.ceiling_per_s
    row: dict[str, Any] = {
        "platform": kind, "contacts": len(contacts), "accepted": len(result.accepted),
        "stored": stored, "seconds": round(seconds, 3),
        "per_s": round(len(contacts) / seconds, 1), "ceiling_per_s": ceiling,
        "ratio": round(len(contacts) / seconds / ceiling, 3),
        "requests": stats.requests, "rate_limited": stats.rate_limited,
        "retries": stats.retries, "paced_s": round(stats.paced_s, 2),
    }
    if kind == "sendgrid":
        config = sandbox.get(kind, "config")
        jobs = float(config["job_contacts_per_second"])
        row["job_ceiling_per_s"] = min(ceiling, jobs)
        row["job_ratio"] = round(len(contacts) / seconds / row["job_ceiling_per_s"], 3)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--platform", action="append", choices=DESTINATION_TYPES)
    parser.add_argument("--runs", type=int, default=1, help="runs per platform (median shown)")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--in-process", action="store_true",
                        help="run the emulators in a thread of this process (shares the GIL)")
    args = parser.parse_args(argv)
    kinds: list[DestinationType] = args.platform or list(DESTINATION_TYPES)
    contacts = people(args.contacts)
    rows: list[dict[str, Any]] = []
    with Emulators(args.in_process) as sandbox:
        for kind in kinds:
            runs = [asyncio.run(one_run(sandbox, kind, contacts)) for _ in range(args.runs)]
            runs.sort(key=lambda r: r["seconds"])
            row = dict(runs[len(runs) // 2])
            row["runs_seconds"] = [r["seconds"] for r in runs]
            row["median_seconds"] = statistics.median(row["runs_seconds"])
            rows.append(row)
            print_row(row)
            sys.stdout.flush()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    where = "emulators included" if args.in_process else "client only"
    print(f"peak RSS {peak_mb:.0f} MB (this process, {where})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"rows": rows, "peak_rss_mb": round(peak_mb, 1)}, out, indent=2)
    ok = all(r["accepted"] == r["contacts"] == r["stored"] for r in rows)
    return 0 if ok else 1


def print_row(row: dict[str, Any]) -> None:
    text = (f"{row['platform']:<10} {row['contacts']:>8} contacts in {row['seconds']:>7.2f} s  "
            f"{row['per_s']:>9.0f}/s  ceiling {row['ceiling_per_s']:>7.0f}/s  "
            f"ratio {row['ratio']:.0%}  requests {row['requests']}  429s {row['rate_limited']}  "
            f"stored {row['stored']}")
    if "job_ceiling_per_s" in row:
        text += (f"\n{'':<10} SendGrid jobs are processed at {row['job_ceiling_per_s']:.0f}/s: "
                 f"ratio to that ceiling {row['job_ratio']:.0%}")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
