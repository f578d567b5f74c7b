"""The real `segport demo` in a real terminal (tmux), driven as a person would drive it.

A 120×40 tmux pane runs the installed binary on a fresh demo workspace with the real Secret
Service, the in-process sandbox on free ports (``--sandbox-port``). The test only sends keys
(``tmux send-keys``; the API key is pasted from a tmux buffer, so it is never in a process
argument list) and reads the screen (``tmux capture-pane``), polling for what a person would
wait to see: add connection → add export → Run now → completed. Then it checks what happened
outside the screen: the sandbox's list holds exactly the segment's valid members, a run record
says the run succeeded, the key is in the keyring and nowhere on screen or on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psutil
import pytest

from clirunner import Cli, segport_binary
from segport.demo import DEMO_SEGMENTS, PROFILES_FILE
from segport.sandbox.defaults import DEMO_KEYS, account_id
from segport.secrets import connection_entry

pytestmark = pytest.mark.keyring

COLS, ROWS = 120, 40
PROFILES = 2_000
CONNECTION = "Iterable – tmux demo"  # a new connection, next to the demo's own
EXPORT = "App shoppers to Iterable (tmux)"
SEGMENT = "Recent app shoppers"  # 63 members with 2,000 profiles: sent in a few calls
KEY = DEMO_KEYS["iterable"]
#: Per wait; the whole test takes ~15 s here, so these only bound a hang.
STEP_TIMEOUT = 15.0
START_TIMEOUT = 45.0
POLL = 0.05
OUTCOME = re.compile(r"(Succeeded|Completed with rejections|Failed|Cancelled|Refused before "
                     r"sending)\b[^\n]*· run (\d+)|Failed: the run could not start")


def _free_port_triple() -> int:
    """A port N with N, N+1 and N+2 free on loopback, outside the ephemeral range (where a
    client socket of a parallel test could take N+1 or N+2 in the meantime)."""
    start = 20_000 + (os.getpid() * 7) % 9_000
    for base in range(start, start + 3_000, 3):
        socks: list[socket.socket] = []
        try:
            for port in (base, base + 1, base + 2):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise AssertionError("no three consecutive free loopback ports in 20000–32000")


class Terminal:
    """One tmux pane on a private tmux server, read and typed into as a person would."""

    def __init__(self, socket_path: Path, env: dict[str, str]) -> None:
        self.socket = socket_path
        self.status_file = socket_path.with_name("exit-status")
        self.env = env
        self.screens: list[str] = []  # every capture, to look for the key in afterwards

    def tmux(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
                              capture_output=True, text=True, env=self.env, timeout=10)
        if check and proc.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args[:2])} failed: {proc.stderr.strip()}\n"
                                 f"{self.last}")
        return proc.stdout

    def start(self, command: list[str], cwd: Path) -> None:
        """Run ``command`` in the pane under a shell that writes its exit status to a file
        (tmux 3.3 now and then leaves an exited pane process unreaped, never "dead")."""
        status = shlex.quote(str(self.status_file))
        script = f"{shlex.join(command)}; echo $? > {status}.tmp && mv {status}.tmp {status}"
        self.tmux("new-session", "-d", "-s", "demo", "-x", str(COLS), "-y", str(ROWS),
                  "-c", str(cwd), script)
        # keep the pane after the app exits, to read its last words
        self.tmux("set-option", "-t", "demo", "remain-on-exit", "on")

    def stop(self) -> None:
        self.tmux("kill-server", check=False)

    @property
    def last(self) -> str:
        return "--- last screen ---\n" + (self.screens[-1] if self.screens else "(none)")

    def capture(self) -> str:
        screen = self.tmux("capture-pane", "-p", "-t", "demo")
        self.screens.append(screen)
        return screen

    def keys(self, *keys: str) -> None:
        """Press keys (tmux key names: Enter, Tab, Down, C-n, Space …)."""
        self.tmux("send-keys", "-t", "demo", *keys)

    def type(self, text: str) -> None:
        """Type text literally, character by character."""
        self.tmux("send-keys", "-t", "demo", "-l", text)

    def paste(self, secret: str) -> None:
        """Paste ``secret`` (bracketed paste) via a tmux buffer fed on stdin: the secret is
        never in the argument list of any process."""
        proc = subprocess.run(["tmux", "-S", str(self.socket), "load-buffer", "-b", "secret",
                               "-"], input=secret, text=True, capture_output=True,
                              env=self.env, timeout=10)
        assert proc.returncode == 0, proc.stderr
        self.tmux("paste-buffer", "-p", "-d", "-b", "secret", "-t", "demo")

    def wait(self, what: str, found: Callable[[str], object],
             timeout: float = STEP_TIMEOUT) -> str:
        """Capture until ``found(screen)`` is true; fail with the last screen at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture()
            if found(screen):
                return screen
            if self.dead() is not None:
                raise AssertionError(f"segport exited while waiting for {what}\n{self.last}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n"
                                     f"{self.last}")
            time.sleep(POLL)

    def wait_text(self, *texts: str, timeout: float = STEP_TIMEOUT) -> str:
        return self.wait(" and ".join(repr(t) for t in texts),
                         lambda s: all(t in s for t in texts), timeout)

    def dead(self) -> int | None:
        """The app's exit status once it has exited, else None."""
        try:
            return int(self.status_file.read_text())
        except FileNotFoundError:
            return None

    def wait_exit(self, timeout: float = STEP_TIMEOUT) -> None:
        """Wait for the app to exit with status 0; if it hangs, make it dump every thread's
        stack (faulthandler, on SIGABRT) so the failure says where it hangs."""
        deadline = time.monotonic() + timeout
        while (status := self.dead()) is None:
            if time.monotonic() > deadline:
                shell = self.tmux("display-message", "-p", "-t", "demo", "#{pane_pid}").strip()
                with contextlib.suppress(psutil.Error, ValueError):
                    for app in psutil.Process(int(shell)).children():
                        app.send_signal(signal.SIGABRT)
                    self.wait("the dump of a hung segport", lambda _: self.dead() is not None, 5)
                dump = self.tmux("capture-pane", "-p", "-t", "demo", "-S", "-", check=False)
                raise AssertionError(f"segport did not exit within {timeout:g} s of Ctrl+Q; "
                                     f"its threads:\n{dump}")
            time.sleep(POLL)
        assert status == 0, f"segport exited with {status}\n{self.capture()}"

    def step(self, wizard: str, number: int, title: str) -> str:
        return self.wait_text(f"{wizard} · step {number} of 7: {title}")


