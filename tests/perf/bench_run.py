"""Benchmark: ``segport run`` end to end against the sandbox, first run and re-run.

For each platform, in a fresh temporary workspace: one export of one segment holding N valid,
unique emails (the demo profiles, cleaned and de-duplicated, cached in
``perf-results/cache``); the sandbox in its own process with its documented default limits
(Iterable 1,000 per call at 5 req/s, SendGrid 30,000 per call at 3 PUT/s with import jobs,
Autopilot 100 per call at 5 req/s). Each run is ``segport --workspace WS run bench --json`` as a
child process with the demo key in ``SEGPORT_API_KEY_BENCH`` (no keyring), timed from spawn to
exit (interpreter start-up included); its peak RSS is the child's own VmHWM, read from
``/proc/self/status`` by an ``atexit`` hook of a small launcher (``ru_maxrss`` from ``wait4``
would not do: Linux folds the forking parent's RSS into it at ``exec``).

1. **first** run: empty ledger, every profile an add;
2. **re-run**: the profile file rewritten with 1 % of its rows changed (every 100th row's first
   name), so 1 % updates and the rest unchanged;
3. **no-op** re-run: nothing changed (a check that the ledger snapshot the re-run left is right:
   everyone unchanged, nothing sent).

Prints, per platform: profiles, first-run seconds, % of the ceiling (ceiling seconds / first-run
seconds, the ceiling being N / (batch × rate): the fastest the documented limits allow;
SendGrid's is its upload ceiling, its import jobs come on top), rows/s, re-run seconds,
re-run/first ratio, peak RSS of each run, the no-op re-run and the highest load seen; writes
``perf-results/run.json``. Checks each run succeeded, with the expected counts, and that the
sandbox holds every profile (re-run changes included) at the end. Exits 1 when a check fails or
a target is missed (first run within 10 % of the ceiling, SendGrid's under 30 s; re-run under
10 % of the first).

    python tests/perf/bench_run.py [--only iterable|sendgrid|autopilot ...] [--profiles N]
                                   [--runs 1] [--json perf-results/run.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "perf-results"
CACHE = RESULTS / "cache"
DEFAULT_JSON = RESULTS / "run.json"

PLATFORMS = ("iterable", "sendgrid", "autopilot")
#: Profiles per platform by default: each platform's documented cap (product.md §1.4).
DEFAULT_PROFILES = {"iterable": 1_000_000, "sendgrid": 100_000, "autopilot": 100_000}
#: Targets (brief): first run within 10 % of the ceiling (Iterable, Autopilot) or under a
#: fixed time (SendGrid); a 1 % re-run under 10 % of the first run's time.
CEILING_SLACK = 1.10
SENDGRID_TARGET_S = 30.0
RERUN_TARGET = 0.10
#: Mapped fields per platform (email and names everywhere; SendGrid takes places too).
MAPPING = {
    "iterable": ("email", "first_name", "last_name"),
    "sendgrid": ("email", "first_name", "last_name", "country", "state", "city", "postal_code"),
    "autopilot": ("email", "first_name", "last_name"),
}
EXPORT, CONNECTION, SEGMENT = "bench", "bench", "bench-everyone"
KEY_ENV = "SEGPORT_API_KEY_BENCH"

#: The sandbox child: every emulator on an ephemeral port; its first line is their URLs.
SERVE = (
    "import asyncio, json\n"
    "from segport.sandbox.server import Sandbox\n"
    "asyncio.run(Sandbox(port=0).serve_forever(\n"
    "    on_ready=lambda sb: print(json.dumps(sb.describe()), flush=True)))\n"
)


#: The run child: ``python -m segport ARGS`` that writes its VmHWM (kB) to $SEGPORT_BENCH_HWM at
#: exit (its last atexit hook: registered first, run last).
LAUNCH = (
    "import atexit, os, runpy, sys\n"
    "def hwm():\n"
    "    with open('/proc/self/status') as f:\n"
    "        kb = next(line.split()[1] for line in f if line.startswith('VmHWM:'))\n"
    "    with open(os.environ['SEGPORT_BENCH_HWM'], 'w') as f:\n"
    "        f.write(kb)\n"
    "atexit.register(hwm)\n"
    "sys.argv[0] = 'segport'\n"
    "runpy.run_module('segport', run_name='__main__', alter_sys=True)\n"
)


# --- profiles --------------------------------------------------------------------------------

def clean_profiles(count: int) -> Path:
    """``count`` demo profiles with valid, unique (already normalised) emails, cached."""
    import duckdb

    from segport.demo import generate_profiles
    from segport.demo.profiles import is_current
    from segport.engine.emails import sql_normalise, sql_valid

    out = CACHE / f"run-valid-{count}.parquet"
    if out.is_file():
        return out
    raw_count = math.ceil(count * 1.06) + 100  # ~4 % are missing, invalid or duplicates
    raw = CACHE / f"profiles-{raw_count}.parquet"
    started = time.perf_counter()
    if not is_current(raw, raw_count):
        generate_profiles(raw, raw_count)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.parquet")
    with duckdb.connect() as con:
        con.execute(f"""
            COPY (
                WITH n AS (SELECT * REPLACE ({sql_normalise('email')} AS email)
                           FROM read_parquet('{raw}')),
                     ok AS (SELECT * FROM n WHERE email IS NOT NULL AND {sql_valid('email')}
                            QUALIFY row_number() OVER (PARTITION BY email
                                                       ORDER BY profile_id) = 1)
                SELECT * FROM ok ORDER BY profile_id LIMIT {count}
            ) TO '{tmp}' (FORMAT parquet)""")
        got = con.execute(f"SELECT count(*) FROM read_parquet('{tmp}')").fetchone()
    if got is None or got[0] != count:
        tmp.unlink(missing_ok=True)
        raise SystemExit(f"only {got} valid unique profiles out of {raw_count:,}")
    tmp.replace(out)
    print(f"prepared {count:,} valid unique profiles in {time.perf_counter() - started:.1f} s")
    return out


def change_one_percent(src: Path, dst: Path) -> int:
    """Rewrite ``dst`` from ``src`` with every 100th row's first name changed; how many."""
    import duckdb

    tmp = dst.with_suffix(".tmp.parquet")
    with duckdb.connect() as con:
        con.execute(f"""
            COPY (
                SELECT * EXCLUDE (n) REPLACE (
                    CASE WHEN n % 100 = 0 THEN coalesce(first_name, '') || ' Changed'
                         ELSE first_name END AS first_name)
                FROM (SELECT *, row_number() OVER () - 1 AS n FROM read_parquet('{src}'))
                ORDER BY profile_id
            ) TO '{tmp}' (FORMAT parquet)""")
        changed = con.execute(f"SELECT count(*) FROM read_parquet('{tmp}') "
                              "WHERE first_name LIKE '% Changed'").fetchone()
    tmp.replace(dst)  # a new file: DuckDB and the plan see the change
    return int(changed[0]) if changed else 0


