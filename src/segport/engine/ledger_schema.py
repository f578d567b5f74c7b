"""The engine's tables in ``segport.db`` (versioned in ``meta``) and the snapshot format."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from segport.engine.canon import sql_email_key
from segport.errors import ConfigError

SCHEMA_KEY = "engine_schema"
SCHEMA_VERSION = 3
META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE ledger_scopes (
        id INTEGER PRIMARY KEY, export TEXT NOT NULL, segment TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0, UNIQUE (export, segment));
    CREATE TABLE ledger_snapshots (
        scope INTEGER PRIMARY KEY REFERENCES ledger_scopes (id), version INTEGER NOT NULL,
        members INTEGER NOT NULL, data BLOB NOT NULL);
    CREATE TABLE ledger (
        scope INTEGER NOT NULL REFERENCES ledger_scopes (id),
        email TEXT NOT NULL, fingerprint INTEGER NOT NULL, list_id TEXT NOT NULL,
        added INTEGER NOT NULL, run_id INTEGER,
        PRIMARY KEY (scope, email)) WITHOUT ROWID;
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY, export TEXT NOT NULL, who TEXT NOT NULL, connection TEXT,
        export_user TEXT, started_at TEXT NOT NULL, finished_at TEXT,
        counts TEXT NOT NULL DEFAULT '{}', outcome TEXT NOT NULL DEFAULT 'running',
        detail TEXT, rejected_file TEXT);
    CREATE INDEX runs_export ON runs (export, id);
    CREATE TABLE run_batches (
        id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs (id),
        segment TEXT NOT NULL, kind TEXT NOT NULL, list_id TEXT, sent INTEGER NOT NULL,
        accepted INTEGER NOT NULL, rejected INTEGER NOT NULL, recorded_at TEXT NOT NULL);
    CREATE INDEX run_batches_run ON run_batches (run_id);
    CREATE TABLE run_rejections (
        run_id INTEGER NOT NULL, batch_id INTEGER NOT NULL, segment TEXT NOT NULL,
        key TEXT, email TEXT NOT NULL, reason TEXT NOT NULL, retryable INTEGER NOT NULL);
    CREATE INDEX run_rejections_run ON run_rejections (run_id);
    CREATE TABLE api_calls (
        id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, at TEXT, method TEXT NOT NULL,
        path TEXT NOT NULL, status INTEGER, duration REAL NOT NULL, attempt INTEGER NOT NULL);
    CREATE INDEX api_calls_run ON api_calls (run_id);
    """,
    2: """
    ALTER TABLE runs ADD COLUMN segments TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE runs ADD COLUMN duration REAL;
    ALTER TABLE runs ADD COLUMN connection_type TEXT;
    """,
    3: """
    CREATE TABLE sent_unconfirmed (
        export TEXT NOT NULL, run_id INTEGER NOT NULL, batch INTEGER NOT NULL,
        list_id TEXT NOT NULL, emails TEXT NOT NULL, PRIMARY KEY (export, run_id, batch));
    """,
}
UPSERT = """
INSERT INTO ledger (scope, email, fingerprint, list_id, added, run_id) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (scope, email) DO UPDATE SET
    fingerprint = excluded.fingerprint, run_id = excluded.run_id,
    added = CASE WHEN ledger.list_id = excluded.list_id THEN max(ledger.added, excluded.added)
                 ELSE excluded.added END,
    list_id = excluded.list_id
"""


def now_iso() -> str:
    """The current UTC time, to the millisecond, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def schema_version(db: sqlite3.Connection) -> int:
    """The engine schema version of an open database (0 when none)."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (SCHEMA_KEY,)).fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(row[0]) if row else 0


