"""Helpers of the end-to-end run tests (a unique module name: no clash with other suites).

A :class:`Setup` is one workspace over a Parquet profile file with one connection to one
sandbox emulator (its own API key, so the emulator's state and request counts are this test's
alone), exports on it, and in-process runs through :mod:`segport.manage.running` — the calls
both faces make. Nothing is mocked: real HTTP to the sandbox, the real SQLite ledger, real files.
"""

from __future__ import annotations

import asyncio
import csv
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from segport.destinations import destination_class
from segport.destinations.base import Limits
from segport.engine.events import Event
from segport.engine.outcome import RunResult
from segport.engine.records import ApiCall, RunRecord
from segport.manage import Context
from segport.manage.catalog import add_segment, set_source
from segport.manage.connections import ConnectionDraft, add_connection
from segport.manage.exports import add_export
from segport.manage.running import prepare, run, run_record
from segport.model import DestinationType, Export, Segment, SourceConfig, Team
from segport.sandbox.defaults import account_id
from segport.sandbox.server import Sandbox
from segport.secrets import SecretStore
from segport.workspace import Workspace

COLUMNS = ("id", "email", "first_name", "last_name", "country", "score")
#: id, email, first name, last name, country, score.
Row = tuple[str, str | None, str | None, str | None, str, int]

CONNECTION = "Sandbox"
MAPPING = {"email": "email", "first_name": "first_name", "last_name": "last_name"}
#: segport field → the platform's own name, as the sandbox state shows members' fields.
FIELD_NAMES: dict[DestinationType, tuple[str, str]] = {
    "iterable": ("firstName", "lastName"),
    "sendgrid": ("first_name", "last_name"),
    "autopilot": ("FirstName", "LastName"),
}
#: The emulators' limits raised so that pacing costs nothing (pacing is not what these test).
FAST_EMULATORS: dict[DestinationType, dict[str, Any]] = {
    "iterable": {"subscribe_rate": {"rate": 1000, "burst": 1000},
                 "lists_rate": {"rate": 1000, "burst": 1000},
                 "create_list_rate": {"rate": 1000, "burst": 1000}, "new_list_delay": 0.0},
    "sendgrid": {"contacts_rate": {"rate": 1000, "burst": 1000},
                 "default_rate": {"rate": 1000, "burst": 1000}, "job_pending_seconds": 0.05},
    "autopilot": {"rate": {"rate": 1000, "burst": 1000}},
}
COUNTRIES = ("US", "FR", "DE", "ES")

#: Rows with dirt, all in country US: two invalid, two missing, two duplicates of earlier
#: rows differing only by case and white space, and one valid address to normalise.
DIRT: list[Row] = [
    ("D01", "not-an-email", "Dirt", "One", "US", 99),
    ("D02", "two@@example.com", "Dirt", "Two", "US", 99),
    ("D03", None, "Dirt", "Three", "US", 99),
    ("D04", "   ", "Dirt", "Four", "US", 99),
    ("D05", "  PERSON000@Example.COM ", "Shadow", "Copy", "US", 99),
    ("D06", "person004@EXAMPLE.com\t", "Shadow", "Copy", "US", 99),
    ("D07", " Mixed.Case@Example.ORG ", "Mixed", "Case", "US", 50),
]
#: D01-D04 are invalid (D03, D04 missing); D05, D06 duplicate P000, P004.
DIRT_INVALID = {"D01", "D02", "D03", "D04"}
DIRT_DUPLICATES = {"D05": "P000", "D06": "P004"}

_SIMPLE_EMAIL = re.compile(r"[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+")


def person(i: int, *, first: str | None = None) -> Row:
    """The i-th person of the population (every fourth one in the US)."""
    return (f"P{i:03d}", f"person{i:03d}@example.com", first or f"First{i}", f"Last{i}",
            COUNTRIES[i % 4], i % 100)


def population(n: int = 200) -> list[Row]:
    return [person(i) for i in range(n)]


