"""The ledger in ``segport.db``: what each export last delivered, its runs and API calls.

Per (export, segment) — a *scope* — the ledger holds, for every normalised email the platform
**accepted**, the fingerprint of the fields sent (:mod:`segport.engine.canon`), the list it went
to, and whether segport itself added that membership (mirror mode removes only those).

Writes happen per acknowledged batch: :meth:`Ledger.record_batch` and
:meth:`Ledger.remove_members` commit the ledger rows, the batch's outcome, its rejected rows
and its API calls in ONE transaction (SQLite, WAL, ``synchronous=FULL``): a crash between two
batches loses nothing and resends nothing acknowledged. Reads use their own short-lived
connections that cannot write and leave no files behind, so planning never changes the
workspace. The schema version is ``meta.engine_schema``.

Snapshots: every write bumps its scope's ``version``. :meth:`Ledger.refresh_snapshots` (run by
apply when a run ends) stores each scope's members as one Parquet blob tagged with that
version; the plan reads a scope through its snapshot when the versions still match (one blob
instead of a million rows through Python), and row by row otherwise — the rows are the truth.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from segport.engine.ledger_schema import (
    UPSERT,
    migrate,
    now_iso,
    patched_snapshot,
    schema_version,
    snapshot_parquet,
)
from segport.engine.records import (
    ApiCall,
    BatchRecord,
    Delivered,
    Member,
    Rejection,
    RunRecord,
)
from segport.errors import SegportError


def committed_counts(tallies: Mapping[str, Mapping[str, int]]
                     ) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """A run record's ``counts`` and ``segments`` from :meth:`Ledger.run_tallies` alone (for a
    run whose process ended before it could total its plan and its batches)."""
    totals = dict.fromkeys(("sent", "accepted", "rejected", "failed", "removed"), 0)
    for tally in tallies.values():
        for key, value in tally.items():
            totals[key] = totals.get(key, 0) + value
    return totals, {segment: dict(tally) for segment, tally in tallies.items()}


class LedgerError(SegportError):
    """``segport.db`` cannot be read or written (damaged, full disk, permissions)."""


def _trouble(path: Path, exc: sqlite3.Error) -> LedgerError:
    return LedgerError(
        f"{path}: the workspace database cannot be used ({exc}). Check the disk and the file's "
        "permissions; if the file is damaged, move it aside and segport starts a new one — "
        "but forgets what was delivered, so the next run sends everything again.")


@contextlib.contextmanager
def _translated(path: Path) -> Iterator[None]:
    """SQLite's errors as a :class:`LedgerError` that says what to do."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise _trouble(path, exc) from exc