# --- the sandbox -----------------------------------------------------------------------------

class SandboxProcess:
    """The sandbox in its own process (like a remote API: its CPU is not the client's)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.urls: dict[str, str] = {}
        self.http = httpx.Client(timeout=300, trust_env=False)

    def __enter__(self) -> SandboxProcess:
        self._proc = subprocess.Popen([sys.executable, "-c", SERVE], stdout=subprocess.PIPE,
                                      text=True)
        assert self._proc.stdout is not None
        self.urls = {k: v["base_url"] for k, v in json.loads(self._proc.stdout.readline()).items()}
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        if self._proc is not None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def origin(self, kind: str) -> str:
        from segport.sandbox.defaults import API_PREFIX

        return self.urls[kind].removesuffix(API_PREFIX[kind])  # type: ignore[index]

    def reset(self, kind: str) -> None:
        self.http.post(f"{self.origin(kind)}/_sandbox/reset").raise_for_status()

    def get(self, kind: str, what: str) -> dict[str, Any]:
        response = self.http.get(f"{self.origin(kind)}/_sandbox/{what}")
        response.raise_for_status()
        return dict(response.json())


async def make_sendgrid_list(base_url: str) -> str:
    """A contact list in the SendGrid emulator for the export (SendGrid exports name one)."""
    from segport.destinations import make_destination
    from segport.sandbox.defaults import DEMO_KEYS

    async with make_destination("sendgrid", DEMO_KEYS["sendgrid"], base_url) as dest:
        return (await dest.ensure_list("segport bench")).id


# --- the workspace ---------------------------------------------------------------------------

def make_workspace(root: Path, kind: str, profiles: Path, base_url: str,
                   list_id: str | None) -> None:
    """A workspace with the source, one segment (everyone), a connection and the export."""
    from segport.access import current_user
    from segport.model import (
        Connection,
        Export,
        PrivacyAgreement,
        Segment,
        SourceConfig,
    )
    from segport.privacy import PRIVACY_STATEMENT_VERSION
    from segport.workspace import Workspace

    user, now = current_user(), time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    connection = Connection(
        name=CONNECTION, type=kind, export_user=user,  # type: ignore[arg-type]
        privacy=PrivacyAgreement(user, now, PRIVACY_STATEMENT_VERSION), created_by=user,
        created_at=now, data_center="us" if kind == "iterable" else None, base_url=base_url)
    export = Export(EXPORT, kind, (SEGMENT,),  # type: ignore[arg-type]
                    {f: f for f in MAPPING[kind]}, connection=CONNECTION, list_id=list_id,
                    created_by=user)

    def change(config: Any) -> Any:
        return replace(config, source=SourceConfig("files", "profile_id", path=str(profiles)),
                       segments={SEGMENT: Segment(SEGMENT, where="true")},
                       connections={CONNECTION: connection}, exports={EXPORT: export})

    Workspace(root).update(change, creator=user)


# --- one run ---------------------------------------------------------------------------------

def _hwm_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def segport_run(workspace: Path, key: str) -> dict[str, Any]:
    """``segport run bench --json`` as a child: wall seconds, CPU, peak RSS, its JSON."""
    hwm_file = workspace.parent / "run-hwm.txt"
    hwm_file.unlink(missing_ok=True)
    env = {**os.environ, KEY_ENV: key, "SEGPORT_WORKSPACE": str(workspace), "NO_COLOR": "1",
           "SEGPORT_BENCH_HWM": str(hwm_file)}
    env.pop("PYTHONDEVMODE", None)
    load_start = loads = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "--workspace", str(workspace), "run", EXPORT, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        out[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(n, s))
               for n, s in (("stdout", proc.stdout), ("stderr", proc.stderr))]
    for t in readers:
        t.start()
    polled = 0
    exited = threading.Event()

    def poll() -> None:  # the child reports its peak at exit; polling VmHWM cross-checks it
        nonlocal polled, loads
        while not exited.wait(0.2):
            polled = max(polled, _hwm_kb(proc.pid) or 0)
            loads = max(loads, os.getloadavg()[0])

    poller = threading.Thread(target=poll)
    poller.start()
    _, status, usage = os.wait4(proc.pid, 0)  # the exit itself times the run, not a poll
    seconds = time.perf_counter() - started
    exited.set()
    poller.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    try:
        summary = json.loads(out["stdout"])["runs"][0]
    except (ValueError, KeyError, IndexError):
        raise SystemExit(f"segport run failed (exit {proc.returncode}):\n"
                         f"{out['stderr'].decode(errors='replace')[-3000:]}") from None
    return {"wall_seconds": round(seconds, 2), "run_seconds": round(summary["duration"], 2),
            "exit_code": proc.returncode, "outcome": summary["outcome"],
            "counts": summary["counts"],
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mb": round((int(hwm_file.read_text()) if hwm_file.is_file() else polled)
                                 / 1024, 1),
            "peak_rss_from": "atexit VmHWM" if hwm_file.is_file() else "polled VmHWM",
            "polled_hwm_mb": round(polled / 1024, 1), "load_start": round(load_start, 2),
            "load_max": round(loads, 2)}


def check_run(label: str, run: dict[str, Any], profiles: int, accepted: int) -> list[str]:
    counts = run["counts"]
    problems = []
    if run["outcome"] != "succeeded" or run["exit_code"] != 0:
        problems.append(f"{label}: outcome {run['outcome']} (exit {run['exit_code']})")
    for key, want in (("read", profiles), ("accepted", accepted), ("invalid", 0),
                      ("duplicates", 0), ("rejected", 0), ("failed", 0)):
        if counts.get(key, 0) != want:
            problems.append(f"{label}: {key} {counts.get(key, 0):,}, expected {want:,}")
    return problems


def ceiling_s(kind: str, profiles: int) -> float:
    """The fastest the documented limits allow: batches at the request rate."""
    from segport.sandbox.config import AutopilotConfig, IterableConfig, SendGridConfig

    if kind == "iterable":
        c = IterableConfig()
        return profiles / (c.max_subscribers * c.subscribe_rate.rate)
    if kind == "sendgrid":
        s = SendGridConfig()
        return profiles / (s.max_contacts * s.contacts_rate.rate)
    a = AutopilotConfig()
    return profiles / (a.max_contacts * a.rate.rate)


def sendgrid_bound_s(profiles: int) -> float:
    """SendGrid end to end at best: the last import job done, with uploads evenly spaced at
    the rate, each job pending, then processing at the job rate (concurrently; no polling
    delay). The emulator's defaults; compare bench_destinations.py."""
    from segport.sandbox.config import SendGridConfig

    c = SendGridConfig()
    sizes = [min(c.max_contacts, profiles - i) for i in range(0, profiles, c.max_contacts)]
    return max(i / c.contacts_rate.rate + c.job_pending_seconds + n / c.job_contacts_per_second
               for i, n in enumerate(sizes))