def write_profiles(path: Path, rows: Sequence[Row]) -> Path:
    """Profiles as a Parquet file (replaced atomically)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(COLUMNS)
    table = pa.table({name: pa.array(values, type=pa.int32() if name == "score" else pa.string())
                      for name, values in zip(COLUMNS, columns, strict=True)})
    tmp = path.with_suffix(".tmp.parquet")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def expected_members(rows: Iterable[Row], where: Callable[[Row], bool] = lambda r: True
                     ) -> dict[str, Row]:
    """Valid unique emails of a segment (trimmed, lower-cased; the first row wins), computed
    independently of segport with a simple ASCII rule that fits these profiles."""
    found: dict[str, Row] = {}
    for row in rows:
        if not where(row) or row[1] is None:
            continue
        email = row[1].strip().lower()
        if _SIMPLE_EMAIL.fullmatch(email) and "@@" not in email:
            found.setdefault(email, row)
    return found


def fields_of(kind: DestinationType, row: Row) -> dict[str, str]:
    """The fields a member should carry on the platform, in its own names."""
    first, last = FIELD_NAMES[kind]
    return {first: row[2], last: row[3]}  # type: ignore[dict-item]


def fast_limits(kind: DestinationType, batch: int | None = None) -> Limits:
    """The client's documented limits with pacing lifted (and batches of ``batch`` rows)."""
    limits: Limits = destination_class(kind).default_limits
    limits = replace(limits, requests_per_s=1000.0, burst=1000)
    return replace(limits, max_batch_count=batch) if batch else limits


def configure_fast(sandbox: Sandbox) -> None:
    for kind, patch in FAST_EMULATORS.items():
        sandbox.configure(kind, patch)  # type: ignore[arg-type]


def new_key(kind: DestinationType) -> str:
    """A unique API key (a canary: it must never reach the workspace's files)."""
    token = secrets.token_hex(12)
    return f"SG.e2e-canary.{token}" if kind == "sendgrid" else f"e2e-canary-{kind}-{token}"


