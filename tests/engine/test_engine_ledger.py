"""The ledger in segport.db: schema, one-transaction batches, crash safety, reads never write."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from segport.engine.ledger import Ledger
from segport.engine.ledger_schema import _MIGRATIONS, META, SCHEMA_KEY, SCHEMA_VERSION
from segport.engine.records import ApiCall, Delivered, Member, Rejection
from segport.errors import ConfigError
from segport.workspace import Workspace


@pytest.fixture
def db(tmp_path: Path) -> Path:
    workspace = Workspace(tmp_path / "ws")
    workspace.root.mkdir()
    workspace.ensure_db()
    return workspace.db_path


def _state(path: Path) -> tuple[str, list[str]]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest, sorted(p.name for p in path.parent.iterdir())


def test_schema_is_created_once_and_versioned(db: Path) -> None:
    Ledger.open(db).close()
    Ledger.open(db).close()
    with sqlite3.connect(db) as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
    assert meta[SCHEMA_KEY] == str(SCHEMA_VERSION)
    assert meta["schema_version"] == "1"  # the workspace's own key is left alone
    assert mode == "wal"


def test_newer_schema_is_refused(db: Path) -> None:
    Ledger.open(db).close()
    with sqlite3.connect(db) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = ?", (SCHEMA_KEY,))
    with pytest.raises(ConfigError, match="newer segport"):
        Ledger.open(db)


def test_a_version_2_ledger_is_upgraded_in_place(db: Path) -> None:
    """A segport.db from the previous release (engine schema 2) keeps its members and runs."""
    with sqlite3.connect(db) as con:  # schema 2 as the previous release created it
        con.execute(META)
        for version in (1, 2):
            for statement in _MIGRATIONS[version].split(";"):
                if statement.strip():
                    con.execute(statement)
        con.execute("INSERT INTO meta (key, value) VALUES (?, '2')", (SCHEMA_KEY,))
        con.execute("INSERT INTO ledger_scopes (id, export, segment) VALUES (1, 'news', 'vip')")
        con.execute("INSERT INTO ledger VALUES (1, 'a@x.io', 7, 'L1', 1, 1)")
    with Ledger.open(db) as ledger:
        assert ledger.members("news", "vip") == {"a@x.io": Member("a@x.io", 7, "L1", True)}
        run = ledger.start_run("news", "ann", "conn", "ann")
        ledger.mark_sent("news", "L1", run, 1, ["b@x.io", "c@x.io"])
        ledger.mark_sent("news", "L1", run, 2, ["d@x.io"])
        ledger.mark_sent("news", "L2", run, 3, ["e@x.io"])
        assert ledger.sent_unconfirmed("news", "L1") == {"b@x.io", "c@x.io", "d@x.io"}
        ledger.record_batch(run, "news", "vip", "L1", kind="upsert",
                            accepted=[Delivered("b@x.io", 1)], marks={1: ["c@x.io"]})
        assert ledger.sent_unconfirmed("news", "L1") == {"c@x.io", "d@x.io"}  # c: unknown
        ledger.record_batch(run, "news", "vip", "L1", kind="upsert",
                            accepted=[Delivered("c@x.io", 2)], marks={1: []})
        assert ledger.sent_unconfirmed("news", "L1") == {"d@x.io"}  # batch 2: no answer yet
        assert ledger.people_on_list("news", "L1") == 3  # a, b, c
        assert ledger.added_among("news", "L1", ["a@x.io", "b@x.io", "z@x.io"]) == {
            "a@x.io", "b@x.io"}
        assert ledger.added_among("news", "L2", ["a@x.io"]) == set()
        ledger.forget_sent("news")
        assert ledger.sent_unconfirmed("news", "L1") == ledger.sent_unconfirmed("news", "L2") \
            == set()
        assert ledger.sent_unconfirmed("other", "L1") == set()
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT value FROM meta WHERE key = ?", (SCHEMA_KEY,)).fetchone()[
            0] == str(SCHEMA_VERSION)


def test_record_batch_commits_rows_outcome_rejections_and_calls(db: Path) -> None:
    with Ledger.open(db) as ledger:
        run = ledger.start_run("news", "ann", "conn", "ann")
        record = ledger.record_batch(
            run, "news", "vip", "L1", kind="add",
            accepted=[Delivered("a@x.io", 11), Delivered("b@x.io", 12, added=False)],
            rejected=[Rejection("c@x.io", "bounced", key="P3")],
            calls=[ApiCall("PUT", "/v3/marketing/contacts", 202, 0.12)])
        ledger.finish_run(run, "partial", {"accepted": 2, "rejected": 1})
    reader = Ledger.reader(db)
    assert (record.sent, record.accepted, record.rejected) == (3, 2, 1)
    assert reader.members("news", "vip") == {
        "a@x.io": Member("a@x.io", 11, "L1", True), "b@x.io": Member("b@x.io", 12, "L1", False)}
    assert reader.rejections(run)[0] == ("vip", Rejection("c@x.io", "bounced", "P3", False))
    assert [c.path for c in reader.api_calls(run)] == ["/v3/marketing/contacts"]
    (rec,) = reader.runs("news")
    assert (rec.who, rec.connection, rec.export_user, rec.outcome) == ("ann", "conn", "ann",
                                                                      "partial")
    assert rec.counts == {"accepted": 2, "rejected": 1} and rec.finished_at
    assert reader.member_count("news") == 2 and reader.member_count("news", list_id="L2") == 0


def test_updates_keep_segport_added_flag_and_removals_forget(db: Path) -> None:
    with Ledger.open(db) as ledger:
        run = ledger.start_run("news", "ann", "conn", "ann")
        ledger.record_batch(run, "news", "vip", "L1", kind="add",
                            accepted=[Delivered("a@x.io", 1), Delivered("b@x.io", 2)])
        ledger.record_batch(run, "news", "vip", "L1", kind="update",
                            accepted=[Delivered("a@x.io", 5, added=False)])
        ledger.remove_members(run, "news", "vip", removed=["b@x.io"])
        assert ledger.members("news", "vip") == {"a@x.io": Member("a@x.io", 5, "L1", True)}
        assert [b.kind for b in ledger.batches(run)] == ["add", "update", "remove"]


def test_a_failure_inside_record_batch_leaves_nothing_of_that_batch(db: Path) -> None:
    with Ledger.open(db) as ledger:
        run = ledger.start_run("news", "ann", "conn", "ann")
        ledger.record_batch(run, "news", "vip", "L1", kind="add",
                            accepted=[Delivered("kept@x.io", 1)])

        def accepted() -> Iterator[Delivered]:
            yield Delivered("a@x.io", 1)
            yield Delivered("b@x.io", 2)  # written inside the transaction...
            raise ConnectionResetError("crash while committing")  # ...then the failure

        with pytest.raises(ConnectionResetError):
            ledger.record_batch(run, "news", "vip", "L1", kind="add", accepted=accepted(),
                                rejected=[Rejection("c@x.io", "bad")])
        assert set(ledger.members("news", "vip")) == {"kept@x.io"}
        assert len(ledger.batches(run)) == 1 and ledger.rejections(run) == []
        ledger.record_batch(run, "news", "vip", "L1", kind="add",
                            accepted=[Delivered("a@x.io", 1)])  # the retry goes through
        assert set(ledger.members("news", "vip")) == {"kept@x.io", "a@x.io"}


CRASH = """
import os, sys
from segport.engine.ledger import Ledger
from segport.engine.records import Delivered
ledger = Ledger.open(sys.argv[1])
run = ledger.start_run("news", "ann", "conn", "ann")
ledger.record_batch(run, "news", "vip", "L1", kind="add", accepted=[Delivered("first@x.io", 1)])
def accepted():
    for i in range(1000):
        yield Delivered(f"p{i}@x.io", i)
    os._exit(9)  # the process dies with the second batch half written
