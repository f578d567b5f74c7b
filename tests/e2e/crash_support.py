"""Helpers for the crash and cancel tests: a workspace on the sandbox, the real binary, polling.

The workspace is built in-process through the domain calls the CLI makes (a profile file, one
segment, one connection on the sandbox, one export). Its key sits in a memory store for
in-process runs and reaches `segport run` subprocesses as ``SEGPORT_API_KEY_<CONNECTION>``: the
way an unattended (cron/systemd) run gets it, so no keyring is involved here.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from clirunner import Result, segport_binary
from segport.destinations.catalogue import API_FIELDS
from segport.engine.ledger import Ledger
from segport.manage import Context
from segport.manage.catalog import add_segment, set_source
from segport.manage.connections import ConnectionDraft, add_connection
from segport.manage.exports import add_export
from segport.model import DestinationType, Export, Segment, SourceConfig, Team
from segport.sandbox.defaults import DEMO_KEYS
from segport.sandbox.server import Sandbox
from segport.secrets import MemoryStore, env_var_for
from segport.workspace import Workspace

T = TypeVar("T")

USER = "ana"
SEGMENT = "Crash test"
EXPORT = "Crash export"
#: The API path template of each platform's upsert, as the sandbox counts requests.
UPSERT = {"autopilot": "POST /v1/contacts", "iterable": "POST /api/lists/subscribe"}
#: Polling cadence: short enough to stop a run between two batches, light on the sandbox.
POLL_S = 0.05


def profiles(n: int) -> list[dict[str, str]]:
    """``n`` distinct profiles (lower-case emails: what the platforms end up holding)."""
    return [{"id": f"P{i:05d}", "email": f"crash.{i:05d}@example.com",
             "first_name": f"Zoë{i}", "last_name": f"Ørsted-{i % 97}"} for i in range(n)]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.DictWriter(handle, fieldnames=["id", "email", "first_name", "last_name"])
        out.writeheader()
        out.writerows(rows)
    return path


def expected_fields(kind: DestinationType, row: dict[str, str]) -> dict[str, str]:
    """The fields the platform should hold for a profile, in the platform's names."""
    names = API_FIELDS[kind]
    return {names["first_name"]: row["first_name"], names["last_name"]: row["last_name"]}