class Ledger:
    """``segport.db`` as the engine sees it. Thread-safe; use :meth:`open` to write."""

    def __init__(self, path: str | Path, *, writable: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if writable:
            with _translated(self.path):
                self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        """The write connection: WAL, full sync, tables created or upgraded."""
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            # First: switching a new workspace's database to WAL needs it to itself for a
            # moment, and a reader (runs list, plan, the TUI) must make it wait, not fail.
            db.execute("PRAGMA busy_timeout = 10000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    @classmethod
    def open(cls, path: str | Path) -> Ledger:
        """The ledger for writing: creates or upgrades its tables."""
        return cls(path, writable=True)

    @classmethod
    def reader(cls, path: str | Path) -> Ledger:
        """The ledger for reading only (planning): never creates or changes anything."""
        return cls(path, writable=False)

    @property
    def writable(self) -> bool:
        return self._db is not None

    def close(self) -> None:
        """Close the write connection (checkpointing the WAL)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- schema ------------------------------------------------------------------------------

    # --- reading -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """A connection that cannot write (None when there is no ledger yet)."""
        if not self.path.is_file():
            yield None
            return
        with _translated(self.path), self._read_connection() as db:
            yield db

    @contextlib.contextmanager
    def _read_connection(self) -> Iterator[sqlite3.Connection | None]:
        uri = self.path.resolve().as_uri()
        try:  # rw + query_only: SQLite removes the WAL files it made when we close
            db = sqlite3.connect(f"{uri}?mode=rw", uri=True, check_same_thread=False)
        except sqlite3.OperationalError:  # a read-only workspace
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
        try:
            db.execute("PRAGMA query_only = ON")
            db.execute("PRAGMA busy_timeout = 10000")
            yield db if schema_version(db) >= 1 else None
        finally:
            db.close()

    def _scope(self, db: sqlite3.Connection, export: str, segment: str) -> int | None:
        row = db.execute("SELECT id FROM ledger_scopes WHERE export = ? AND segment = ?",
                         (export, segment)).fetchone()
        return None if row is None else int(row[0])

    def iter_members(
        self, export: str, segment: str, batch_size: int = 50_000
    ) -> Iterator[list[tuple[str, int, str, int]]]:
        """The scope's members as lists of ``(email, fingerprint, list_id, added)``."""
        with self._reading() as db:
            if db is None or (scope := self._scope(db, export, segment)) is None:
                return
            cur = db.execute("SELECT email, fingerprint, list_id, added FROM ledger "
                             "WHERE scope = ?", (scope,))
            while rows := cur.fetchmany(batch_size):
                yield rows

    def snapshot(self, export: str, segment: str) -> bytes | None:
        """The scope's members as Parquet (email, fingerprint, list_id, added) when the stored
        snapshot is current, else None (read :meth:`iter_members` then)."""
        with self._reading() as db:
            if db is None:
                return None
            row = db.execute("SELECT s.data FROM ledger_snapshots s JOIN ledger_scopes c ON "
                             "c.id = s.scope WHERE c.export = ? AND c.segment = ? AND "
                             "s.version = c.version", (export, segment)).fetchone()
        return None if row is None else bytes(row[0])

    def has_members(self, export: str, segment: str) -> bool:
        """Whether the scope holds anyone (cheap: one index probe)."""
        with self._reading() as db:
            if db is None or (scope := self._scope(db, export, segment)) is None:
                return False
            return db.execute("SELECT 1 FROM ledger WHERE scope = ? LIMIT 1",
                              (scope,)).fetchone() is not None

    def members(self, export: str, segment: str) -> dict[str, Member]:
        """The scope's members by email (for small scopes and tests)."""
        return {e: Member(e, fp, lst, bool(added))
                for batch in self.iter_members(export, segment)
                for e, fp, lst, added in batch}

    def member_count(self, export: str, segment: str | None = None,
                     list_id: str | None = None) -> int:
        """Members of an export (one segment, and/or one list)."""
        sql = ("SELECT count(*) FROM ledger JOIN ledger_scopes s ON s.id = ledger.scope "
               "WHERE s.export = ?")
        args: list[object] = [export]
        if segment is not None:
            sql, args = sql + " AND s.segment = ?", [*args, segment]
        if list_id is not None:
            sql, args = sql + " AND ledger.list_id = ?", [*args, list_id]
        with self._reading() as db:
            return 0 if db is None else int(db.execute(sql, args).fetchone()[0])

    def run(self, run_id: int) -> RunRecord | None:
        """One run record."""
        found = self._runs("WHERE id = ?", (run_id,))
        return found[0] if found else None

    def runs(self, export: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The latest run records, newest first."""
        if export is None:
            return self._runs("ORDER BY id DESC LIMIT ?", (limit,))
        return self._runs("WHERE export = ? ORDER BY id DESC LIMIT ?", (export, limit))

    def _runs(self, tail: str, args: tuple[object, ...]) -> list[RunRecord]:
        with self._reading() as db:
            if db is None:
                return []
            rows = db.execute("SELECT id, export, who, connection, export_user, started_at, "
                              "finished_at, counts, outcome, detail, rejected_file, segments, "
                              "duration, connection_type FROM runs " + tail, args).fetchall()
        return [RunRecord(*r[:7], json.loads(r[7]), *r[8:11], json.loads(r[11]), *r[12:])
                for r in rows]

    def run_tallies(self, run_id: int) -> dict[str, dict[str, int]]:
        """Per segment, what a run's committed batches did: sent, accepted, rejected (the
        platform refused the row), failed (not delivered; a re-run sends it) and removed."""
        with self._reading() as db:
            return {} if db is None else self._tallies(db, run_id)

    @staticmethod
    def _tallies(db: sqlite3.Connection, run_id: int) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}

        def of(segment: str) -> dict[str, int]:
            return found.setdefault(segment, dict.fromkeys(
                ("sent", "accepted", "rejected", "failed", "removed"), 0))

        for segment, kind, sent, accepted in db.execute(
                "SELECT segment, kind, sum(sent), sum(accepted) FROM run_batches WHERE "
                "run_id = ? GROUP BY segment, kind ORDER BY min(id)", (run_id,)):
            tally = of(segment)
            tally["sent"] += sent
            tally["removed" if kind == "remove" else "accepted"] += accepted
        for segment, retryable, count in db.execute(
                "SELECT segment, retryable, count(*) FROM run_rejections WHERE run_id = ? "
                "GROUP BY segment, retryable", (run_id,)):
            of(segment)["failed" if retryable else "rejected"] += count
        return found

    def batches(self, run_id: int) -> list[BatchRecord]:
        """The batch outcomes of a run, in order."""
        with self._reading() as db:
            if db is None:
                return []
            rows = db.execute("SELECT id, run_id, segment, kind, list_id, sent, accepted, "
                              "rejected FROM run_batches WHERE run_id = ? ORDER BY id",
                              (run_id,)).fetchall()
        return [BatchRecord(*r) for r in rows]

    def rejections(self, run_id: int) -> list[tuple[str, Rejection]]:
        """``(segment, rejection)`` for every row the platform refused in a run."""
        with self._reading() as db:
            if db is None:
                return []
            rows = db.execute("SELECT segment, email, reason, key, retryable FROM "
                              "run_rejections WHERE run_id = ? ORDER BY rowid",
                              (run_id,)).fetchall()
        return [(s, Rejection(e, r, k, bool(t))) for s, e, r, k, t in rows]

    def api_calls(self, run_id: int) -> list[ApiCall]:
        """The API call log of a run, in order."""
        with self._reading() as db:
            if db is None:
                return []
            rows = db.execute("SELECT method, path, status, duration, attempt, at FROM "
                              "api_calls WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        return [ApiCall(*r) for r in rows]

    # --- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self._db is None:
            raise RuntimeError("this ledger was opened for reading; use Ledger.open to write")
        with self._lock, _translated(self.path):
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def start_run(self, export: str, who: str, connection: str | None,
                  export_user: str | None, started_at: str | None = None,
                  connection_type: str | None = None) -> int:
        """Open a run record; returns its id."""
        with self._transaction() as db:
            cur = db.execute("INSERT INTO runs (export, who, connection, export_user, "
                             "started_at, connection_type) VALUES (?, ?, ?, ?, ?, ?)",
                             (export, who, connection, export_user, started_at or now_iso(),
                              connection_type))
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, outcome: str, counts: Mapping[str, int], *,
                   detail: str | None = None, rejected_file: str | None = None,
                   finished_at: str | None = None,
                   segments: Mapping[str, Mapping[str, int]] | None = None,
                   duration: float | None = None) -> None:
        """Close a run record with its outcome and counts (totals, and per segment)."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, outcome = ?, counts = ?, detail = ?, "
                       "rejected_file = ?, segments = ?, duration = ? WHERE id = ?",
                       (finished_at or now_iso(), outcome, json.dumps(dict(counts)), detail,
                        rejected_file, json.dumps({k: dict(v) for k, v in
                                                   (segments or {}).items()}),
                        duration, run_id))

    def close_interrupted(self, export: str, detail: str) -> int:
        """Mark the export's runs still shown as running as failed (their process is gone:
        call this only while holding the export's run lock), with the counts of the batches
        they committed; returns how many."""
        with self._transaction() as db:
            stale = [r[0] for r in db.execute(
                "SELECT id FROM runs WHERE export = ? AND outcome = 'running'", (export,))]
            for run_id in stale:
                totals, segments = committed_counts(self._tallies(db, run_id))
                db.execute("UPDATE runs SET outcome = 'failed', detail = ?, finished_at = "
                           "coalesce(finished_at, ?), counts = ?, segments = ? WHERE id = ?",
                           (detail, now_iso(), json.dumps(totals), json.dumps(segments),
                            run_id))
            return len(stale)

    def _scope_id(self, db: sqlite3.Connection, export: str, segment: str) -> int:
        db.execute("INSERT OR IGNORE INTO ledger_scopes (export, segment) VALUES (?, ?)",
                   (export, segment))
        scope = self._scope(db, export, segment)
        assert scope is not None
        return scope

    def _batch(self, db: sqlite3.Connection, run_id: int, segment: str, kind: str,
               list_id: str | None, sent: int, accepted: int,
               rejected: Iterable[Rejection], calls: Iterable[ApiCall]) -> BatchRecord:
        refused = list(rejected)
        sent = max(sent, accepted + len(refused))
        cur = db.execute("INSERT INTO run_batches (run_id, segment, kind, list_id, sent, "
                         "accepted, rejected, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (run_id, segment, kind, list_id, sent, accepted, len(refused),
                          now_iso()))
        batch_id = int(cur.lastrowid or 0)
        db.executemany("INSERT INTO run_rejections (run_id, batch_id, segment, key, email, "
                       "reason, retryable) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       ((run_id, batch_id, segment, r.key, r.email, r.reason, int(r.retryable))
                        for r in refused))
        self._log(db, run_id, calls)
        return BatchRecord(batch_id, run_id, segment, kind, list_id, sent, accepted,
                           len(refused))

    @staticmethod
    def _log(db: sqlite3.Connection, run_id: int, calls: Iterable[ApiCall]) -> None:
        db.executemany("INSERT INTO api_calls (run_id, at, method, path, status, duration, "
                       "attempt) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       ((run_id, c.at, c.method, c.path, c.status, c.duration, c.attempt)
                        for c in calls))

    def record_batch(self, run_id: int, export: str, segment: str, list_id: str, *,
                     kind: str, accepted: Iterable[Delivered],
                     rejected: Iterable[Rejection] = (), calls: Iterable[ApiCall] = (),
                     sent: int = 0) -> BatchRecord:
        """Commit an acknowledged upsert batch: accepted rows into the ledger, plus the batch
        outcome, its rejections and API calls — all in one transaction, or nothing."""
        with self._transaction() as db:
            scope = self._scope_id(db, export, segment)
            count = 0

            def rows() -> Iterator[tuple[object, ...]]:
                nonlocal count
                for d in accepted:
                    count += 1
                    yield (scope, d.email, d.fingerprint, list_id, int(d.added), run_id)

            db.executemany(UPSERT, rows())
            db.execute("UPDATE ledger_scopes SET version = version + 1 WHERE id = ?", (scope,))
            return self._batch(db, run_id, segment, kind, list_id, sent, count, rejected, calls)

    def remove_members(self, run_id: int, export: str, segment: str, *,
                       removed: Iterable[str], rejected: Iterable[Rejection] = (),
                       calls: Iterable[ApiCall] = (), list_id: str | None = None,
                       sent: int = 0) -> BatchRecord:
        """Commit an acknowledged removal batch: forget the removed emails, record the outcome.

        With ``list_id``, the emails are forgotten on that list for every segment of the export
        (off the list is off it for all of them: a member who moved between two segments of one
        list is in both their ledgers)."""
        with self._transaction() as db:
            scope = self._scope_id(db, export, segment)
            count = 0

            def rows() -> Iterator[tuple[object, ...]]:
                nonlocal count
                for email in removed:
                    count += 1
                    yield (scope, email, list_id, export)

            db.executemany("DELETE FROM ledger WHERE email = ?2 AND (scope = ?1 OR (list_id = ?3 "
                           "AND scope IN (SELECT id FROM ledger_scopes WHERE export = ?4)))",
                           rows())
            db.execute("UPDATE ledger_scopes SET version = version + 1 WHERE id = ? OR "
                       "(? IS NOT NULL AND export = ?)", (scope, list_id, export))
            return self._batch(db, run_id, segment, "remove", list_id, sent, count, rejected,
                               calls)

    def refresh_snapshots(self, export: str, batch_size: int = 100_000, *,
                          run_id: int | None = None) -> int:
        """Store a current snapshot of every scope of ``export`` whose snapshot is stale;
        returns how many were written. Call it when a run ends (it reads every member).

        Given the ``run_id`` of the run that just ended, a scope whose stale snapshot was
        current when that run began, and written since only by that run's upsert batches, is
        patched instead: the old snapshot with the rows the run wrote put in place (they carry
        its ``run_id``). A 1 % re-run of a million members then reads ten thousand rows, not
        a million. Anything else — removals, another writer, a snapshot older than the run, a
        run that changed most members — reads every member, as without ``run_id``."""
        written = 0
        with self._transaction() as db:
            stale = db.execute("SELECT c.id, c.segment, c.version, s.version, s.members FROM "
                               "ledger_scopes c LEFT JOIN ledger_snapshots s ON s.scope = c.id "
                               "WHERE c.export = ? AND (s.version IS NULL OR "
                               "s.version <> c.version)", (export,)).fetchall()
            for scope, segment, version, old_version, old_members in stale:
                found = None
                if run_id is not None and old_version is not None and self._only_upserts(
                        db, run_id, segment, version - old_version):
                    old = db.execute("SELECT data FROM ledger_snapshots WHERE scope = ?",
                                     (scope,)).fetchone()[0]
                    found = patched_snapshot(bytes(old), db.execute(
                        "SELECT email, fingerprint, list_id, added FROM ledger WHERE scope = ? "
                        "AND run_id = ?", (scope, run_id)), batch_size, old_members // 2)
                data, members = found or snapshot_parquet(db.execute(
                    "SELECT email, fingerprint, list_id, added FROM ledger WHERE scope = ?",
                    (scope,)), batch_size)
                db.execute("INSERT OR REPLACE INTO ledger_snapshots (scope, version, members, "
                           "data) VALUES (?, ?, ?, ?)", (scope, version, members, data))
                written += 1
        return written

    @staticmethod
    def _only_upserts(db: sqlite3.Connection, run_id: int, segment: str, writes: int) -> bool:
        """Whether the ``writes`` version bumps of a scope since its snapshot are exactly the
        run's upsert batches of that segment (each bumps its scope once), and the run removed
        nobody (a removal may bump, and delete from, the export's other scopes too)."""
        batches, removals = db.execute(
            "SELECT count(*) FILTER (WHERE segment = ? AND kind <> 'remove'), "
            "count(*) FILTER (WHERE kind = 'remove') FROM run_batches WHERE run_id = ?",
            (segment, run_id)).fetchone()
        return removals == 0 and batches == writes

    def log_calls(self, run_id: int, calls: Iterable[ApiCall]) -> None:
        """Append API calls to a run's log (outside any batch: validation, list lookups)."""
        with self._transaction() as db:
            self._log(db, run_id, calls)