def _row_index(screen: str, marker: str, label: str) -> int:
    """The position of ``label`` among the screen lines holding ``marker`` (a radio button or
    a selection-list box), to reach it with Down."""
    rows = [line for line in screen.splitlines() if marker in line]
    hits = [i for i, line in enumerate(rows) if label in line]
    assert len(hits) == 1, f"{label!r} not found once among the choices:\n{screen}"
    return hits[0]


def _expected_members(workspace: Path) -> tuple[int, set[str]]:
    """The segment's member count, and its valid emails (trimmed, lower-cased, deduplicated),
    straight from the demo's Parquet file (independently of segport's engine)."""
    path = str(workspace / PROFILES_FILE).replace("'", "''")
    with duckdb.connect(":memory:") as con:
        rows = con.execute(f"SELECT email FROM read_parquet('{path}') "
                           f"WHERE {DEMO_SEGMENTS[SEGMENT]}").fetchall()
    emails = {(email or "").strip().lower() for (email,) in rows}
    valid = {e for e in emails if re.fullmatch(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+", e)}
    return len(rows), valid


def _files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root`` (the workspace, its database, the config and data
    folders, rejected-rows files …)."""
    return (p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def terminal(tmp_path: Path, clean_keyring: Any) -> Iterator[Terminal]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: run the suite with tests/run.sh, which installs it "
                    "(apt-get install -y tmux)", pytrace=False)
    home = tmp_path / "home"
    env = clean_keyring.subprocess_env(
        HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"), SEGPORT_WORKSPACE=str(tmp_path / "ws"),
        TMUX_TMPDIR=str(tmp_path), PYTHONFAULTHANDLER="1")
    for name in ("COLUMNS", "LINES", "TMUX", "TMUX_PANE", "NO_COLOR", "TEXTUAL_ANIMATIONS"):
        env.pop(name, None)  # a person's terminal: the real size, colours and animations
    term = Terminal(tmp_path / "tmux.sock", env)
    try:
        yield term
    finally:
        term.stop()


def test_a_person_adds_a_connection_and_an_export_and_watches_the_run(
        tmp_path: Path, terminal: Terminal, clean_keyring: Any) -> None:
    started = time.monotonic()
    port = _free_port_triple()
    workspace = tmp_path / "ws"
    base_url = f"http://127.0.0.1:{port}"
    t = terminal
    t.start([segport_binary(), "demo", "--profiles", str(PROFILES), "--sandbox-port", str(port)],
            cwd=tmp_path)
    home = t.wait_text("Workspace ws · you are", "Iterable sandbox", timeout=START_TIMEOUT)
    assert "Add connection" in home

    # -- Add connection: type → name and access → API key → privacy → Connect → user → Save
    t.keys("c")
    t.step("Add connection", 1, "Type")
    t.keys("Enter")  # Iterable, the first platform
    t.keys("C-n")
    t.step("Add connection", 2, "Name and access")
    t.type(CONNECTION)
    t.wait_text(CONNECTION)
    t.keys("C-n")  # "Administrators only" stays: the default
    t.step("Add connection", 3, "API key")
    t.wait_text("Iterable API key")  # the type picked on step 1
    t.paste(KEY)
    t.wait_text("•" * len(KEY))  # masked
    # Advanced → Base URL: clear what the app suggests and type the sandbox's address
    t.keys("Tab", "Tab", "Tab", "End", "C-u")
    t.wait_text("Base URL", "the platform's own API host")
    t.type(base_url)
    t.wait_text(base_url)
    t.keys("C-n")
    t.step("Add connection", 4, "Data privacy")
    t.wait_text("personal data", "I agree", "no agreement, no connection")
    t.keys("Space")
    t.wait("the agreement", lambda s: "no agreement, no connection" not in s)
    t.keys("C-n")
    t.step("Add connection", 5, "Connect")
    t.wait_text("✓ Connected to Iterable.", "Data centre: US")
    t.keys("C-n")
    t.step("Add connection", 6, "Export user")
    t.keys("Space")
    t.wait("the export user", lambda s: "Confirm that exports on this connection" not in s)
    t.keys("C-n")
    summary = t.step("Add connection", 7, "Save")
    assert CONNECTION in summary and "Administrators only" in summary and base_url in summary
    t.keys("C-n")
    t.wait("the new connection on Home",
           lambda s: "Workspace ws" in s and re.search(
               rf"{re.escape(CONNECTION)}\s+Iterable\s+Administrators only", s))

    # -- Add export: connection → name → destination → matching → segments → mode → Save
    t.keys("e")
    screen = t.step("Add export", 1, "Connection")
    t.keys(*["Down"] * _row_index(screen, "▐●▌", f"{CONNECTION} (Iterable)"), "Enter")
    t.keys("C-n")
    t.step("Add export", 2, "Name")
    t.type(EXPORT)
    t.wait_text(EXPORT)
    t.keys("C-n")
    t.step("Add export", 3, "Destination")
    t.wait_text("a static list named exactly like the segment")
    t.keys("C-n")
    screen = t.step("Add export", 4, "Data matching")
    screen = t.wait_text("Email address *", "email (varchar)")
    email_row = next(line for line in screen.splitlines() if "Email address *" in line)
    assert "email (varchar)" in email_row, f"email is not pre-suggested:\n{screen}"
    t.keys("C-n")
    t.step("Add export", 5, "Segments")
    members, valid = _expected_members(workspace)
    assert 0 < len(valid) < members + 1
    screen = t.wait_text(f"{SEGMENT} — {members:,} members")
    t.keys(*["Down"] * _row_index(screen, "▐X▌", SEGMENT), "Space")
    t.wait_text(f"Selected: 1 segment(s), {members:,} profiles in all.")
    t.keys("C-n")
    t.step("Add export", 6, "Mode and schedule")
    t.keys("C-n")
    summary = t.step("Add export", 7, "Save")
    assert re.search(rf"Connection\s+{re.escape(CONNECTION)} \(Iterable\)", summary), summary
    assert re.search(rf"Segments\s+{re.escape(SEGMENT)} \({members:,}\)", summary), summary
    t.keys("C-n")
    t.wait_text(f"✓ Export '{EXPORT}' saved", "It has not run yet.", "Run now")
    t.keys("Enter")  # Run now has the focus

    # -- The run panel, until the run has ended
    t.wait_text(f"Export '{EXPORT}' → {CONNECTION} (Iterable)")
    screen = t.wait("the run's outcome", OUTCOME.search, timeout=30)
    outcome = OUTCOME.search(screen)
    assert outcome is not None and outcome.group(1) in ("Succeeded", "Completed with rejections"), (
        f"the run did not complete\n{t.last}")
    assert SEGMENT in screen and "Back to Home" in screen
    run_id = int(outcome.group(2))

    # What the platform received (the in-process sandbox stops with the app: ask it now)
    state = httpx.get(f"{base_url}/_sandbox/state", params={"account": account_id(KEY)},
                      timeout=10).json()
    lists = {x["name"]: {m["email"] for m in x["members"]} for x in state["lists"]}
    assert SEGMENT in lists, f"no list named {SEGMENT!r} in the sandbox: {sorted(lists)}"
    assert lists[SEGMENT] == valid

    t.keys("C-q")
    t.wait_exit()

    # -- Outside the screen: the records, the keyring, and no key anywhere else
    cli = Cli(workspace=workspace, env=t.env)
    runs = cli("runs", "list", "--json").json()["runs"]
    run = next((r for r in runs if r["id"] == run_id), None)
    assert run is not None, runs
    assert (run["export"], run["outcome"]) in {(EXPORT, "succeeded"),
                                               (EXPORT, "completed_with_rejections")}, run
    config = tomllib.loads((workspace / "segport.toml").read_text(encoding="utf-8"))
    conn = config["connections"][CONNECTION]
    user = conn["export_user"]
    assert (conn["type"], conn["base_url"], conn["shared_with_contributors"]) == (
        "iterable", base_url, False)
    assert conn["privacy"]["agreed_by"] == user and run["export_user"] == user
    assert config["exports"][EXPORT]["segments"] == [SEGMENT]
    assert clean_keyring.items()[connection_entry(CONNECTION)] == KEY
    assert not [s for s in t.screens if KEY in s], "the API key was shown on screen"
    assert (workspace / "segport.db").is_file()
    leaked = [str(p) for p in _files(tmp_path) if KEY.encode() in p.read_bytes()]
    assert not leaked, f"the API key was written to {leaked}"
    assert run["connection"] == CONNECTION and KEY not in json.dumps(run)
    print(f"tmux demo walk-through: {time.monotonic() - started:.1f} s")