@dataclass
class Setup:
    """A workspace ready to run ``EXPORT`` against one sandbox emulator."""

    root: Path
    kind: DestinationType
    connection: str
    rows: list[dict[str, str]]
    secrets: MemoryStore

    @property
    def key(self) -> str:
        return DEMO_KEYS[self.kind]

    @property
    def expected(self) -> dict[str, dict[str, str]]:
        """email → fields the list must hold after a complete run."""
        return {r["email"]: expected_fields(self.kind, r) for r in self.rows}

    def context(self) -> Context:
        return Context(Workspace(self.root), user=USER, secrets=self.secrets)

    @property
    def ledger_path(self) -> Path:
        return Workspace(self.root).db_path

    def ledger(self) -> Ledger:
        return Ledger.reader(self.ledger_path)

    def members(self) -> set[str]:
        return set(self.ledger().members(EXPORT, SEGMENT))

    def env(self) -> dict[str, str]:
        """The environment of a `segport` subprocess on this workspace."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEGPORT_API_KEY_")}
        env.update({"SEGPORT_WORKSPACE": str(self.root), "USER": USER, "LOGNAME": USER,
                    env_var_for(self.connection): self.key, "NO_COLOR": "1",
                    "PYTHONUNBUFFERED": "1"})
        return env

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """``segport ARGS`` started in the background (stdout and stderr piped), with SIGINT
        handled as in a terminal even when this process was started with SIGINT ignored."""
        with _sigint_not_ignored():
            return subprocess.Popen([segport_binary(), *args], env=self.env(), text=True,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)

    def cli(self, *args: str, timeout: float = 60) -> Result:
        """``segport ARGS`` to its end."""
        proc = subprocess.run([segport_binary(), *args], env=self.env(), text=True,
                              capture_output=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def runs(self) -> list[dict[str, Any]]:
        """``segport runs list --json``, oldest first."""
        found = self.cli("runs", "list", "--json", "--export", EXPORT)
        return list(reversed(found.json()["runs"]))


@contextlib.contextmanager
def _sigint_not_ignored() -> Iterator[None]:
    """A child inherits an ignored SIGINT (a background job's) across exec; a caught one is
    reset to the default. Un-ignore it while a child is started."""
    ignored = (threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGINT) is signal.SIG_IGN)
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_setup(root: Path, sandbox: Sandbox, kind: DestinationType, n: int) -> Setup:
    """A workspace administered by ``USER``: ``n`` profiles in a CSV, the segment "everyone",
    a connection on the sandbox emulator of ``kind``, and the export mapping email and names."""
    root.mkdir(parents=True)
    rows = profiles(n)
    source = write_csv(root.parent / f"{root.name}-profiles.csv", rows)
    secrets = MemoryStore()
    setup = Setup(root / "ws", kind, f"{kind} sandbox", rows, secrets)
    ctx = setup.context()
    set_source(ctx, SourceConfig(kind="files", key="id", path=str(source)))
    ctx.update(lambda c: replace(c, team=Team(admins=(USER,))))
    add_segment(ctx, Segment(SEGMENT, where="true"))
    add_connection(ctx, ConnectionDraft(name=setup.connection, type=kind,
                                        shared_with_contributors=True,
                                        base_url=sandbox.base_url(kind)),
                   setup.key, agreed=True)
    add_export(ctx, Export(EXPORT, kind, (SEGMENT,),
                           {"email": "email", "first_name": "first_name",
                            "last_name": "last_name"}, connection=setup.connection))
    return setup


def wait_for(what: str, probe: Callable[[], T | None], timeout: float,
             alive: Callable[[], bool] = lambda: True) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds, or as
    soon as ``alive`` says the thing being watched has ended."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if not alive():
            raise AssertionError(f"ended before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_S)


def upserts(state: dict[str, Any], kind: DestinationType) -> int:
    """Upsert requests the emulator received (every outcome: answered, reset, timed out)."""
    prefix = UPSERT[kind] + " "
    return sum(n for label, n in state["requests"].items() if label.startswith(prefix))


def by_outcome(state: dict[str, Any], kind: DestinationType) -> dict[str, int]:
    """Upsert requests by what the client saw: ``{"200": n, "503": n, "reset": n, ...}``."""
    prefix = UPSERT[kind] + " "
    return {label.removeprefix(prefix): n for label, n in state["requests"].items()
            if label.startswith(prefix)}


def list_members(state: dict[str, Any], name: str = SEGMENT) -> dict[str, dict[str, Any]]:
    """email → fields of the list called ``name`` (empty when there is no such list)."""
    found = [lst for lst in state["lists"] if lst["name"] == name]
    assert len(found) <= 1, f"{len(found)} lists named {name!r}"
    if not found:
        return {}
    members = [m["email"] for m in found[0]["members"]]
    assert len(members) == len(set(members)), "a member is on the list twice"
    return {m["email"]: m["fields"] for m in found[0]["members"]}


def read_rejected(path: str | Path) -> list[dict[str, str]]:
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def dump(obj: Any) -> str:
    """Compact JSON for assertion messages."""
    return json.dumps(obj, default=str)[:2000]


def watch(proc: subprocess.Popen[str], what: str, probe: Callable[[], T | None],
          timeout: float) -> T:
    """:func:`wait_for` while ``proc`` runs; when it ends first, fail with its output."""
    try:
        return wait_for(what, probe, timeout, alive=lambda: proc.poll() is None)
    except AssertionError as exc:
        proc.kill()
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f"{exc} (exit {proc.returncode})\nstdout: {out}\nstderr: {err}"
                             ) from None