@dataclass
class Setup:
    """One workspace, one connection to one emulator; see the module doc."""

    kind: DestinationType
    root: Path
    ctx: Context
    key: str
    sandbox: Sandbox
    rows: list[Row]

    # --- workspace ---------------------------------------------------------------------------
    @property
    def profiles(self) -> Path:
        return self.root / "profiles.parquet"

    def write(self, rows: Sequence[Row]) -> None:
        """Replace the profile file's rows."""
        self.rows = list(rows)
        write_profiles(self.profiles, self.rows)

    def segment(self, name: str, where: str) -> None:
        add_segment(self.ctx, Segment(name, where=where))

    def export(self, name: str, segments: Sequence[str], *, mode: str = "upsert",
               list_id: str | None = None, schedule: bool = False) -> Export:
        check = add_export(self.ctx, Export(
            name, self.kind, tuple(segments), dict(MAPPING), connection=CONNECTION,
            list_id=list_id, mode=mode, schedule=schedule))  # type: ignore[arg-type]
        return check.export

    # --- runs --------------------------------------------------------------------------------
    def run(self, export: str, *, allow_mass_removal: bool = False, batch: int | None = None,
            events: list[Event] | None = None, **destination_options: Any) -> RunResult:
        """Run ``export`` in-process, as the faces do (prepare, then run); the client's pacing
        is lifted (``fast_limits``), other client options may be given."""
        prepared = prepare(self.ctx, export)
        sink = events.append if events is not None else None
        options = {"limits": fast_limits(self.kind, batch), **destination_options}
        return asyncio.run(run(self.ctx, prepared, sink, allow_mass_removal=allow_mass_removal,
                               destination_options=options))

    def record(self, run_id: int) -> tuple[RunRecord, list[ApiCall]]:
        return run_record(self.ctx, run_id)

    @staticmethod
    def rejected(result: RunResult) -> list[dict[str, str]]:
        """The rows of the run's rejected.csv."""
        assert result.rejected_file, result
        with open(result.rejected_file, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            assert tuple(reader.fieldnames or ()) == ("segment", "key", "email", "stage",
                                                      "reason")
            return list(reader)

    def workspace_bytes(self) -> dict[str, bytes]:
        """Every file of the workspace (segport.toml, segport.db and its journals, runs/)."""
        return {str(p): p.read_bytes() for p in self.root.rglob("*") if p.is_file()}

    # --- the platform, as the emulator sees it -----------------------------------------------
    def state(self) -> dict[str, Any]:
        return self.sandbox.state(self.kind, account=account_id(self.key))

    def lists(self) -> list[dict[str, Any]]:
        return list(self.state()["lists"])

    def list_named(self, name: str) -> dict[str, Any]:
        found = [lst for lst in self.lists() if lst["name"] == name]
        assert len(found) == 1, f"{len(found)} lists named {name!r}: {self.lists()}"
        return found[0]

    def list_with_id(self, list_id: str) -> dict[str, Any]:
        found = [lst for lst in self.lists() if str(lst["id"]) == str(list_id)]
        assert len(found) == 1, f"no list {list_id!r}: {self.lists()}"
        return found[0]

    def members(self, lst: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """email → fields (in the platform's names, the email itself left out)."""
        out: dict[str, dict[str, Any]] = {}
        for member in lst["members"]:
            fields = {k: v for k, v in member["fields"].items() if k.lower() != "email"}
            out[member["email"].lower()] = fields
        assert len(out) == len(lst["members"]), "an email is on the list twice"
        return out

    def expected_fields(self, rows: dict[str, Row]) -> dict[str, dict[str, str]]:
        return {email: fields_of(self.kind, row) for email, row in rows.items()}

    def requests(self) -> Counter[str]:
        """``"METHOD /path/template STATUS" → n`` for this test's account."""
        return Counter(self.state()["requests"])

    def upserts(self) -> int:
        """Upsert requests the platform accepted so far."""
        name = {"iterable": "POST /api/lists/subscribe 200",
                "sendgrid": "PUT /v3/marketing/contacts 202",
                "autopilot": "POST /v1/contacts 200"}[self.kind]
        return self.requests()[name]

    def removal_requests(self) -> int:
        """Requests that take members off a list, whatever their answer."""
        prefix = {"iterable": "POST /api/lists/unsubscribe",
                  "sendgrid": "DELETE /v3/marketing/lists/{id}/contacts",
                  "autopilot": "DELETE /v1/list/{list_id}/contact/"}[self.kind]
        return sum(n for name, n in self.requests().items() if name.startswith(prefix))

    # --- the platform's API, directly (as a person or another tool would use it) -------------
    def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"iterable": {"Api-Key": self.key},
                   "sendgrid": {"Authorization": f"Bearer {self.key}"},
                   "autopilot": {"autopilotapikey": self.key}}[self.kind]
        return self.sandbox.http.request(method, self.sandbox.origin(self.kind) + path,
                                         json=body, headers=headers)

    def create_list(self, name: str) -> str:
        """A list made on the platform directly (as a person would), its id."""
        if self.kind == "sendgrid":
            return self.create_sendgrid_list(name)
        path = "/api/lists" if self.kind == "iterable" else "/v1/list"
        response = self.api("POST", path, {"name": name})
        assert response.status_code == 200, response.text
        return str(response.json()["listId" if self.kind == "iterable" else "list_id"])

    def create_sendgrid_list(self, name: str) -> str:
        response = self.api("POST", "/v3/marketing/lists", {"name": name})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def hand_add(self, list_id: str, email: str, first_name: str = "Hand") -> None:
        """Put a member on a list through the platform's API (not through segport)."""
        if self.kind == "iterable":
            response = self.api("POST", "/api/lists/subscribe", {
                "listId": int(list_id),
                "subscribers": [{"email": email, "dataFields": {"firstName": first_name}}]})
            assert response.status_code == 200 and response.json()["successCount"] == 1
        elif self.kind == "autopilot":
            response = self.api("POST", "/v1/contacts", {"contacts": [
                {"Email": email, "FirstName": first_name, "_autopilot_list": list_id}]})
            assert response.status_code == 200, response.text
        else:
            response = self.api("PUT", "/v3/marketing/contacts", {
                "list_ids": [list_id], "contacts": [{"email": email, "first_name": first_name}]})
            assert response.status_code == 202, response.text
            self._wait_for_job(response.json()["job_id"])
        assert email.lower() in self.members(self.list_with_id(list_id))

    def _wait_for_job(self, job_id: str, timeout: float = 10.0) -> None:
        """Poll SendGrid's import job until it leaves ``pending`` (its own status, no guess)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.api("GET", f"/v3/marketing/contacts/imports/{job_id}")
            assert response.status_code == 200, response.text
            if response.json()["status"] != "pending":
                assert response.json()["status"] == "completed", response.text
                return
            assert time.monotonic() < deadline, f"job {job_id} still pending"
            time.sleep(0.02)  # poll interval; the condition above is what synchronises


def new_setup(kind: DestinationType, root: Path, sandbox: Sandbox, key: str,
              secrets_store: SecretStore, rows: Sequence[Row] | None = None,
              base_url: str | None = None) -> Setup:
    """A workspace administered by 'ana' (contributor 'bo') over a Parquet profile file, with
    the connection ``CONNECTION`` (its key in ``secrets_store``) to the sandbox's ``kind``."""
    root.mkdir(parents=True, exist_ok=True)
    ctx = Context(Workspace(root), user="ana", secrets=secrets_store)
    setup = Setup(kind, root, ctx, key, sandbox, [])
    setup.write(population() + DIRT if rows is None else rows)
    set_source(ctx, SourceConfig(kind="files", key="id", path=str(setup.profiles)))
    ctx.update(lambda c: replace(c, team=Team(admins=("ana",), contributors=("bo",))))
    draft = ConnectionDraft(CONNECTION, kind, base_url=base_url or sandbox.base_url(kind))
    add_connection(ctx, draft, key, agreed=True)
    return setup
