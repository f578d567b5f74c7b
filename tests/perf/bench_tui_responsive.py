"""Benchmark: does the TUI answer keys while a 1,000,000-profile export runs?

The real app in a real terminal (tmux, 120×40), on a workspace of 1,000,000 demo profiles with
one Iterable export of a segment holding all of them, against the sandbox in its own process
(``segport sandbox --port 0 --json``, documented limits: 1,000 per call at 5 req/s, so the send
stage would take ~200 s; ``--send-seconds`` of it are measured, then the run is cancelled).

The run is started as a person would: Exports tab (``2``), ``r``. Then, through the planning
stage and the send stage, two kinds of keys are pressed over and over, each ``--gap`` seconds
after the last one's effect showed:

- **F1** opens the help over the run panel, F1 again closes it (a whole screen pushed/popped);
- **Tab** takes the focus off the "Cancel run" button, **Shift+Tab** gives it back (one widget
  repainted: the button row loses/regains its reverse video, read with ``capture-pane -e``).

Each key's **latency** is the time from ``tmux send-keys`` until ``tmux capture-pane`` shows its
effect; polling adds up to one capture (a few ms, printed as the resolution). The same keys are
timed with no run going (``--baseline`` times: F1 on Home before the run, F1 and Tab on the
finished panel after it), on the same machine in the same minutes: the figures to compare with.
At the end ``c`` cancels the run; the time until the panel says "Cancelled" is printed too.

The **loop stall** comes from inside the app: a launcher runs the app with ``make_app`` (the
CLI's factory) next to a probe task on the same asyncio loop that sleeps 10 ms over and over and
records how late it wakes up (0 when the loop is free), tagged with the run's stage; **busy** is
the share of wall time the loop was late (rendering, or waiting for the GIL or a CPU).

Headless ``run_test`` is deliberately not used for the latencies: Textual's pilot waits for the
*process* to be idle (CPU time vs wall time) after every key, so a busy run thread would be
measured, not the screen; and headless Textual never writes the screen out. Prints median / p95
/ max per stage, writes ``--json`` (default ``perf-results/tui_responsive.json``).

    python tests/perf/bench_tui_responsive.py [--profiles 1000000] [--send-seconds 45]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from segport.demo import DEMO_SEED, PROFILES_FILE, generate_profiles, setup_demo
from segport.manage import Context
from segport.manage.catalog import add_segment
from segport.manage.connections import ConnectionDraft, add_connection
from segport.manage.exports import add_export
from segport.model import Export, Segment
from segport.secrets import MemoryStore
from segport.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "perf-results" / "cache"
DEFAULT_JSON = ROOT / "perf-results" / "tui_responsive.json"
EXPORT, CONNECTION, SEGMENT = "bench", "bench", "Everyone"
COLS, ROWS = 120, 40
HELP_OPEN = "Help · Run"
PANEL = "API calls"  # the run panel's call-log title (hidden behind nothing when help is shut)
KEY_TIMEOUT = 10.0
POLL = 0.002
PROBE_PERIOD = 0.010  # the launcher's probe sleeps this long, over and over
#: A key whose effect takes longer than this is a noticeable lag (for the summary line).
SLOW_KEY_S = 0.2

#: The app in the terminal: make_app (as the CLI builds it) with the key in memory, plus a
#: probe task on the app's own asyncio loop writing "monotonic lag stage" every 10 ms.
LAUNCHER = r'''
import asyncio, gc, os, sys, time
from segport.secrets import MemoryStore, connection_entry
from segport.tui import make_app
from segport.tui.screens.run_panel import RunPanel

workspace, probe_path, connection = sys.argv[1:4]
store = MemoryStore()
store.set(connection_entry(connection), os.environ.pop("SEGPORT_BENCH_KEY"))
app = make_app(workspace, user="ana", secrets=store)
app.freeze_gc = True  # as run_tui (the CLI's `segport`) sets it
PERIOD = 0.010  # PROBE_PERIOD

def stage():
    try:
        for screen in reversed(app.screen_stack):
            if isinstance(screen, RunPanel):
                if screen.finished:
                    return "finished"
                if screen.cancelling:
                    return "cancelling"
                return screen.driver.state.stage if screen.driver is not None else "starting"
    except Exception:
        pass
    return "idle"

# Garbage collections (they stop every thread): "gc monotonic seconds generation stage".
gc_log = []
gc_start = [0.0, 0.0]

def on_gc(phase, info):
    if phase == "start":
        gc_start[:] = time.perf_counter(), time.thread_time()
    else:
        gc_log.append((time.monotonic(), time.perf_counter() - gc_start[0],
                       time.thread_time() - gc_start[1], info["generation"], stage()))

gc.callbacks.append(on_gc)

async def probe():
    with open(probe_path, "w", buffering=1 << 16) as out:
        try:
            while True:
                start = time.monotonic()
                await asyncio.sleep(PERIOD)
                out.write(f"{start:.4f} {time.monotonic() - start - PERIOD:.5f} {stage()}\n")
        finally:
            for at, took, cpu, generation, where in gc_log:
                out.write(f"gc {at:.4f} {took:.5f} {cpu:.5f} {generation} {where}\n")

async def main():
    task = asyncio.create_task(probe())
    try:
        await app.run_async()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

asyncio.run(main())
'''


class Tmux:
    """A private tmux server with one pane running the app."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.socket = folder / "tmux.sock"
        self.env = env
        self.capture_times: list[float] = []

    def __call__(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
                              capture_output=True, text=True, env=self.env, timeout=10)
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {args[0]}: {proc.stderr.strip()}")
        return proc.stdout

    def capture(self, styles: bool = False) -> str:
        """The screen's text (``styles``: with its SGR escapes, to see focus)."""
        start = time.monotonic()
        screen = self("capture-pane", "-p", *(["-e"] if styles else []), "-t", "app")
        self.capture_times.append(time.monotonic() - start)
        return screen

    def wait(self, what: str, found: Any, timeout: float = KEY_TIMEOUT,
             styles: bool = False) -> tuple[float, str]:
        """Poll the screen until ``found(screen)``; (monotonic time seen, screen)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture(styles)
            if found(screen):
                return time.monotonic(), screen
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} within {timeout:g} s:\n{screen}")
            time.sleep(POLL)


def stage_shown(screen: str) -> str:
    for label, stage in (("Planning…", "planning"), ("Sending…", "sending"),
                         ("Starting…", "starting"), ("Cancelling…", "cancelling")):
        if label in screen:
            return stage
    return "other"


def build(folder: Path, profiles: int, iterable_url: str) -> Path:
    """The workspace: demo profiles (cached), a segment of all of them, an Iterable export."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"tui-demo-profiles-{profiles}.parquet"
    if not cached.exists():
        print(f"generating {profiles:,} demo profiles (cached in {cached}) …", flush=True)
        generate_profiles(cached, profiles, DEMO_SEED)
    root = folder / "ws"
    root.mkdir()
    shutil.copyfile(cached, root / PROFILES_FILE)
    store = MemoryStore()
    setup_demo(Workspace(root), profiles=profiles, secrets=store, user="ana")
    ctx = Context(Workspace(root), user="ana", secrets=store)
    add_segment(ctx, Segment(SEGMENT, where="true"))
    add_connection(ctx, ConnectionDraft(name=CONNECTION, type="iterable", base_url=iterable_url,
                                        data_center="us"), "unused", agreed=True)
    add_export(ctx, Export(name=EXPORT, connection_type="iterable", connection=CONNECTION,
                           segments=(SEGMENT,), mapping={"email": "email",
                                                         "first_name": "first_name",
                                                         "last_name": "last_name"}))
    return root


def summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(values), "median_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": round(p95 * 1000, 1), "max_ms": round(max(values) * 1000, 1)}


def busy_share(stalls: list[float]) -> float:
    """The share of wall time the app's loop could not wake the probe: busy (or starved)."""
    late = sum(stalls)
    return late / (late + len(stalls) * PROBE_PERIOD) if stalls else 0.0


def loadavg() -> float:
    return os.getloadavg()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--send-seconds", type=float, default=45.0,
                        help="how long to measure the send stage before cancelling")
    parser.add_argument("--gap", type=float, default=0.15,
                        help="seconds between one key's effect and the next key")
    parser.add_argument("--baseline", type=int, default=10,
                        help="key pairs timed with no run going (before and after it)")
    parser.add_argument("--json", default=str(DEFAULT_JSON))
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        parser.error("tmux is not installed")

    folder = Path(tempfile.mkdtemp(prefix="segport-bench-responsive-"))
    home = folder / "home"
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "XDG_CACHE_HOME": str(home / "cache"),
           "TMUX_TMPDIR": str(folder)}
    for name in ("COLUMNS", "LINES", "TMUX", "TMUX_PANE", "NO_COLOR", "SEGPORT_WORKSPACE"):
        env.pop(name, None)
    segport = str(Path(sys.executable).with_name("segport"))
    sandbox = subprocess.Popen([segport, "sandbox", "--port", "0", "--json"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    tmux = Tmux(folder, env)
    try:
        assert sandbox.stdout is not None
        described = json.loads(sandbox.stdout.readline())
        iterable = described["iterable"]
        started = time.monotonic()
        workspace = build(folder, args.profiles, iterable["base_url"])
        print(f"workspace ready in {time.monotonic() - started:.1f} s; load {loadavg():.2f}",
              flush=True)

        launcher = folder / "launcher.py"
        launcher.write_text(LAUNCHER)
        probe_path = folder / "probe.txt"
        status = folder / "exit-status"
        # a shell writes the exit status (tmux 3.3 does not always mark an exited pane dead)
        command = shlex.join([sys.executable, str(launcher), str(workspace), str(probe_path),
                              CONNECTION]) + f"; echo $? > {shlex.quote(str(status))}"
        tmux_env = {**env, "SEGPORT_BENCH_KEY": iterable["api_key"]}  # never in an argv
        tmux.env = tmux_env
        tmux("new-session", "-d", "-s", "app", "-x", str(COLS), "-y", str(ROWS),
             "-c", str(folder), command)
        tmux.env = env
        tmux.wait("home screen", lambda s: "Workspace ws" in s, timeout=30)
        latencies: dict[str, list[float]] = {}  # F1: help opens / closes
        focus_latencies: dict[str, list[float]] = {}  # Tab / Shift+Tab: focus moves
        slow: list[tuple[str, str, float]] = []

        def toggle_help(stage: str, screen_name: str, shut_marker: str) -> None:
            """F1 (help opens over the screen), then F1 again (it closes); time each."""
            opened = f"Help · {screen_name}"
            for key_what, found in (("help open", lambda s: opened in s),
                                    ("help closed",
                                     lambda s: opened not in s and shut_marker in s)):
                pressed = time.monotonic()
                tmux("send-keys", "-t", "app", "F1")
                seen, _ = tmux.wait(key_what, found)
                latency = seen - pressed
                latencies.setdefault(stage, []).append(latency)
                if latency > SLOW_KEY_S:
                    slow.append((stage, key_what, latency))
                time.sleep(args.gap)

        def button_row(screen: str, label: str) -> str | None:
            return next((line for line in screen.splitlines() if f" {label} " in line), None)

        def toggle_focus(stage: str, label: str) -> None:
            """Tab (the focused button loses the focus: its row is drawn without reverse
            video), then Shift+Tab (it gets it back); time each. Only from the button
            focused (as the panel leaves it), so Tab always shows."""
            before = button_row(tmux.capture(styles=True), label)
            if before is None or "7m" not in before:
                return
            for key, key_what, found in (
                    ("Tab", "focus off", lambda s: button_row(s, label) not in (None, before)),
                    ("BTab", "focus back", lambda s: button_row(s, label) == before)):
                pressed = time.monotonic()
                tmux("send-keys", "-t", "app", key)
                seen, _ = tmux.wait(key_what, found, styles=True)
                latency = seen - pressed
                focus_latencies.setdefault(stage, []).append(latency)
                if latency > SLOW_KEY_S:
                    slow.append((stage, key_what, latency))
                time.sleep(args.gap)

        for _ in range(args.baseline):  # no run: the same keys on Home
            toggle_help("no run", "Home", "Workspace ws")
        tmux("send-keys", "-t", "app", "2")  # the Exports tab
        tmux.wait("the export row", lambda s: EXPORT in s and "Run now" in s)
        tmux("send-keys", "-t", "app", "r")
        run_started, _ = tmux.wait("the run panel", lambda s: f"Run of '{EXPORT}'" in s)
        loads = [loadavg()]

        send_started: float | None = None
        ended_early = False
        rounds = 0
        while True:
            screen = tmux.capture()
            stage = stage_shown(screen)
            if stage == "sending" and send_started is None:
                send_started = time.monotonic()
                print(f"planning done after {send_started - run_started:.1f} s", flush=True)
            if send_started is not None and time.monotonic() - send_started > args.send_seconds:
                break
            if "Back to Home" in screen:  # the run ended before --send-seconds (small runs)
                ended_early = True
                break
            if rounds % 2 == 0:  # one pair of keys per look at the stage
                toggle_help(stage, "Run", PANEL)
            else:
                toggle_focus(stage, "Cancel run")
            rounds += 1
            loads.append(loadavg())

        cancel_s: float | None = None
        if not ended_early:
            pressed = time.monotonic()
            tmux("send-keys", "-t", "app", "c")
            seen, _ = tmux.wait("the cancelled run", lambda s: "Cancelled" in s
                                and "Back to Home" in s, timeout=60)
            cancel_s = seen - pressed
        for _ in range(args.baseline):  # the run is over: the same keys on the same panel
            toggle_help("after run", "Run", PANEL)
            toggle_focus("after run", "Back to Home")
        tmux("send-keys", "-t", "app", "C-q")
        deadline = time.monotonic() + 30
        while not status.exists():  # the probe's last lines are written as the app exits
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not exit within 30 s of Ctrl+Q:\n"
                                   f"{tmux.capture()}")
            time.sleep(0.05)

        stalls: dict[str, list[float]] = {}
        collections: dict[str, list[tuple[int, float, float]]] = {}
        for line in probe_path.read_text().splitlines():
            parts = line.split(maxsplit=5)
            if parts[0] == "gc" and len(parts) == 6:
                collections.setdefault(parts[5], []).append(
                    (int(parts[4]), float(parts[2]), float(parts[3])))
            elif len(parts) >= 3:
                stalls.setdefault(" ".join(parts[2:]), []).append(max(0.0, float(parts[1])))
        resolution = statistics.median(tmux.capture_times)

        print(f"\nTUI responsiveness during a {args.profiles:,}-profile Iterable run "
              f"(tmux {COLS}×{ROWS}; load avg {min(loads):.1f}–{max(loads):.1f} on "
              f"{os.cpu_count()} cores; capture resolution ~{resolution * 1000:.0f} ms)")
        print(f"{'stage':<11} {'F1 help n':>9} {'med':>6} {'p95':>6} {'max':>6}  "
              f"{'Tab focus n':>11} {'med':>6} {'p95':>6} {'max':>6}  "
              f"{'stall n':>7} {'med':>6} {'p95':>6} {'max':>6} {'busy':>5}")
        rows = []

        def cells(d: dict[str, float | int]) -> str:
            if not d["n"]:
                return f"{0:>{3}} {'—':>6} {'—':>6} {'—':>6}"
            return (f"{d['n']:>3} {d['median_ms']:>4.0f}ms {d['p95_ms']:>4.0f}ms "
                    f"{d['max_ms']:>4.0f}ms")

        for stage in ("no run", "idle", "starting", "planning", "sending", "cancelling",
                      "finished", "after run"):
            k = summary(latencies.get(stage, []))
            f = summary(focus_latencies.get(stage, []))
            st = summary(stalls.get(stage, []))
            if not (k["n"] or f["n"] or st["n"]):
                continue
            busy = busy_share(stalls.get(stage, []))
            rows.append({"stage": stage, "help_key": k, "focus_key": f, "loop_stall": st,
                         "loop_busy_share": round(busy, 3)})
            print(f"{stage:<11} {'':>5}{cells(k)}  {'':>7}{cells(f)}  {'':>3}{cells(st)} "
                  f"{busy:>5.0%}" if st["n"] else
                  f"{stage:<11} {'':>5}{cells(k)}  {'':>7}{cells(f)}  {'':>3}{cells(st)}")
        gc_rows = {}
        for stage, done in collections.items():
            full = [(took, cpu) for generation, took, cpu in done if generation == 2]
            gc_rows[stage] = {
                "collections": len(done), "gen2": len(full),
                "gen2_max_ms": round(max((t for t, _ in full), default=0.0) * 1000, 1),
                "gen2_max_cpu_ms": round(max((c for _, c in full), default=0.0) * 1000, 1),
                "total_ms": round(sum(took for _, took, _ in done) * 1000, 1)}
        print("garbage collections (every thread waits): " + "; ".join(
            f"{stage} {g['collections']} ({g['gen2']} full, longest {g['gen2_max_ms']:.0f} ms "
            f"/ {g['gen2_max_cpu_ms']:.0f} ms CPU; {g['total_ms']:.0f} ms in all)"
            for stage, g in gc_rows.items()))
        print(f"keys slower than {SLOW_KEY_S * 1000:.0f} ms: {len(slow)}"
              + (": " + ", ".join(f"{w} {st} {lat * 1000:.0f} ms" for st, w, lat in slow[:10])
                 if slow else ""))
        print("the run ended before it could be cancelled" if cancel_s is None else
              f"cancel (c) → 'Cancelled' shown: {cancel_s:.2f} s")
        result = {"profiles": args.profiles, "send_seconds": args.send_seconds,
                  "planning_seconds": (send_started - run_started) if send_started else None,
                  "cancel_seconds": None if cancel_s is None else round(cancel_s, 2),
                  "capture_resolution_ms":
                  round(resolution * 1000, 1), "load_min": min(loads), "load_max": max(loads),
                  "cores": os.cpu_count(), "stages": rows, "garbage_collections": gc_rows,
                  "slow_keys": [{"stage": st, "key": w, "ms": round(lat * 1000)}
                                for st, w, lat in slow]}
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")
    finally:
        tmux("kill-server", check=False)
        sandbox.terminate()
        try:
            sandbox.wait(10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