ledger.record_batch(run, "news", "vip", "L1", kind="add", accepted=accepted())
"""


def test_a_killed_process_loses_the_open_batch_only(db: Path) -> None:
    done = subprocess.run([sys.executable, "-c", CRASH, str(db)], capture_output=True, text=True)
    assert done.returncode == 9, done.stderr
    reader = Ledger.reader(db)
    assert set(reader.members("news", "vip")) == {"first@x.io"}
    (run,) = reader.runs()
    assert run.outcome == "running" and len(reader.batches(run.id)) == 1


def test_reading_never_writes(db: Path) -> None:
    with Ledger.open(db) as ledger:
        run = ledger.start_run("news", "ann", "conn", "ann")
        ledger.record_batch(run, "news", "vip", "L1", kind="add",
                            accepted=[Delivered("a@x.io", 1)])
        ledger.refresh_snapshots("news")
    before = _state(db)
    reader = Ledger.reader(db)
    assert reader.members("news", "vip") and reader.runs() and reader.snapshot("news", "vip")
    assert reader.member_count("news") == 1
    with pytest.raises(RuntimeError, match="reading"):
        reader.start_run("news", "ann", None, None)
    assert _state(db) == before


def test_a_missing_database_reads_as_empty_and_is_not_created(tmp_path: Path) -> None:
    reader = Ledger.reader(tmp_path / "segport.db")
    assert reader.members("news", "vip") == {} and reader.runs() == []
    assert reader.snapshot("news", "vip") is None and reader.member_count("news") == 0
    assert list(tmp_path.iterdir()) == []


def test_snapshots_are_current_until_the_scope_changes(db: Path) -> None:
    with Ledger.open(db) as ledger:
        run = ledger.start_run("news", "ann", "conn", "ann")
        ledger.record_batch(run, "news", "vip", "L1", kind="add",
                            accepted=[Delivered(f"p{i}@x.io", i) for i in range(10)])
        ledger.record_batch(run, "news", "all", "L1", kind="add",
                            accepted=[Delivered("q@x.io", 1)])
        assert ledger.snapshot("news", "vip") is None
        assert ledger.refresh_snapshots("news") == 2
        assert ledger.refresh_snapshots("news") == 0
        assert ledger.snapshot("news", "vip") is not None
        ledger.remove_members(run, "news", "vip", removed=["p0@x.io"])
        assert ledger.snapshot("news", "vip") is None  # stale: read row by row
        assert ledger.snapshot("news", "all") is not None


def _snapshot_rows(ledger: Ledger, export: str, segment: str) -> list[dict[str, object]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    blob = ledger.snapshot(export, segment)
    assert blob is not None
    return sorted(pq.read_table(pa.BufferReader(blob)).to_pylist(), key=lambda r: r["email"])


def _seed(ledger: Ledger) -> None:
    run = ledger.start_run("news", "ann", "conn", "ann")
    ledger.record_batch(run, "news", "vip", "L1", kind="upsert",
                        accepted=[Delivered(f"p{i}@x.io", i) for i in range(50)])
    ledger.finish_run(run, "succeeded", {})
    ledger.refresh_snapshots("news", run_id=run)


def test_a_runs_upserts_patch_the_snapshot_it_began_with(db: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import segport.engine.ledger as ledger_module

    with Ledger.open(db) as ledger:
        _seed(ledger)
        run = ledger.start_run("news", "ann", "conn", "ann")
        ledger.record_batch(run, "news", "vip", "L2", kind="upsert", accepted=[
            Delivered("p3@x.io", 333), Delivered("new@x.io", 7, added=True)])
        ledger.record_batch(run, "news", "vip", "L2", kind="upsert",
                            accepted=[Delivered("p4@x.io", 444)])
        ledger.finish_run(run, "succeeded", {})

        def no_full_read(*args: object) -> object:
            raise AssertionError("read every member instead of patching")

        with monkeypatch.context() as patched:
            patched.setattr(ledger_module, "snapshot_parquet", no_full_read)
            assert ledger.refresh_snapshots("news", run_id=run) == 1
        rows = _snapshot_rows(ledger, "news", "vip")
        by_email = {r["email"]: r for r in rows}
        assert len(rows) == 51 and len(by_email) == 51
        assert (by_email["p3@x.io"]["fingerprint"], by_email["p3@x.io"]["list_id"]) == (333, "L2")
        assert by_email["new@x.io"]["added"] == 1 and by_email["p5@x.io"]["fingerprint"] == 5
        # the same as reading every member anew
        ledger._db.execute("UPDATE ledger_snapshots SET version = -1")  # type: ignore[union-attr]
        assert ledger.refresh_snapshots("news") == 1
        assert _snapshot_rows(ledger, "news", "vip") == rows


@pytest.mark.parametrize("case", ["removal", "stale_before_the_run", "another_writer",
                                  "damaged_snapshot"])
def test_a_snapshot_is_read_anew_when_patching_would_not_be_exact(
        db: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import segport.engine.ledger as ledger_module

    with Ledger.open(db) as ledger:
        _seed(ledger)
        if case == "stale_before_the_run":  # a crashed run wrote and never refreshed
            crashed = ledger.start_run("news", "ann", "conn", "ann")
            ledger.record_batch(crashed, "news", "vip", "L1", kind="upsert",
                                accepted=[Delivered("p1@x.io", 111)])
        if case == "damaged_snapshot":
            ledger._db.execute("UPDATE ledger_snapshots SET data = x'00'")  # type: ignore[union-attr]
        run = ledger.start_run("news", "ann", "conn", "ann")
        ledger.record_batch(run, "news", "vip", "L1", kind="upsert",
                            accepted=[Delivered("p2@x.io", 222)])
        if case == "removal":
            ledger.remove_members(run, "news", "vip", removed=["p0@x.io"], list_id="L1")
        if case == "another_writer":
            other = ledger.start_run("news", "bob", "conn", "bob")
            ledger.record_batch(other, "news", "vip", "L1", kind="upsert",
                                accepted=[Delivered("p1@x.io", 111)])
        full_reads: list[object] = []
        real = ledger_module.snapshot_parquet

        def counted(*args: object, **kwargs: object) -> object:
            full_reads.append(args)
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(ledger_module, "snapshot_parquet", counted)
        assert ledger.refresh_snapshots("news", run_id=run) == 1
        assert len(full_reads) == 1
        rows = {r["email"]: r["fingerprint"] for r in _snapshot_rows(ledger, "news", "vip")}
        assert rows["p2@x.io"] == 222
        assert ("p0@x.io" in rows) == (case != "removal")
        assert rows["p1@x.io"] == (111 if case in ("stale_before_the_run", "another_writer")
                                   else 1)


def test_a_damaged_database_is_reported_with_what_to_do(tmp_path: Path) -> None:
    from segport.engine.ledger import LedgerError

    db = tmp_path / "segport.db"
    db.write_bytes(b"this is not a SQLite database, but it is long enough to look like one" * 20)
    with pytest.raises(LedgerError, match=r"cannot be used .*move it aside"):
        Ledger.reader(db).runs()
    with pytest.raises(LedgerError, match=r"segport\.db: the workspace database cannot be used"):
        Ledger.open(db)
