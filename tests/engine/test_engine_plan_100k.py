"""100,000 demo profiles from Parquet: the plan's counts match an independent computation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pytest
from engine_support import config, export, planned

from segport.demo import generate_profiles
from segport.engine import canon, emails
from segport.engine.ledger import Ledger

N = 100_000


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "profiles.parquet"
    generate_profiles(path, N)
    return path


def independent(path: Path, where: str) -> tuple[Counter[str], dict[str, int]]:
    """Outcome per row computed row by row in Python (the reference rules), from DuckDB's
    own read of the file, and the fingerprint of each first occurrence."""
    con = duckdb.connect()
    try:
        rows = con.execute(f"SELECT profile_id, email, first_name, last_name FROM "
                           f"read_parquet('{path}') WHERE {where}").fetchall()
    finally:
        con.close()
    outcome: Counter[str] = Counter()
    seen: dict[str, int] = {}
    for _key, raw, first, last in rows:
        email, reason = emails.check(raw)
        if reason is not None:
            outcome["invalid"] += 1
        elif email in seen:
            outcome["duplicates"] += 1
        else:
            seen[email] = canon.fingerprint({"first_name": canon.field_value(first),
                                             "last_name": canon.field_value(last)})
    outcome["read"] = len(rows)
    outcome["adds"] = len(seen)
    return outcome, seen


def test_plan_counts_match_an_independent_computation(profiles: Path, tmp_path: Path) -> None:
    where = "country IN ('US', 'DE', 'FR') OR lifetime_value > 300"
    expected, fingerprints = independent(profiles, where)
    cfg = config(profiles, {"picked": where}, key="profile_id")
    with planned(cfg, export(["picked"], kind="iterable"), Ledger.reader(tmp_path / "none.db"),
                 count_first=False) as plan:
        got = plan.totals
        assert (got.read, got.invalid, got.duplicates, got.adds) == (
            expected["read"], expected["invalid"], expected["duplicates"], expected["adds"])
        assert got.read > 50_000 and got.invalid > 500 and got.duplicates > 200
        planned_fps = {c.contact.email: c.fingerprint
                       for b in plan.changes("picked", "add", batch_size=20_000) for c in b}
        assert planned_fps == fingerprints
        reasons = Counter(p.reason.split(" of ")[0] for b in plan.problems() for p in b)
        assert reasons["duplicate"] == expected["duplicates"]
        assert sum(v for k, v in reasons.items() if k != "duplicate") == expected["invalid"]


def test_plan_counts_match_plain_sql(profiles: Path, tmp_path: Path) -> None:
    """The demo data's defects (case, padding, missing, no @, @@, no dot, spaces) in plain SQL."""
    con = duckdb.connect()
    try:
        read, invalid, unique = con.execute(f"""
            WITH n AS (SELECT nullif(lower(trim(email)), '') AS e FROM read_parquet('{profiles}')),
                 v AS (SELECT e, e IS NOT NULL AND e LIKE '_%@_%._%' AND e NOT LIKE '%@%@%'
                             AND NOT contains(e, ' ') AS ok FROM n)
            SELECT count(*), count(*) FILTER (WHERE NOT ok), count(DISTINCT e) FILTER (WHERE ok)
            FROM v""").fetchall()[0]
    finally:
        con.close()
    cfg = config(profiles, {"everyone": "true"}, key="profile_id")
    with planned(cfg, export(["everyone"], kind="sendgrid"), Ledger.reader(tmp_path / "x.db"),
                 count_first=False) as plan:
        got = plan.totals
    assert (got.read, got.invalid, got.adds, got.duplicates) == (
        read, invalid, unique, read - invalid - unique)
    assert plan.refusal is None  # ~96,000 unique: under SendGrid's 100,000