def migrate(db: sqlite3.Connection) -> None:
    """Create or upgrade the engine's tables (one transaction)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(META)
        current = schema_version(db)
        if current > SCHEMA_VERSION:
            raise ConfigError(f"segport.db was written by a newer segport (engine schema "
                              f"{current}); upgrade segport to use this workspace.")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[version].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                       (SCHEMA_KEY, str(version)))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


SNAPSHOT_SCHEMA = pa.schema([("email", pa.string()), ("fingerprint", pa.int64()),
                             ("list_id", pa.string()), ("added", pa.int8())])
#: Parquet metadata key: the in-plan key of a probe email, telling whether the stored keys were
#: computed by a DuckDB that hashes like the running one.
KEY_PROBE = b"segport_key_probe"
PROBE_EMAIL = "probe@segport.invalid"


def key_probe(con: duckdb.DuckDBPyConnection) -> str:
    """The in-plan key of :data:`PROBE_EMAIL` as this DuckDB computes it."""
    h1, h2 = sql_email_key("e")
    row = con.execute(f"SELECT {h1}, {h2} FROM (SELECT ? AS e)", [PROBE_EMAIL]).fetchall()[0]
    return f"{row[0]}:{row[1]}"


#: Parquet writer settings of snapshots: dictionaries only where values repeat (emails and their
#: keys are unique: a dictionary there costs time and bytes).
SNAPSHOT_WRITER = {"compression": "zstd", "use_dictionary": ["list_id", "added"]}


def _keyed(con: duckdb.DuckDBPyConnection, rows: list[tuple[object, ...]]) -> pa.Table:
    """Ledger rows ``(email, fingerprint, list_id, added)`` with their in-plan keys."""
    h1, h2 = sql_email_key("email")
    columns = zip(*rows, strict=True) if rows else [[]] * len(SNAPSHOT_SCHEMA)
    batch = pa.record_batch(
        [pa.array(c, t) for c, t in zip(columns, SNAPSHOT_SCHEMA.types, strict=True)],
        schema=SNAPSHOT_SCHEMA)
    con.register("batch", batch)
    try:
        return con.sql(f"SELECT *, {h1} AS h1, {h2} AS h2 FROM batch").to_arrow_table()
    finally:
        con.unregister("batch")


def snapshot_parquet(cursor: sqlite3.Cursor, batch_size: int) -> tuple[bytes, int]:
    """Rows ``(email, fingerprint, list_id, added)`` as Parquet bytes — with each email's
    in-plan key (``h1``, ``h2``) and the key probe, so plans skip hashing — and how many."""
    import pyarrow.parquet as pq  # only when writing snapshots

    con = duckdb.connect(config={"threads": 1})
    sink = pa.BufferOutputStream()
    members = 0
    try:
        probe = key_probe(con)
        writer: pq.ParquetWriter | None = None
        while True:
            rows = cursor.fetchmany(batch_size)
            keyed = _keyed(con, rows)
            if writer is None:
                schema = keyed.schema.with_metadata({KEY_PROBE: probe.encode()})
                writer = pq.ParquetWriter(sink, schema, **SNAPSHOT_WRITER)
            writer.write_table(keyed.cast(schema))
            members += len(rows)
            if len(rows) < batch_size:
                break
        writer.close()
    finally:
        con.close()
    return sink.getvalue().to_pybytes(), members


def patched_snapshot(old: bytes, changed: sqlite3.Cursor, batch_size: int,
                     max_changed: int) -> tuple[bytes, int] | None:
    """The snapshot ``old`` with the rows ``changed`` (``email, fingerprint, list_id, added``)
    in place of its rows of the same emails, or added — as Parquet bytes, and how many members
    it holds. None when patching would not do: ``old`` cannot be read, holds keys another
    DuckDB computed, or more than ``max_changed`` rows changed (reading every member is then
    about as quick).

    The caller makes sure ``changed`` are the only rows written since ``old`` was taken, and
    that none was deleted: the result is then what :func:`snapshot_parquet` would make of the
    ledger, in another row order."""
    try:
        return _patched(old, changed, batch_size, max_changed)
    except pa.ArrowException:  # a damaged snapshot: the rows are the truth
        return None


def _patched(old: bytes, changed: sqlite3.Cursor, batch_size: int, max_changed: int
             ) -> tuple[bytes, int] | None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    source = pq.ParquetFile(pa.BufferReader(old))
    schema = source.schema_arrow
    con = duckdb.connect(config={"threads": 1})
    try:
        if (schema.metadata or {}).get(KEY_PROBE) != key_probe(con).encode():
            return None
        delta: list[pa.Table] = []
        count = 0
        while rows := changed.fetchmany(batch_size):
            count += len(rows)
            if count > max_changed:
                return None
            delta.append(_keyed(con, rows).cast(schema))
    finally:
        con.close()
    emails = pa.concat_arrays([pa.array([], pa.string())]
                              + [c for t in delta for c in t.column("email").chunks])
    sink = pa.BufferOutputStream()
    members = 0
    with pq.ParquetWriter(sink, schema, **SNAPSHOT_WRITER) as writer:
        for batch in source.iter_batches(batch_size=batch_size):
            kept = batch.filter(pc.invert(pc.is_in(batch.column("email"), value_set=emails)))
            writer.write_table(pa.Table.from_batches([kept]).cast(schema))
            members += kept.num_rows
        for table in delta:
            writer.write_table(table)
            members += table.num_rows
    return sink.getvalue().to_pybytes(), members
