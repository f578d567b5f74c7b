"""The plan's private DuckDB: stage rows, load the ledger, dedupe, diff, spool the work.

All normalising, validating, deduping and diffing is SQL over Arrow batches, so every source is
treated alike and nothing is held per row in Python. Tables (in memory, spilling to the plan's
temporary folder past the memory limit):

- ``rows``: every row read (``ord`` is the row's position across the export, segment after
  segment) with its normalised email, validity, match key (``h1``, ``h2``) and canonical
  field values (``f_<field>``); ``bad``: invalid rows' emails as read;
- ``ledger_<i>``: a view of segment *i*'s ledger scope (key, email, fingerprint, on the target
  list, added) over its snapshot file or its rows copied in (``ledger_rows_<i>``);
- ``cls``: each valid row's outcome (``KIND_CODES``), new fingerprint of updates, first key of
  duplicates; ``removals``: mirror-mode removals; ``problems``: rows kept back, with reasons.

Within a plan, emails are matched and grouped by a 128-bit key — two DuckDB hashes, of the
email and of the email with a suffix — far cheaper than comparing text (a false match needs
both 64-bit hashes to collide at once). Fingerprints are computed only where they are compared
(rows already in the ledger) and, for adds, when apply reads them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from segport.engine import emails
from segport.engine.canon import sql_email_key, sql_field, sql_fingerprint
from segport.engine.ledger import Ledger
from segport.engine.ledger_schema import KEY_PROBE, SNAPSHOT_SCHEMA, key_probe
from segport.engine.spool import KIND_CODES, Counts, Sample
from segport.sources.duck import sql_string

SAMPLES = 5
#: Each chunk is scanned as this many Arrow batches, so DuckDB transforms it in parallel.
SPLIT = 2


def connect(spool: Path, memory_limit: str, threads: int) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to ``spool`` past ``memory_limit``."""
    return duckdb.connect(":memory:", config={
        "threads": threads, "memory_limit": memory_limit,
        "temp_directory": str(spool / "duckdb"), "preserve_insertion_order": False,
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
    })


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor (for another thread, or a result read while other statements run)."""
    return con.cursor()


def fetch(con: duckdb.DuckDBPyConnection, sql: str, args: Sequence[object] = ()) -> list[tuple]:
    """Execute and fetch everything (DuckDB wants every result consumed)."""
    return con.execute(sql, list(args)).fetchall()


class LedgerLoader(threading.Thread):
    """Makes each segment's ledger scope the view ``ledger_<i>`` while the source is read: over
    its current snapshot (a Parquet file in the spool), else over its rows copied in."""

    def __init__(self, con: duckdb.DuckDBPyConnection, ledger: Ledger | None, export: str,
                 segments: Sequence[str], targets: Sequence[str | None], spool: Path) -> None:
        super().__init__(name="segport-ledger-loader", daemon=True)
        self._spool = spool
        self._cur = cursor(con)
        self._ledger, self._export = ledger, export
        self._segments, self._targets = segments, targets
        self._ready = [threading.Event() for _ in segments]
        self._halt = threading.Event()
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            for i, (segment, target) in enumerate(zip(self._segments, self._targets,
                                                      strict=True)):
                path = self._spool / f"ledger_{i}.parquet"
                blob = None if self._ledger is None else self._ledger.snapshot(self._export,
                                                                               segment)
                if blob is not None:
                    path.write_bytes(blob)
                    del blob
                    keyed, relation = self._keyed(path), f"read_parquet({sql_string(path)})"
                else:
                    keyed, relation = False, self._copy_rows(i, segment)
                on_target = "true" if target is None else f"list_id = {sql_string(target)}"
                h1, h2 = ("h1", "h2") if keyed else sql_email_key("email")
                fetch(self._cur, f"CREATE VIEW ledger_{i} AS SELECT {h1} AS h1, {h2} AS h2, "
                      f"email, fingerprint AS fp, {on_target} AS on_target, added <> 0 AS added "
                      f"FROM {relation}")
                self._ready[i].set()
        except BaseException as exc:  # handed to the waiting thread
            self._error = exc
        finally:
            for event in self._ready:
                event.set()
            self._cur.close()

    def _keyed(self, path: Path) -> bool:
        """Whether the file carries keys this DuckDB would compute (a snapshot's do, unless
        another DuckDB version wrote it)."""
        found = fetch(self._cur, "SELECT value FROM parquet_kv_metadata(?) WHERE key = ?",
                      [str(path), KEY_PROBE])
        return bool(found) and bytes(found[0][0]).decode() == key_probe(self._cur)

    def _copy_rows(self, i: int, segment: str) -> str:
        """The scope read row by row (no current snapshot) into a table; returns its name."""
        table = f"ledger_rows_{i}"
        fetch(self._cur, f"CREATE TABLE {table} (email VARCHAR, fingerprint BIGINT, "
              "list_id VARCHAR, added TINYINT)")
        rows = [] if self._ledger is None else self._ledger.iter_members(self._export, segment,
                                                                         20_000)
        for batch in rows:
            if self._halt.is_set():
                break
            columns = zip(*batch, strict=True)
            self._cur.register("ledger_batch", pa.record_batch(
                [pa.array(c, t) for c, t in zip(columns, SNAPSHOT_SCHEMA.types, strict=True)],
                schema=SNAPSHOT_SCHEMA))
            try:
                fetch(self._cur, f"INSERT INTO {table} SELECT * FROM ledger_batch")
            finally:
                self._cur.unregister("ledger_batch")
        return table

    def wait(self, i: int) -> None:
        """Block until segment ``i``'s ledger is loaded; re-raise the loader's error."""
        self._ready[i].wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._halt.set()
        self.join()


class Work:
    """Stages and classifies rows; knows the mapped optional ``fields``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, fields: Sequence[str]) -> None:
        self.con, self.fields = con, tuple(fields)
        cols = "".join(f", f_{n} VARCHAR" for n in self.fields)
        fetch(con, f"CREATE TABLE rows (ord BIGINT, seg USMALLINT, key VARCHAR, email VARCHAR, "
              f"valid BOOLEAN, h1 UBIGINT, h2 UBIGINT, fp BIGINT{cols})")
        fetch(con, "CREATE TABLE bad (ord BIGINT, seg USMALLINT, key VARCHAR, raw VARCHAR)")
        fetch(con, "CREATE TABLE cls (seg USMALLINT, ord BIGINT, kind UTINYINT, fp BIGINT, "
              "first_key VARCHAR)")
        fetch(con, "CREATE TABLE removals (seg USMALLINT, email VARCHAR, fp BIGINT)")
        fetch(con, "CREATE TABLE problems (seg USMALLINT, ord BIGINT, key VARCHAR, "
              "value VARCHAR, reason VARCHAR)")
        self.next_ord = 0
        self._fout = "".join(f", f_{n}" for n in self.fields)

    def insert_sql(self, si: int, key: int | None, email: int, fields: Sequence[int],
                   fingerprints: bool) -> str:
        """The INSERT staging a chunk registered as ``chunk`` (source columns ``c<i>``, and
        ``o``, each row's ``ord``): normalised, validated, keyed, fields canonicalised, and
        fingerprinted when asked (when the ledger has members to compare with; otherwise
        apply's read computes them, see :meth:`Plan.changes`)."""
        key_sql = "NULL" if key is None else f"CAST(c{key} AS VARCHAR)"
        fsel = "".join(f", {sql_field(f'c{p}')} AS f_{n}"
                       for n, p in zip(self.fields, fields, strict=True))
        h1, h2 = sql_email_key("email")
        fp = sql_fingerprint({n: f"f_{n}" for n in self.fields}) if fingerprints else "NULL"
        return (f"INSERT INTO rows SELECT o, {si}, key, "
                f"email, valid, CASE WHEN valid THEN {h1} END, CASE WHEN valid THEN {h2} END, "
                f"CASE WHEN valid THEN {fp} END{self._fout} FROM "
                f"(SELECT *, {emails.sql_valid('email')} AS valid "
                f"FROM (SELECT o, {key_sql} AS key, "
                f"{emails.sql_normalise(f'c{email}')} AS email{fsel} FROM chunk))")

    def stage(self, si: int, sql: str, key: int | None, email: int, batch: pa.RecordBatch
              ) -> int:
        """Stage one chunk with ``sql`` (:meth:`insert_sql`), keeping invalid emails as read
        (source column ``email``) in ``bad``; returns how many rows are invalid."""
        con, start, n = self.con, self.next_ord, batch.num_rows
        key_sql = "NULL" if key is None else f"CAST(c{key} AS VARCHAR)"
        table = pa.Table.from_batches([batch]).append_column(
            "o", pa.array(range(start, start + n), pa.int64()))
        con.register("chunk", pa.Table.from_batches(table.to_batches(-(-n // SPLIT))))
        try:
            fetch(con, sql)
            fetch(con, f"INSERT INTO bad SELECT o, {si}, {key_sql}, CAST(c{email} AS VARCHAR) "
                  "FROM chunk WHERE o IN (SELECT ord FROM rows WHERE ord >= ? AND NOT valid)",
                  [start])
        finally:
            con.unregister("chunk")
        self.next_ord += n
        found = fetch(con, "SELECT count(*) FROM bad WHERE ord >= ?", [start])
        return int(found[0][0])

    def classify(self, si: int, peers: Sequence[int]) -> None:
        """Dedupe segment ``si`` against itself and the segments read before it that go to the
        same list (``peers``, ``si`` among them), diff it with its ledger, and spool its
        problems."""
        con = self.con
        marks = ", ".join(str(i) for i in sorted({*peers, si}))
        fetch(con, "CREATE OR REPLACE TEMP TABLE dups AS SELECT c.h1, c.h2, c.first_ord, "
              "r.key AS first_key FROM (SELECT h1, h2, min(ord) AS first_ord FROM rows "
              f"WHERE valid AND seg IN ({marks}) GROUP BY h1, h2 HAVING count(*) > 1) c "
              "JOIN rows r ON r.ord = c.first_ord")
        fetch(con, f"""
            INSERT INTO cls
            SELECT seg, ord, kind, NULL,
                   CASE WHEN kind = 3 THEN coalesce(first_key, '#' || first_ord) END
            FROM (SELECT m.seg, m.ord, m.first_key, m.first_ord,
                         CASE WHEN m.is_dup THEN 3 WHEN l.fp IS NULL THEN 1
                              WHEN l.fp IS DISTINCT FROM m.fp THEN 2 ELSE 0 END AS kind
                  FROM (SELECT r.seg, r.ord, r.h1, r.h2, r.fp, d.first_key, d.first_ord,
                               d.h1 IS NOT NULL AND r.ord <> d.first_ord AS is_dup
                        FROM rows r LEFT JOIN dups d ON d.h1 = r.h1 AND d.h2 = r.h2
                        WHERE r.seg = ? AND r.valid) m
                  LEFT JOIN (SELECT h1, h2, fp FROM ledger_{si} WHERE on_target) l
                         ON l.h1 = m.h1 AND l.h2 = m.h2 AND NOT m.is_dup)""", [si])
        fetch(con, "INSERT INTO problems SELECT c.seg, c.ord, r.key, r.email, 'duplicate of ' || "
            "c.first_key FROM cls c JOIN rows r ON r.ord = c.ord WHERE c.seg = ? AND c.kind = 3",
            [si])
        self._invalid_reasons(si)

    def spool_removals(self, si: int, group: Sequence[int]) -> None:
        """Mirror mode: segment ``si``'s ledger members that segport added to the target list
        and that no segment of the same list (``group``) holds any more — each email once per
        list (a member who moved between two segments of the list is in both their ledgers:
        one removal takes it off the list, and the ledger forgets it for every segment)."""
        marks = ", ".join(str(i) for i in group)
        fetch(self.con, f"INSERT INTO removals SELECT ?, l.email, l.fp FROM ledger_{si} l "
            "WHERE l.on_target AND l.added AND NOT EXISTS (SELECT 1 FROM rows r "
            f"WHERE r.seg IN ({marks}) AND r.valid AND r.h1 = l.h1 AND r.h2 = l.h2) "
            f"AND NOT EXISTS (SELECT 1 FROM removals x WHERE x.seg IN ({marks}) "
            "AND x.email = l.email)", [si])

    def _invalid_reasons(self, si: int) -> None:
        cur = cursor(self.con)
        try:
            cur.execute("SELECT ord, key, raw FROM bad WHERE seg = ?", [si])
            while rows := cur.fetchmany(50_000):
                ords, keys, raws = zip(*rows, strict=True)
                reasons = [emails.check(raw)[1] or "invalid email" for raw in raws]
                table = pa.table({"ord": pa.array(ords, pa.int64()),
                                  "key": pa.array(keys, pa.string()),
                                  "value": pa.array(raws, pa.string()),
                                  "reason": pa.array(reasons, pa.string())})
                self.con.register("reasons", table)
                try:
                    fetch(self.con, "INSERT INTO problems SELECT ?, ord, key, value, reason "
                        "FROM reasons", [si])
                finally:
                    self.con.unregister("reasons")
        finally:
            cur.close()

    def counts(self, si: int, read: int, invalid: int) -> Counts:
        by_kind = dict(fetch(self.con, "SELECT kind, count(*) FROM cls WHERE seg = ? "
                           "GROUP BY kind", [si]))
        removals = fetch(self.con, "SELECT count(*) FROM removals WHERE seg = ?", [si])[0][0]
        return Counts(read=read, invalid=invalid, duplicates=by_kind.get(3, 0),
                      adds=by_kind.get(1, 0), updates=by_kind.get(2, 0),
                      unchanged=by_kind.get(0, 0), removals=int(removals))

    def samples(self, si: int) -> dict[str, tuple[Sample, ...]]:
        """The first few rows of each outcome (source order)."""
        found: dict[str, tuple[Sample, ...]] = {}
        fields = "".join(f", f_{n}" for n in self.fields)
        for kind in ("add", "update", "unchanged"):
            ords = [r[0] for r in fetch(self.con, "SELECT ord FROM cls WHERE seg = ? AND "
                                      f"kind = ? ORDER BY ord LIMIT {SAMPLES}",
                                      [si, KIND_CODES[kind]])]
            rows = fetch(self.con, f"SELECT key, email{fields} FROM rows WHERE ord IN "
                       f"(SELECT unnest(?::BIGINT[])) ORDER BY ord", [ords]) if ords else []
            found[kind] = tuple(Sample(r[0], r[1], self._detail(r[2:])) for r in rows)
        found["remove"] = tuple(Sample(None, r[0]) for r in fetch(
            self.con, f"SELECT email FROM removals WHERE seg = ? ORDER BY email "
            f"LIMIT {SAMPLES}", [si]))
        for label, test in (("invalid", "NOT"), ("duplicate", "")):
            found[label] = tuple(Sample(k, v, why) for k, v, why in fetch(
                self.con, f"SELECT key, value, reason FROM problems WHERE seg = ? AND "
                f"{test} starts_with(reason, 'duplicate of ') ORDER BY ord LIMIT {SAMPLES}",
                [si]))
        return found

    def _detail(self, values: Sequence[object]) -> str | None:
        shown = [f"{n}={v}" for n, v in zip(self.fields, values, strict=True) if v is not None]
        return ", ".join(shown) or None

    def list_size(self, segments: Sequence[int]) -> int:
        """Distinct ledger members on the target list across ``segments``."""
        union = " UNION ".join(f"SELECT h1, h2 FROM ledger_{i} WHERE on_target"
                               for i in segments)
        return int(fetch(self.con, f"SELECT count(*) FROM ({union})")[0][0])

    def removals_in(self, segments: Sequence[int]) -> int:
        marks = ", ".join(str(i) for i in segments)
        return int(fetch(self.con, f"SELECT count(*) FROM removals WHERE seg IN ({marks})")[0][0])

    def drop_ledgers(self, count: int) -> None:
        for i in range(count):
            fetch(self.con, f"DROP VIEW IF EXISTS ledger_{i}")
            fetch(self.con, f"DROP TABLE IF EXISTS ledger_rows_{i}")
        fetch(self.con, "DROP TABLE IF EXISTS dups")

