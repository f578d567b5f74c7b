"""Helpers for the engine tests: real profile files, real SQLite ledgers, no mocks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import duckdb

from segport.engine.events import Event
from segport.engine.ledger import Ledger
from segport.engine.plan import plan_export
from segport.engine.records import Delivered
from segport.engine.spool import Plan
from segport.model import Export, Segment, SourceConfig, WorkspaceConfig
from segport.sources import open_source

Row = tuple[str, str | None, str | None, str | None, str]
COLUMNS = ("id", "email", "first_name", "last_name", "country")


def write_parquet(path: Path, rows: Sequence[Row]) -> Path:
    """Profiles (id, email, first_name, last_name, country) as a Parquet file."""
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE p (id VARCHAR, email VARCHAR, first_name VARCHAR, "
                    "last_name VARCHAR, country VARCHAR)").fetchall()
        if rows:
            con.executemany("INSERT INTO p VALUES (?, ?, ?, ?, ?)", [list(r) for r in rows])
        con.execute(f"COPY p TO '{path}' (FORMAT parquet)").fetchall()
    finally:
        con.close()
    return path


def config(path: Path, segments: Mapping[str, str], kind: str = "files",
           table: str | None = None, key: str = "id") -> WorkspaceConfig:
    """A workspace config over the profile file ``path`` with filter segments."""
    return WorkspaceConfig(
        source=SourceConfig(kind, key, path=str(path), table=table),  # type: ignore[arg-type]
        segments={name: Segment(name, where=where) for name, where in segments.items()})


def export(segments: Sequence[str], *, kind: str = "sendgrid", mode: str = "upsert",
           list_id: str | None = "L1", fields: Sequence[str] = ("first_name", "last_name"),
           **more: object) -> Export:
    """An export mapping email and ``fields`` (same-named columns)."""
    mapping = {"email": "email", **{f: f for f in fields}}
    if kind == "iterable":
        list_id = None
    return Export("newsletter", kind, tuple(segments), mapping, connection="conn",  # type: ignore[arg-type]
                  list_id=list_id, mode=mode, **more)  # type: ignore[arg-type]


@contextlib.contextmanager
def planned(cfg: WorkspaceConfig, exp: Export, ledger: Ledger | None,
            events: list[Event] | None = None, **options: object) -> Iterator[Plan]:
    """Open the source, plan, yield the plan, close both."""
    assert cfg.source is not None
    base = Path(cfg.source.path or ".").parent
    with open_source(cfg.source, base) as source, plan_export(
            source, cfg, exp, ledger, None if events is None else events.append,
            **options) as plan:  # type: ignore[arg-type]
        yield plan


def deliver(ledger: Ledger, plan: Plan, *, list_id: str = "L1", added: bool = True) -> int:
    """Record the plan's work as acknowledged by the platform (what apply will do)."""
    run_id = ledger.start_run(plan.export.name, "tester", "conn", "tester")
    done = 0
    for segment in plan.segments:
        for kind in ("add", "update"):
            for batch in plan.changes(segment.name, kind):  # type: ignore[arg-type]
                record = ledger.record_batch(
                    run_id, plan.export.name, segment.name, list_id, kind=kind,
                    accepted=[Delivered(c.contact.email, c.fingerprint, added) for c in batch])
                done += record.accepted
        for batch in plan.changes(segment.name, "remove"):
            ledger.remove_members(run_id, plan.export.name, segment.name,
                                  removed=[c.contact.email for c in batch])
    ledger.finish_run(run_id, "success", plan.totals.as_dict())
    return done


def with_export(exp: Export, **changes: object) -> Export:
    return replace(exp, **changes)  # type: ignore[arg-type]