def bench_platform(sandbox: SandboxProcess, kind: str, profiles: int, source: Path
                   ) -> dict[str, Any]:
    from segport.sandbox.defaults import DEMO_KEYS

    sandbox.reset(kind)
    with tempfile.TemporaryDirectory(prefix=f"segport-bench-run-{kind}-") as tmp:
        ws = Path(tmp) / "workspace"
        data = Path(tmp) / "profiles.parquet"
        data.write_bytes(source.read_bytes())
        list_id = (asyncio.run(make_sendgrid_list(sandbox.urls[kind]))
                   if kind == "sendgrid" else None)
        make_workspace(ws, kind, data, sandbox.urls[kind], list_id)
        key = DEMO_KEYS[kind]  # type: ignore[index]
        first = segport_run(ws, key)
        changed = change_one_percent(source, data)
        rerun = segport_run(ws, key)
        noop = segport_run(ws, key)  # nothing changed: reads the snapshot the re-run left
        db_mb = round(sum(p.stat().st_size for p in ws.glob("segport.db*")) / 2**20, 1)
    state = sandbox.get(kind, "state")
    members = {m["email"]: m for lst in state["lists"] for m in lst["members"]}
    del state
    problems = check_run("first", first, profiles, profiles)
    problems += check_run("re-run", rerun, profiles, changed)
    problems += check_run("no-op re-run", noop, profiles, 0)
    if noop["counts"].get("unchanged", 0) != profiles:
        problems.append(f"no-op re-run: unchanged {noop['counts'].get('unchanged')}, expected "
                        f"{profiles:,}")
    if rerun["counts"].get("unchanged", 0) != profiles - changed:
        problems.append(f"re-run: unchanged {rerun['counts'].get('unchanged')}, expected "
                        f"{profiles - changed:,}")
    if len(members) != profiles:
        problems.append(f"the sandbox holds {len(members):,} members, expected {profiles:,}")
    updated = sum(1 for m in members.values() if "Changed" in json.dumps(m["fields"]))
    if updated != changed:
        problems.append(f"the sandbox holds {updated:,} changed names, expected {changed:,}")
    ceiling = ceiling_s(kind, profiles)
    return {"platform": kind, "profiles": profiles, "changed": changed,
            "ceiling_seconds": round(ceiling, 2),
            "first_seconds": first["wall_seconds"],
            "pct_of_ceiling": round(100 * ceiling / first["wall_seconds"], 1),
            "rows_per_s": round(profiles / first["wall_seconds"]),
            "rerun_seconds": rerun["wall_seconds"],
            "rerun_ratio": round(rerun["wall_seconds"] / first["wall_seconds"], 3),
            "noop_seconds": noop["wall_seconds"],
            "sendgrid_bound_seconds": (round(sendgrid_bound_s(profiles), 2)
                                       if kind == "sendgrid" else None),
            "first": first, "rerun": rerun, "noop": noop, "ledger_db_mb": db_mb,
            "sandbox_members": len(members), "problems": problems,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count()}


