"""plan_export over real files and a real ledger: dedupe, diff, mirror, guards, events."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import duckdb
import pytest
from engine_support import Row, config, deliver, export, planned, with_export, write_parquet

from segport.engine import canon, emails
from segport.engine.events import PlanFinished, PlanReady, PlanStarted, RowsRead
from segport.engine.ledger import Ledger
from segport.engine.records import Delivered
from segport.engine.spool import Counts, Plan
from segport.workspace import Workspace

PEOPLE: list[Row] = [
    ("P1", "anna@example.com", "Anna", "Smith", "US"),
    ("P2", " Bob@Example.com ", "Bob", "Jones", "US"),
    ("P3", "bob@example.com", "Robert", "Jones", "GB"),
    ("P4", None, "Nobody", None, "GB"),
    ("P5", "not-an-email", "Nope", None, "FR"),
    ("P6", "carl@example.com", "Carl", " Meyer ", "DE"),
    ("P7", "dana@example.com", None, None, "DE"),
]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    workspace.root.mkdir()
    workspace.ensure_db()
    return workspace


def emails_of(plan: Plan, segment: str, kind: str) -> list[str]:
    return [c.contact.email for batch in plan.changes(segment, kind) for c in batch]  # type: ignore[arg-type]


def test_dedupe_across_segments_and_problems(tmp_path: Path, ws: Workspace) -> None:
    cfg = config(write_parquet(tmp_path / "p.parquet", PEOPLE),
                 {"us": "country = 'US'", "all": "true"})
    with planned(cfg, export(["us", "all"]), Ledger.reader(ws.db_path)) as plan:
        assert plan.segment("us").counts == Counts(read=2, adds=2)
        assert plan.segment("all").counts == Counts(read=7, invalid=2, duplicates=3, adds=2)
        assert plan.totals.members == 4 and plan.refusal is None
        problems = [(p.segment, p.key, p.reason) for b in plan.problems() for p in b]
        assert problems == [("all", "P1", "duplicate of P1"), ("all", "P2", "duplicate of P2"),
                            ("all", "P3", "duplicate of P2"), ("all", "P4", emails.MISSING),
                            ("all", "P5", emails.NO_AT)]
        assert emails_of(plan, "us", "add") == ["anna@example.com", "bob@example.com"]
        assert emails_of(plan, "all", "add") == ["carl@example.com", "dana@example.com"]
        samples = plan.segment("all").samples
        assert [s.key for s in samples["duplicate"]] == ["P1", "P2", "P3"]
        assert [s.detail for s in samples["invalid"]] == [emails.MISSING, emails.NO_AT]


def test_segments_with_their_own_lists_are_deduped_each_on_its_own(
        tmp_path: Path, ws: Workspace) -> None:
    """Iterable: one list per segment, so a person in two segments belongs on both lists."""
    cfg = config(write_parquet(tmp_path / "p.parquet", PEOPLE),
                 {"us": "country = 'US'", "all": "true"})
    with planned(cfg, export(["us", "all"], kind="iterable"), Ledger.reader(ws.db_path)) as plan:
        assert plan.segment("us").counts == Counts(read=2, adds=2)
        assert plan.segment("all").counts == Counts(read=7, invalid=2, duplicates=1, adds=4)
        assert emails_of(plan, "all", "add") == ["anna@example.com", "bob@example.com",
                                                  "carl@example.com", "dana@example.com"]
        problems = [(p.segment, p.key, p.reason) for b in plan.problems() for p in b
                    if p.reason.startswith("duplicate")]
        assert problems == [("all", "P3", "duplicate of P2")]
        assert plan.unique_members == 6


def test_changes_carry_canonical_fields_and_fingerprints(tmp_path: Path, ws: Workspace) -> None:
    cfg = config(write_parquet(tmp_path / "p.parquet", PEOPLE), {"de": "country = 'DE'"})
    with planned(cfg, export(["de"]), Ledger.reader(ws.db_path)) as plan:
        (batch,) = list(plan.changes("de", "add"))
    carl, dana = batch
    assert (carl.key, carl.contact.first_name, carl.contact.last_name) == ("P6", "Carl", "Meyer")
    assert carl.fingerprint == canon.fingerprint({"first_name": "Carl", "last_name": "Meyer"})
    assert dana.contact.first_name is None and dana.fingerprint == canon.fingerprint({})


def test_rerun_sends_only_changes(tmp_path: Path, ws: Workspace) -> None:
    path = write_parquet(tmp_path / "p.parquet", PEOPLE)
    cfg, exp = config(path, {"all": "true"}), export(["all"])
    with Ledger.open(ws.db_path) as ledger, planned(cfg, exp, ledger) as plan:
        assert deliver(ledger, plan) == 4
    changed = [r for r in PEOPLE if r[0] != "P6"] + [("P8", "eve@example.com", "Eve", "", "US")]
    changed[0] = ("P1", "ANNA@example.com", "Anna", "Smith-Jones", "US")
    write_parquet(path, changed)
    with planned(cfg, exp, Ledger.reader(ws.db_path)) as plan:
        assert plan.totals == Counts(read=7, invalid=2, duplicates=1, adds=1, updates=1,
                                     unchanged=2)
        assert emails_of(plan, "all", "add") == ["eve@example.com"]
        assert emails_of(plan, "all", "update") == ["anna@example.com"]
        assert emails_of(plan, "all", "remove") == []  # upsert mode never removes
        assert [s.email for s in plan.segment("all").samples["unchanged"]] == [
            "bob@example.com", "dana@example.com"]


def test_snapshot_and_rows_give_the_same_plan(tmp_path: Path, ws: Workspace) -> None:
    path = write_parquet(tmp_path / "p.parquet", PEOPLE)
    cfg, exp = config(path, {"all": "true"}), export(["all"], mode="mirror",
                                                     max_removal_share=1.0)
    with Ledger.open(ws.db_path) as ledger, planned(cfg, exp, ledger) as plan:
        deliver(ledger, plan)
    write_parquet(path, [*PEOPLE[:5], ("P6", "carl@example.com", "Carl", "M", "DE")])
    with Ledger.open(ws.db_path) as ledger:
        with planned(cfg, exp, ledger) as plan:
            by_rows = (plan.totals, emails_of(plan, "all", "update"),
                       emails_of(plan, "all", "remove"))
        ledger.refresh_snapshots(exp.name)
        assert ledger.snapshot(exp.name, "all") is not None
        with planned(cfg, exp, ledger) as plan:
            by_snapshot = (plan.totals, emails_of(plan, "all", "update"),
                           emails_of(plan, "all", "remove"))
    assert by_rows == by_snapshot
    assert by_rows[1:] == (["carl@example.com"], ["dana@example.com"])


def test_mirror_removes_only_what_segport_added(tmp_path: Path, ws: Workspace) -> None:
    path = write_parquet(tmp_path / "p.parquet", PEOPLE)
    cfg = config(path, {"all": "true"})
    exp = export(["all"], mode="mirror", max_removal_share=1.0)
    with Ledger.open(ws.db_path) as ledger:
        with planned(cfg, exp, ledger) as plan:
            deliver(ledger, plan)
        run = ledger.start_run(exp.name, "tester", "conn", "tester")
        ledger.record_batch(run, exp.name, "all", "L1", kind="add",  # on the list before
                            accepted=[Delivered("hand@example.com", 1, added=False)])
        ledger.record_batch(run, exp.name, "all", "OTHER", kind="add",  # another list
                            accepted=[Delivered("elsewhere@example.com", 1)])
    write_parquet(path, PEOPLE[:5])  # carl and dana left the segment
    with planned(cfg, exp, Ledger.reader(ws.db_path)) as plan:
        assert emails_of(plan, "all", "remove") == ["carl@example.com", "dana@example.com"]
        assert plan.totals.removals == 2 and plan.segment("all").list_size == 5


def test_mirror_keeps_members_who_moved_to_a_segment_of_the_same_list(
        tmp_path: Path, ws: Workspace) -> None:
    path = write_parquet(tmp_path / "p.parquet", PEOPLE)
    cfg = config(path, {"us": "country = 'US'", "de": "country = 'DE'"})
    exp = export(["us", "de"], mode="mirror", max_removal_share=1.0)
    with Ledger.open(ws.db_path) as ledger, planned(cfg, exp, ledger) as plan:
        deliver(ledger, plan)
    moved = [("P6", "carl@example.com", "Carl", "Meyer", "US"), PEOPLE[0]]
    write_parquet(path, moved)
    with planned(cfg, exp, Ledger.reader(ws.db_path)) as plan:
        assert emails_of(plan, "us", "add") == ["carl@example.com"]
        assert emails_of(plan, "de", "remove") == ["dana@example.com"]  # carl stays on L1
        assert emails_of(plan, "us", "remove") == ["bob@example.com"]


def test_blast_radius_guard_and_override(tmp_path: Path, ws: Workspace) -> None:
    path = write_parquet(tmp_path / "p.parquet", PEOPLE)
    cfg, exp = config(path, {"all": "true"}), export(["all"], mode="mirror")
    with Ledger.open(ws.db_path) as ledger, planned(cfg, exp, ledger) as plan:
        deliver(ledger, plan)
    write_parquet(path, PEOPLE[:2])  # 2 of 4 members would go: 50 % > 10 %
    ledger = Ledger.reader(ws.db_path)
    with planned(cfg, exp, ledger) as plan:
        assert [r.kind for r in plan.refusals] == ["mass_removal"]
        assert "remove 2 of the 4 members" in (plan.refusal or "")
    with planned(cfg, exp, ledger, allow_mass_removal=True) as plan:
        assert plan.refusal is None and plan.totals.removals == 2
    with planned(cfg, with_export(exp, max_removal_share=0.5), ledger) as plan:
        assert plan.refusal is None


def test_cap_refusal_and_the_exports_own_cap(tmp_path: Path, ws: Workspace) -> None:
    big = tmp_path / "big.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'P' || range AS id, 'p' || range || '@example.com' AS email, "
                f"NULL AS first_name, NULL AS last_name, 'US' AS country FROM range(100001)) "
                f"TO '{big}' (FORMAT parquet)").fetchall()
    con.close()
    cfg, ledger = config(big, {"all": "true"}), Ledger.reader(ws.db_path)
    with planned(cfg, export(["all"], fields=()), ledger) as plan:
        assert plan.cap == 100_000 and [r.kind for r in plan.refusals] == ["cap"]
        assert "100,001 valid email addresses (unique per list)" in (plan.refusal or "")
    with planned(cfg, export(["all"], fields=(), cap=200_000), ledger) as plan:
        assert plan.cap == 200_000 and plan.refusal is None
    with planned(cfg, export(["all"], kind="iterable", fields=()), ledger) as plan:
        assert plan.cap == 1_000_000 and plan.refusal is None


def test_events_carry_the_counts(tmp_path: Path, ws: Workspace) -> None:
    cfg = config(write_parquet(tmp_path / "p.parquet", PEOPLE),
                 {"us": "country = 'US'", "all": "true"})
    events: list[object] = []
    with planned(cfg, export(["us", "all"]), Ledger.reader(ws.db_path), events,  # type: ignore[arg-type]
                 batch_size=3) as plan:
        starts = [e for e in events if isinstance(e, PlanStarted)]
        assert [(e.segment, e.total_hint) for e in starts] == [("us", 2), ("all", 7)]
        reads = [e for e in events if isinstance(e, RowsRead) and e.segment == "all"]
        assert [e.read for e in reads] == [3, 6, 7, 7]
        assert reads[-1] == RowsRead("all", 7, 2, 3, done=True)
        ready = {e.segment: e for e in events if isinstance(e, PlanReady)}
        assert ready["all"] == PlanReady("all", 2, 0, 0, 0, 2, 3)
        (finished,) = [e for e in events if isinstance(e, PlanFinished)]
        assert finished.counts == plan.totals.as_dict() and finished.refusal is None
        assert isinstance(events[-1], PlanFinished)


def test_planning_leaves_the_workspace_unchanged(tmp_path: Path, ws: Workspace) -> None:
    path = write_parquet(tmp_path / "p.parquet", PEOPLE)
    cfg, exp = config(path, {"all": "true"}), export(["all"], mode="mirror")
    with Ledger.open(ws.db_path) as ledger, planned(cfg, exp, ledger) as plan:
        deliver(ledger, plan)
    write_parquet(path, PEOPLE[:6])

    def state() -> dict[str, str]:
        return {str(p.relative_to(ws.root)): hashlib.sha256(p.read_bytes()).hexdigest()
                if p.is_file() else "dir" for p in sorted(ws.root.rglob("*"))}

    before = state()
    with planned(cfg, exp, Ledger.reader(ws.db_path), spool_dir=tmp_path) as plan:
        assert plan.totals.removals == 1 and plan.totals.members == 3
        assert list(tmp_path.glob("segport-plan-*"))  # the spool lives outside
    assert state() == before
    assert not list(tmp_path.glob("segport-plan-*"))  # and is gone once the plan is closed


def test_sqlite_source_plans_like_parquet(tmp_path: Path, ws: Workspace) -> None:
    """The tuple path (SQLAlchemy source) and the Arrow path (DuckDB file) agree."""
    rows = [*PEOPLE, ("P9", "  ZOË@Exämple.com", "Zoë", "Ünal", "TR"),
            ("P10", "zoe\u0308@exa\u0308mple.com", "Zoe", None, "TR")]
    parquet = write_parquet(tmp_path / "p.parquet", rows)
    db = tmp_path / "p.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE profiles (id TEXT, email TEXT, first_name TEXT, "
                    "last_name TEXT, country TEXT)")
        con.executemany("INSERT INTO profiles VALUES (?, ?, ?, ?, ?)", rows)
    exp, ledger = export(["all"]), Ledger.reader(ws.db_path)
    results = []
    for cfg in (config(parquet, {"all": "true"}),
                config(db, {"all": "true"}, kind="sqlite", table="profiles")):
        with planned(cfg, exp, ledger) as plan:
            results.append((plan.totals,
                            [(c.key, c.contact, c.fingerprint)
                             for b in plan.changes("all", "add") for c in b],
                            [(p.key, p.reason) for b in plan.problems() for p in b]))
    assert results[0] == results[1]
    assert results[0][2][-1] == ("P10", "duplicate of P9")


def test_a_snapshot_keyed_by_another_duckdb_is_rehashed(tmp_path: Path, ws: Workspace) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from segport.engine.ledger_schema import KEY_PROBE

    path = write_parquet(tmp_path / "p.parquet", PEOPLE)
    cfg, exp = config(path, {"all": "true"}), export(["all"])
    with Ledger.open(ws.db_path) as ledger:
        with planned(cfg, exp, ledger) as plan:
            deliver(ledger, plan)
        ledger.refresh_snapshots(exp.name)
    with sqlite3.connect(ws.db_path) as con:  # as if written by a DuckDB hashing differently
        (blob,) = con.execute("SELECT data FROM ledger_snapshots").fetchone()
        table = pq.read_table(pa.BufferReader(blob))
        assert table.schema.metadata[KEY_PROBE]
        table = table.set_column(table.schema.get_field_index("h1"), "h1",
                                 pa.array([1] * table.num_rows, pa.uint64()))
        table = table.replace_schema_metadata({KEY_PROBE: b"0:0"})
        sink = io.BytesIO()
        pq.write_table(table, sink)
        con.execute("UPDATE ledger_snapshots SET data = ?", (sink.getvalue(),))
    assert Ledger.reader(ws.db_path).snapshot(exp.name, "all") is not None
    with planned(cfg, exp, Ledger.reader(ws.db_path)) as plan:
        assert plan.totals == Counts(read=7, invalid=2, duplicates=1, unchanged=4)
