"""The membership ledger in ``segport.db``: what each export last delivered.

Per (export, segment) — a *scope* — the ledger holds, for every normalised email the platform
**accepted**, the fingerprint of the fields sent (:mod:`segport.engine.canon`), the list it went
to, and whether segport itself added that membership (mirror mode removes only those).

Writes happen per acknowledged batch: :meth:`Ledger.record_batch` and
:meth:`Ledger.remove_members` commit the ledger rows, the batch's outcome, its rejected rows
and its API calls in ONE transaction (SQLite, WAL, ``synchronous=FULL``): a crash between two
batches loses nothing and resends nothing acknowledged.

Each batch of adds is written down as sent (``sent_unconfirmed``, one row a batch) before it
goes out, and forgotten with its answer: a later run that finds such a row on the list (the
platform took it, the answer was lost) knows segport put it there.

Snapshots: every write bumps its scope's ``version``. :meth:`Ledger.refresh_snapshots` (run by
apply when a run ends) stores each scope's members as one Parquet blob tagged with that
version; the plan reads a scope through its snapshot when the versions still match (one blob
instead of a million rows through Python), and row by row otherwise — the rows are the truth.

:class:`Ledger` is the one class callers use: connections and errors come from
:mod:`segport.engine.store` (:class:`LedgerError`), run records from
:mod:`segport.engine.runlog` (:func:`committed_counts`); both are re-exported here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence

from segport.engine.ledger_schema import UPSERT, patched_snapshot, snapshot_parquet
from segport.engine.records import ApiCall, BatchRecord, Delivered, Member, Rejection
from segport.engine.runlog import RunLog, committed_counts
from segport.engine.store import LedgerError

__all__ = ["Ledger", "LedgerError", "committed_counts"]


class Ledger(RunLog):
    """``segport.db`` as the engine sees it. Thread-safe; use :meth:`open` to write."""

    # --- reading -----------------------------------------------------------------------------

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

    # --- writing -----------------------------------------------------------------------------

    def _scope_id(self, db: sqlite3.Connection, export: str, segment: str) -> int:
        db.execute("INSERT OR IGNORE INTO ledger_scopes (export, segment) VALUES (?, ?)",
                   (export, segment))
        scope = self._scope(db, export, segment)
        assert scope is not None
        return scope

    def record_batch(self, run_id: int, export: str, segment: str, list_id: str, *,
                     kind: str, accepted: Iterable[Delivered],
                     rejected: Iterable[Rejection] = (), calls: Iterable[ApiCall] = (),
                     sent: int = 0, marks: Mapping[int, Sequence[str]] | None = None,
                     ) -> BatchRecord:
        """Commit an acknowledged upsert batch: accepted rows into the ledger, plus the batch
        outcome, its rejections and API calls — all in one transaction, or nothing. ``marks``:
        the run's :meth:`mark_sent` batches it answered → their rows still without a definite
        answer (none: the mark is forgotten)."""
        with self._transaction() as db:
            scope = self._scope_id(db, export, segment)
            count = 0

            def rows() -> Iterator[tuple[object, ...]]:
                nonlocal count
                for d in accepted:
                    count += 1
                    yield (scope, d.email, d.fingerprint, list_id, int(d.added), run_id)

            db.executemany(UPSERT, rows())
            for mark, left in (marks or {}).items():
                where = (export, run_id, mark)
                if left:
                    db.execute("UPDATE sent_unconfirmed SET emails = ? WHERE export = ? AND "
                               "run_id = ? AND batch = ?", ("\n".join(left), *where))
                else:
                    db.execute("DELETE FROM sent_unconfirmed WHERE export = ? AND run_id = ? "
                               "AND batch = ?", where)
            db.execute("UPDATE ledger_scopes SET version = version + 1 WHERE id = ?", (scope,))
            return self._batch(db, run_id, segment, kind, list_id, sent, count, rejected, calls)

    def mark_sent(self, export: str, list_id: str, run_id: int, batch: int,
                  emails: Sequence[str]) -> None:
        """Remember that the run's ``batch`` of adds goes to the list before the platform
        answers: should the answer never be recorded (a crash, a late answer), a later run that
        finds them on the list knows segport put them there (one row a batch: cheap)."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO sent_unconfirmed (export, run_id, batch, list_id, "
                       "emails) VALUES (?, ?, ?, ?, ?)",
                       (export, run_id, batch, list_id, "\n".join(emails)))

    def sent_unconfirmed(self, export: str, list_id: str) -> set[str]:
        """Emails the export sent to the list as adds with no answer recorded."""
        with self._reading() as db:
            if db is None:
                return set()
            rows = db.execute("SELECT emails FROM sent_unconfirmed WHERE export = ? AND "
                              "list_id = ?", (export, list_id)).fetchall()
        return {email for (emails,) in rows for email in emails.split("\n")}

    def people_on_list(self, export: str, list_id: str) -> int:
        """How many people the export's ledger has on the list (each once, whatever segment)."""
        with self._reading() as db:
            if db is None:
                return 0
            return int(db.execute(
                "SELECT count(DISTINCT l.email) FROM ledger l JOIN ledger_scopes s ON "
                "s.id = l.scope WHERE s.export = ? AND l.list_id = ?",
                (export, list_id)).fetchone()[0])

    def added_among(self, export: str, list_id: str, emails: Sequence[str]) -> set[str]:
        """Which of ``emails`` the export itself put on the list (for any of its segments)."""
        found: set[str] = set()
        with self._reading() as db:
            for start in range(0, 0 if db is None else len(emails), 500):
                chunk = emails[start:start + 500]
                found.update(row[0] for row in db.execute(  # type: ignore[union-attr]
                    "SELECT l.email FROM ledger l JOIN ledger_scopes s ON s.id = l.scope WHERE "
                    f"s.export = ? AND l.list_id = ? AND l.added <> 0 AND l.email IN "
                    f"({','.join('?' * len(chunk))})", (export, list_id, *chunk)))
        return found

    def forget_sent(self, export: str) -> None:
        """Every add of the export has its answer recorded (a run with no failed row): the
        marks of unanswered batches of earlier runs have served."""
        with self._transaction() as db:
            db.execute("DELETE FROM sent_unconfirmed WHERE export = ?", (export,))

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