# --- report ----------------------------------------------------------------------------------

def targets(row: dict[str, Any]) -> list[str]:
    """Which targets the row misses."""
    missed = []
    if row["platform"] == "sendgrid":
        if row["first_seconds"] >= SENDGRID_TARGET_S:
            missed.append(f"first run {row['first_seconds']} s >= {SENDGRID_TARGET_S:g} s")
    elif row["first_seconds"] > row["ceiling_seconds"] * CEILING_SLACK:
        missed.append(f"first run {row['first_seconds']} s > ceiling "
                      f"{row['ceiling_seconds']:g} s + 10 %")
    if row["rerun_ratio"] >= RERUN_TARGET:
        missed.append(f"re-run {row['rerun_ratio']:.1%} of the first run >= 10 %")
    return missed


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose first run was the median one, with the headline figures as medians."""
    rows = sorted(rows, key=lambda r: r["first_seconds"])
    row = dict(rows[len(rows) // 2])
    for key in ("first_seconds", "rerun_seconds", "pct_of_ceiling", "rows_per_s",
                "rerun_ratio", "noop_seconds"):
        row[key] = statistics.median(r[key] for r in rows)
    row["runs"] = len(rows)
    row["runs_first_seconds"] = [r["first_seconds"] for r in rows]
    row["runs_rerun_seconds"] = [r["rerun_seconds"] for r in rows]
    row["problems"] = [p for r in rows for p in r["problems"]]
    return row


HEADER = (f"{'platform':<10} {'profiles':>9} {'first s':>8} {'ceiling s':>9} {'% ceil':>7} "
          f"{'rows/s':>7} {'re-run s':>8} {'re/first':>8} {'RSS first':>9} {'RSS re':>7} "
          f"{'no-op s':>7} {'load':>5}")
#: The table's ``load``: the highest 1-minute load average seen during the first run.


def print_row(row: dict[str, Any]) -> None:
    first, rerun = row["first"], row["rerun"]
    print(f"{row['platform']:<10} {row['profiles']:>9,} {row['first_seconds']:>8.1f} "
          f"{row['ceiling_seconds']:>9.1f} {row['pct_of_ceiling']:>6.1f}% "
          f"{row['rows_per_s']:>7,.0f} {row['rerun_seconds']:>8.2f} {row['rerun_ratio']:>8.1%} "
          f"{first['peak_rss_mb']:>7.0f}MB {rerun['peak_rss_mb']:>5.0f}MB "
          f"{row['noop_seconds']:>7.2f} {first['load_max']:>5.2f}")


def print_details(row: dict[str, Any]) -> None:
    for name in ("first", "rerun", "noop"):
        r = row[name]
        c = r["counts"]
        print(f"    {name:<6} wall {r['wall_seconds']:.2f} s (run record {r['run_seconds']:.2f} s,"
              f" CPU {r['cpu_seconds']} s, peak RSS {r['peak_rss_mb']} MB, polled VmHWM "
              f"{r['polled_hwm_mb']} MB, load {r['load_start']} at start, max "
              f"{r['load_max']}): {r['outcome']}; "
              f"read {c.get('read', 0):,}, adds {c.get('adds', 0):,}, updates "
              f"{c.get('updates', 0):,}, unchanged {c.get('unchanged', 0):,}, accepted "
              f"{c.get('accepted', 0):,}")
    if row.get("sendgrid_bound_seconds"):
        print(f"    SendGrid's end-to-end bound (uploads at the rate, jobs pending then "
              f"processing, concurrently, no polling delay): {row['sendgrid_bound_seconds']} s")
    missed = targets(row)
    print(f"    targets: {'met' if not missed else 'MISSED: ' + '; '.join(missed)}")
    for problem in row["problems"]:
        print(f"    PROBLEM: {problem}")


def save(path: Path, rows: list[dict[str, Any]]) -> None:
    """Merge ``rows`` into the JSON file, replacing earlier rows of the same platform and size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads(path.read_text(encoding="utf-8")).get("rows", [])
    except (OSError, ValueError):
        old = []
    keys = {(r["platform"], r["profiles"]) for r in rows}
    merged = [r for r in old if (r.get("platform"), r.get("profiles")) not in keys] + rows
    merged.sort(key=lambda r: (r["platform"], r["profiles"]))
    path.write_text(json.dumps({"rows": merged, "python": sys.version.split()[0]}, indent=2)
                    + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=PLATFORMS,
                        help="this platform only (repeatable; default: all three)")
    parser.add_argument("--profiles", type=int, default=None,
                        help="profiles per platform (default: Iterable 1,000,000, SendGrid "
                             "and Autopilot 100,000)")
    parser.add_argument("--runs", type=int, default=1, help="runs per platform (medians shown)")
    parser.add_argument("--json", default=str(DEFAULT_JSON),
                        help="merge the rows into this file ('' = no file)")
    args = parser.parse_args(argv)
    kinds = [k for k in PLATFORMS if k in (args.only or PLATFORMS)]
    sizes = {k: args.profiles or DEFAULT_PROFILES[k] for k in kinds}
    sources = {n: clean_profiles(n) for n in sorted(set(sizes.values()))}
    print(f"load {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"on {os.cpu_count()} CPUs; sandbox in its own process, default limits")
    rows = []
    with SandboxProcess() as sandbox:
        for kind in kinds:
            runs = [bench_platform(sandbox, kind, sizes[kind], sources[sizes[kind]])
                    for _ in range(args.runs)]
            row = median_row(runs)
            rows.append(row)
            print(HEADER)
            print_row(row)
            print_details(row)
            sys.stdout.flush()
    print()
    print(HEADER)
    for row in rows:
        print_row(row)
    if args.json:
        save(Path(args.json), rows)
    ok = all(not r["problems"] for r in rows)
    return 0 if ok and not any(targets(r) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
