"""Deterministic sample profiles, written as one Parquet file by DuckDB.

Every value is a function of the row number and the seed through integer hashing (no
``random()``, no clock), so the same ``count`` and ``seed`` always give the same rows. The data is
deliberately imperfect the way real CRM exports are: mixed-case and padded emails, ~1.5 % invalid,
~1 % missing, ~1 % duplicates of another profile's email that differ only by case or spaces,
non-ASCII names, a skewed country mix and a long-tailed lifetime value.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from segport.demo import vocab
from segport.fsutil import atomic_replace

DEMO_SEED = 7
DEFAULT_PROFILES = 150_000
#: Bump when the generated data changes, so demo workspaces regenerate their file.
GENERATOR_VERSION = 1
#: "Today" for the demo data: purchase dates are the 3 years before it. Fixed for determinism.
REFERENCE_DATE = date(2026, 10, 1)
#: Key of the Parquet key/value metadata entry that records how the file was made.
METADATA_KEY = "segport_demo"

#: Column → DuckDB type, in file order.
PROFILE_COLUMNS: dict[str, str] = {
    "profile_id": "VARCHAR",
    "email": "VARCHAR",
    "first_name": "VARCHAR",
    "last_name": "VARCHAR",
    "country": "VARCHAR",
    "state": "VARCHAR",
    "city": "VARCHAR",
    "postal_code": "VARCHAR",
    "lifetime_value": "DOUBLE",
    "last_purchase_date": "DATE",
    "newsletter_consent": "BOOLEAN",
    "signup_channel": "VARCHAR",
}

_M32 = 1 << 32
#: DuckDB spills to a temporary folder beyond this, so large counts do not exhaust memory.
_MEMORY_LIMIT = "2GB"

#: Independent hash streams, one per random choice; a row's value for stream k is
#: ``sp_hash(row, k + 1)``.
_STREAMS = ("first", "last", "geo", "pattern", "num", "domain", "kind", "style",
            "ltv_a", "ltv_b", "buy", "days_a", "days_b", "consent", "channel", "dup")

# Per-mille bands of the email "kind" hash.
_MISSING_NULL, _MISSING_EMPTY, _INVALID, _DUPLICATE = 6, 10, 25, 37


def _macros(seed: int) -> tuple[str, ...]:
    """SQL macros: ``sp_hash(i, stream)`` is a 32-bit hash of row ``i`` for one value stream."""
    offset = (seed * 3266489917 + 0x9E3779B9) % _M32
    start = f"(i * 2654435761 + k * 2246822519 + {offset}) % {_M32}"
    return (
        f"CREATE MACRO sp_mix(x) AS (xor(x >> 16, x) * 73244475) % {_M32}",
        f"CREATE MACRO sp_hash(i, k) AS xor(sp_mix(sp_mix({start})) >> 16, "
        f"sp_mix(sp_mix({start})))",
    )


def _load_vocab(con: duckdb.DuckDBPyConnection) -> None:
    """The vocabularies as small tables, each row addressed by an index."""
    first = vocab.name_slots(vocab.FIRST_NAMES)
    last = vocab.name_slots(vocab.LAST_NAMES)
    con.register("v_first", pa.table({
        "idx": range(len(first)), "name": first,
        "slug": [vocab.slug(n) for n in first],
        "cap": [vocab.slug(n).capitalize() for n in first],
    }))
    con.register("v_last", pa.table({
        "idx": range(len(last)), "name": last,
        "slug": [vocab.slug(n) for n in last],
        "cap": [vocab.slug(n).capitalize() for n in last],
    }))
    con.register("v_domain", pa.table({
        "idx": range(len(vocab.DOMAIN_SLOTS)), "domain": vocab.DOMAIN_SLOTS,
    }))
    geo = vocab.geo_slots()
    con.register("v_geo", pa.table({
        "slot": range(len(geo)),
        **{name: [g[k] for g in geo]
           for k, name in enumerate(("country", "state", "city", "postal_code"))},
    }))
    channels = [c for c, w in vocab.SIGNUP_CHANNELS for _ in range(w)]
    con.register("v_channel", pa.table({"slot": range(len(channels)), "channel": channels}))


def _local_part(first: str, last: str) -> str:
    """SQL for an email local part built from two name columns, by the ``h_pattern`` hash."""
    num = "printf('%02d', h_num % 100)"
    return f"""CASE
        WHEN h_pattern % 100 < 25 THEN {first} || '.' || {last}
        WHEN h_pattern % 100 < 33 THEN {first} || {last}
        WHEN h_pattern % 100 < 43 THEN left({first}, 1) || '.' || {last} || {num}
        WHEN h_pattern % 100 < 50 THEN {first} || '_' || {last}
        WHEN h_pattern % 100 < 72 THEN {first} || '.' || {last} || {num}
        WHEN h_pattern % 100 < 86 THEN {first} || left({last}, 1) || {num}
        ELSE {last} || left({first}, 1) || {num} END"""


def _people_sql(count: int) -> str:
    """Rows with names, places, values and a unique clean email (plus its capitalised form)."""
    hashes = ", ".join(f"sp_hash(range, {k + 1}) AS h_{s}" for k, s in enumerate(_STREAMS))
    nf = len(vocab.name_slots(vocab.FIRST_NAMES))
    nl = len(vocab.name_slots(vocab.LAST_NAMES))
    nd = len(vocab.DOMAIN_SLOTS)
    ng = len(vocab.geo_slots())
    nch = sum(w for _, w in vocab.SIGNUP_CHANNELS)
    days = 3 * 365
    return f"""
    WITH h AS (SELECT range AS i, {hashes} FROM range({count})),
    p AS (
        SELECT h.*, f.name AS first_name, f.slug AS first_slug, f.cap AS first_cap,
               l.name AS last_name, l.slug AS last_slug, l.cap AS last_cap,
               g.country, g.state, g.city, g.postal_code, d.domain, ch.channel
        FROM h
        JOIN v_first f ON f.idx = h.h_first % {nf}
        JOIN v_last l ON l.idx = h.h_last % {nl}
        JOIN v_geo g ON g.slot = h.h_geo % {ng}
        JOIN v_domain d ON d.idx = h.h_domain % {nd}
        JOIN v_channel ch ON ch.slot = h.h_channel % {nch}
    ),
    lp AS (
        SELECT p.*, {_local_part("first_slug", "last_slug")} AS local_lc,
               {_local_part("first_cap", "last_cap")} AS local_cap
        FROM p
    ),
    ranked AS (
        SELECT i, row_number() OVER (PARTITION BY local_lc, domain ORDER BY i) AS n_same
        FROM lp
    ),
    -- Same local part and domain as an earlier profile: add ".2", ".3", ... (no base local part
    -- ends in a dot and digits, so the result is unique).
    clean AS (
        SELECT lp.*, CASE WHEN n_same = 1 THEN '' ELSE '.' || n_same END AS sfx
        FROM lp JOIN ranked USING (i)
    )
    SELECT i, h_kind, h_style, h_dup, first_name, last_name, first_slug, last_slug, country,
        state, city, postal_code, domain, channel AS signup_channel,
        local_lc || sfx || '@' || domain AS email_clean,
        local_cap || sfx || '@' || domain AS email_cap,
        local_lc || sfx AS local_sfx,
        CASE WHEN h_buy % 100 < 4 THEN 0.0 ELSE round(least(5000.0, exp(4.6 + 1.1
            * sqrt(-2.0 * ln((h_ltv_a + 0.5) / {_M32}))
            * cos(2.0 * pi() * h_ltv_b / {_M32}))), 2) END AS lifetime_value,
        CASE WHEN h_buy % 100 < 4 THEN NULL ELSE DATE '{REFERENCE_DATE.isoformat()}'
            - CAST(1 + least(h_days_a % {days}, h_days_b % {days}) AS INTEGER)
            END AS last_purchase_date,
        h_consent % 100 < 72 AS newsletter_consent,
        -- The profile an intended duplicate copies: an earlier one whose own email is clean.
        CASE WHEN h_kind % 1000 >= {_INVALID} AND h_kind % 1000 < {_DUPLICATE}
                  AND i >= 1 + h_dup % 50
                  AND sp_hash(i - 1 - h_dup % 50, {_STREAMS.index("kind") + 1}) % 1000
                      >= {_DUPLICATE}
             THEN i - 1 - h_dup % 50 END AS dup_of
    FROM clean
    """


def _styled(e: str) -> str:
    """SQL for the email a clean profile ends up with: mostly as is, some mixed case or padded."""
    return f"""CASE
        WHEN {e}.h_style % 100 < 6 THEN {e}.email_cap
        WHEN {e}.h_style % 100 < 9 THEN upper({e}.email_clean)
        WHEN {e}.h_style % 100 < 12 THEN ' ' || {e}.email_clean
        WHEN {e}.h_style % 100 < 15 THEN {e}.email_clean || ' '
        WHEN {e}.h_style % 100 < 16 THEN '  ' || {e}.email_clean || '  '
        ELSE {e}.email_clean END"""


def _final_sql() -> str:
    """The profile rows, from the ``people`` table, with the email defects applied."""
    kind = "p.h_kind % 1000"
    sub = "(p.h_kind >> 12) % 4"
    return f"""
    SELECT printf('P%07d', p.i + 1) AS profile_id,
        CASE
            WHEN {kind} < {_MISSING_NULL} THEN NULL
            WHEN {kind} < {_MISSING_EMPTY} THEN ''
            WHEN {kind} < {_INVALID} THEN CASE {sub}
                WHEN 0 THEN p.local_sfx || p.domain
                WHEN 1 THEN p.local_sfx || '@@' || p.domain
                WHEN 2 THEN p.local_sfx || '@' || replace(p.domain, '.', '')
                ELSE p.first_slug || ' ' || p.last_slug || '@' || p.domain END
            WHEN s.i IS NOT NULL THEN CASE
                WHEN {_styled("s")} <> s.email_clean THEN s.email_clean
                ELSE CASE (p.h_dup >> 12) % 4
                    WHEN 0 THEN upper(s.email_clean)
                    WHEN 1 THEN ' ' || s.email_clean
                    WHEN 2 THEN s.email_clean || '  '
                    ELSE s.email_cap END
                END
            ELSE {_styled("p")}
        END AS email,
        coalesce(s.first_name, p.first_name) AS first_name,
        coalesce(s.last_name, p.last_name) AS last_name,
        p.country, p.state, p.city, p.postal_code,
        p.lifetime_value, p.last_purchase_date, p.newsletter_consent, p.signup_channel
    FROM people p LEFT JOIN people s ON s.i = p.dup_of
    ORDER BY p.i
    """


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def generate_profiles(path: Path, count: int = DEFAULT_PROFILES, seed: int = DEMO_SEED) -> None:
    """Write ``count`` deterministic sample profiles to the Parquet file ``path``, atomically.

    The file is written next to ``path`` under a temporary name and renamed into place, so a
    crash never leaves half a file. Its key/value metadata records the count and seed.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if seed < 0:
        raise ValueError(f"seed must not be negative, got {seed}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"generator": GENERATOR_VERSION, "count": count, "seed": seed},
                      sort_keys=True)
    with atomic_replace(path) as tmp, \
            tempfile.TemporaryDirectory(prefix=".segport-demo-", dir=path.parent) as spill, \
            contextlib.closing(duckdb.connect(":memory:")) as con:
        for statement in (
            f"SET temp_directory = {_sql_string(spill)}",
            f"SET memory_limit = '{_MEMORY_LIMIT}'",
            "SET enable_progress_bar = false",
            *_macros(seed),
        ):
            con.execute(statement).fetchall()
        _load_vocab(con)
        con.execute(f"CREATE TEMP TABLE people AS {_people_sql(count)}").fetchall()
        written = con.execute(
            f"COPY ({_final_sql()}) TO {_sql_string(str(tmp))} (FORMAT parquet, "
            f"COMPRESSION zstd, KV_METADATA {{{METADATA_KEY}: {_sql_string(meta)}}})"
        ).fetchall()
        if written != [(count,)]:
            raise RuntimeError(f"wrote {written} demo profiles instead of {count}")


def read_metadata(path: Path) -> dict[str, int] | None:
    """How the demo file at ``path`` was made (generator, count, seed), or None when it is not
    a readable demo file."""
    try:
        with contextlib.closing(duckdb.connect(":memory:")) as con:
            rows = con.execute(
                "SELECT value FROM parquet_kv_metadata(?) WHERE key = ?",
                [str(path), METADATA_KEY.encode()],
            ).fetchall()
    except (duckdb.Error, OSError):
        return None
    if len(rows) != 1:
        return None
    try:
        meta = json.loads(bytes(rows[0][0]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(meta, dict) or not all(
        isinstance(meta.get(k), int) for k in ("generator", "count", "seed")
    ):
        return None
    return {k: meta[k] for k in ("generator", "count", "seed")}


def is_current(path: Path, count: int, seed: int = DEMO_SEED) -> bool:
    """Whether ``path`` is a demo file of this generator with ``count`` rows from ``seed``."""
    return read_metadata(path) == {"generator": GENERATOR_VERSION, "count": count, "seed": seed}
