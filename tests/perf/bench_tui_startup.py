"""Benchmark: time from process start to the TUI's first screen painted (target: under 1 s).

Each run is a fresh Python process (cold imports, like typing ``segport``) on a small demo
workspace built once beforehand:

- **headless** (default): the child builds the app with ``make_app`` (the CLI's factory), runs
  it with ``run_test`` and reports the moment the home screen is mounted and painted;
- **tmux** (``--tmux``, needs tmux): the real app in a real 120×40 terminal; the parent polls
  ``tmux capture-pane`` until the home screen's status line shows, as a person would see it.

Prints every run and the median, and merges the figures into ``--json``
(default ``perf-results/tui_startup.json``).

    python tests/perf/bench_tui_startup.py [--runs 5] [--tmux] [--json perf-results/...]
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

from segport.demo import setup_demo
from segport.secrets import MemoryStore
from segport.workspace import Workspace

TARGET_S = 1.0
DEFAULT_JSON = "perf-results/tui_startup.json"
MARKER = "Workspace ws"  # the home screen's status line

HEADLESS = """
import asyncio, sys, time
from segport.secrets import MemoryStore
from segport.tui import make_app
from segport.tui.screens.home import HomeScreen

async def main() -> None:
    app = make_app(sys.argv[1], user="ana", secrets=MemoryStore())
    async with app.run_test(size=(120, 40)) as pilot:
        while not isinstance(app.screen, HomeScreen) or not app.screen.is_mounted:
            await pilot.pause(0.005)
        await pilot.pause()  # one refresh: the screen is painted
        print(time.time(), flush=True)

asyncio.run(main())
"""

INTERACTIVE = """
import sys
from segport.secrets import MemoryStore
from segport.tui import make_app
make_app(sys.argv[1], user="ana", secrets=MemoryStore()).run()
"""


def headless_run(workspace: Path) -> float:
    start = time.time()
    out = subprocess.run([sys.executable, "-c", HEADLESS, str(workspace)], capture_output=True,
                         text=True, check=True, cwd=workspace.parent)
    return float(out.stdout.strip().splitlines()[-1]) - start


def tmux_run(workspace: Path, session: str) -> float:
    script = workspace.parent / "interactive.py"
    script.write_text(INTERACTIVE)
    command = " ".join(shlex.quote(str(part)) for part in (sys.executable, script, workspace))
    start = time.time()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
                    "-c", str(workspace.parent), command], check=True)
    try:
        deadline = start + 30
        while time.time() < deadline:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                    capture_output=True, text=True).stdout
            if MARKER in screen:
                return time.time() - start
            time.sleep(0.01)
        raise RuntimeError(f"the home screen did not show within 30 s:\n{screen}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def merge_json(path: Path, row: dict[str, object]) -> None:
    rows = json.loads(path.read_text()) if path.is_file() else []
    rows = [r for r in rows if r.get("mode") != row["mode"]] + [row]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tmux", action="store_true", help="measure in a real tmux terminal")
    parser.add_argument("--profiles", type=int, default=2_000)
    parser.add_argument("--json", default=DEFAULT_JSON)
    args = parser.parse_args()
    if args.tmux and shutil.which("tmux") is None:
        parser.error("tmux is not installed")

    folder = Path(tempfile.mkdtemp(prefix="segport-bench-tui-"))
    config_home = folder / "config"
    os.environ["XDG_CONFIG_HOME"] = str(config_home)  # no user theme or keymap interferes
    try:
        workspace = folder / "ws"
        setup_demo(Workspace(workspace), profiles=args.profiles, secrets=MemoryStore(),
                   user="ana")
        mode = "tmux" if args.tmux else "headless"
        times = []
        for i in range(args.runs):
            seconds = (tmux_run(workspace, f"segport-bench-{os.getpid()}-{i}") if args.tmux
                       else headless_run(workspace))
            times.append(seconds)
            print(f"run {i + 1}: {seconds:.3f} s")
        median = statistics.median(times)
        verdict = "within" if median < TARGET_S else "ABOVE"
        print(f"\nTUI start-up ({mode}, {args.runs} runs): median {median:.3f} s "
              f"(min {min(times):.3f}, max {max(times):.3f}) — {verdict} the {TARGET_S:g} s target")
        merge_json(Path(args.json), {"mode": mode, "runs": args.runs, "median_s": median,
                                     "min_s": min(times), "max_s": max(times),
                                     "target_s": TARGET_S})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
