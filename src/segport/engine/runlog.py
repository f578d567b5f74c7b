"""The run records in ``segport.db``: runs, their batch outcomes, refused rows and API calls.

:class:`RunLog` opens and closes run records and reads them back; it also writes a batch's
outcome (:meth:`RunLog._batch`) on the connection of the transaction that commits the batch's
ledger rows (:mod:`segport.engine.ledger`), so the two land together or not at all.
:func:`committed_counts` totals a run from its committed batches alone.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping

from segport.engine.ledger_schema import now_iso
from segport.engine.records import ApiCall, BatchRecord, Rejection, RunRecord
from segport.engine.store import Store


def committed_counts(tallies: Mapping[str, Mapping[str, int]]
                     ) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """A run record's ``counts`` and ``segments`` from :meth:`Ledger.run_tallies` alone (for a
    run whose process ended before it could total its plan and its batches)."""
    totals = dict.fromkeys(("sent", "accepted", "rejected", "failed", "removed"), 0)
    for tally in tallies.values():
        for key, value in tally.items():
            totals[key] = totals.get(key, 0) + value
    return totals, {segment: dict(tally) for segment, tally in tallies.items()}


class RunLog(Store):
    """Run records, batch outcomes and the API call log, on the store's connections."""

    # --- reading -----------------------------------------------------------------------------

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

    def set_duration(self, run_id: int, duration: float) -> None:
        """The run's whole duration, once its end-of-run work (snapshots) is done too."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET duration = ? WHERE id = ?", (duration, run_id))

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

    def log_calls(self, run_id: int, calls: Iterable[ApiCall]) -> None:
        """Append API calls to a run's log (outside any batch: validation, list lookups)."""
        with self._transaction() as db:
            self._log(db, run_id, calls)

    def _batch(self, db: sqlite3.Connection, run_id: int, segment: str, kind: str,
               list_id: str | None, sent: int, accepted: int,
               rejected: Iterable[Rejection], calls: Iterable[ApiCall]) -> BatchRecord:
        """Record a batch's outcome, refused rows and API calls on ``db`` — inside the
        caller's transaction, the one that commits the batch's ledger rows."""
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
