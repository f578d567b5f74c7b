"""The demo data: deterministic, the promised shape, realistically imperfect, useful segments."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from segport.demo import profiles
from segport.demo.profiles import (
    DEMO_SEED,
    PROFILE_COLUMNS,
    REFERENCE_DATE,
    generate_profiles,
    is_current,
    read_metadata,
)
from segport.demo.segments import DEMO_SEGMENTS
from segport.demo.vocab import EU_COUNTRIES, slug
from segport.sources.filters import check_filter

VALID = r"[^@\s]+@[^@\s]+\.[^@\s]+"


def _sql(path: Path, query: str) -> list[tuple[object, ...]]:
    """Run ``query`` with the view ``p`` over the Parquet file at ``path``."""
    with duckdb.connect(":memory:") as con:
        con.execute(f"CREATE VIEW p AS SELECT * FROM read_parquet('{path}')").fetchall()
        return con.execute(query).fetchall()


def _one(path: Path, query: str) -> object:
    return _sql(path, query)[0][0]


def _rows_digest(path: Path) -> str:
    rows = _sql(path, "SELECT * FROM p ORDER BY profile_id")
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def demo150k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default demo file: 150,000 profiles from the default seed."""
    path = tmp_path_factory.mktemp("demo") / "profiles.parquet"
    generate_profiles(path)
    return path


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    generate_profiles(tmp_path / "a.parquet", 3_000, seed=7)
    generate_profiles(tmp_path / "b.parquet", 3_000, seed=7)
    generate_profiles(tmp_path / "c.parquet", 3_000, seed=8)
    assert _rows_digest(tmp_path / "a.parquet") == _rows_digest(tmp_path / "b.parquet")
    assert _rows_digest(tmp_path / "a.parquet") != _rows_digest(tmp_path / "c.parquet")


def test_a_prefix_of_a_larger_file_is_the_smaller_file(tmp_path: Path) -> None:
    """Each row depends on its number only (and on rows before it, for email suffixes)."""
    generate_profiles(tmp_path / "small.parquet", 1_000)
    generate_profiles(tmp_path / "large.parquet", 2_000)
    small = _sql(tmp_path / "small.parquet", "SELECT profile_id, first_name, country FROM p")
    large = _sql(tmp_path / "large.parquet",
                 "SELECT profile_id, first_name, country FROM p ORDER BY profile_id LIMIT 1000")
    assert small == large


@pytest.mark.parametrize("count", [1, 1_234])
def test_exact_count_unique_ids_and_metadata(tmp_path: Path, count: int) -> None:
    path = tmp_path / "p.parquet"
    generate_profiles(path, count, seed=3)
    assert _sql(path, "SELECT count(*), count(DISTINCT profile_id), min(profile_id), "
                      "max(profile_id) FROM p") == [(count, count, "P0000001", f"P{count:07d}")]
    assert read_metadata(path) == {"generator": profiles.GENERATOR_VERSION, "count": count,
                                   "seed": 3}
    assert is_current(path, count, 3)
    assert not is_current(path, count + 1, 3)
    assert not is_current(path, count, 4)
    assert [p.name for p in tmp_path.iterdir()] == ["p.parquet"]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="count"):
        generate_profiles(tmp_path / "p.parquet", 0)
    with pytest.raises(ValueError, match="seed"):
        generate_profiles(tmp_path / "p.parquet", 10, seed=-1)


def test_a_failed_generation_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.parquet"
    generate_profiles(path, 500)
    before = path.read_bytes()
    monkeypatch.setattr(profiles, "_final_sql", lambda: "SELECT no_such_column FROM people")
    with pytest.raises(duckdb.Error):
        generate_profiles(path, 600)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.parquet"]


def test_read_metadata_of_a_foreign_or_missing_file_is_none(tmp_path: Path) -> None:
    assert read_metadata(tmp_path / "missing.parquet") is None
    (tmp_path / "junk.parquet").write_text("not parquet")
    assert read_metadata(tmp_path / "junk.parquet") is None
    foreign = tmp_path / "foreign.parquet"
    with duckdb.connect(":memory:") as con:
        con.execute(f"COPY (SELECT 1 AS x) TO '{foreign}' (FORMAT parquet)").fetchall()
    assert read_metadata(foreign) is None


def test_columns_and_types(demo150k: Path) -> None:
    described = _sql(demo150k, "SELECT column_name, column_type FROM (DESCRIBE p)")
    assert dict(described) == PROFILE_COLUMNS
    assert [name for name, _ in described] == list(PROFILE_COLUMNS)


def test_email_defects_are_present_in_plausible_shares(demo150k: Path) -> None:
    n = 150_000
    missing, mixed_case, padded, invalid = _sql(demo150k, f"""
        SELECT count(*) FILTER (WHERE email IS NULL OR trim(email) = ''),
               count(*) FILTER (WHERE email <> lower(email)),
               count(*) FILTER (WHERE email <> trim(email)),
               count(*) FILTER (WHERE trim(email) <> ''
                                AND NOT regexp_full_match(trim(email), '{VALID}'))
        FROM p""")[0]
    assert 0.005 * n < missing < 0.015 * n
    assert _one(demo150k, "SELECT count(*) FROM p WHERE email IS NULL") > 0
    assert _one(demo150k, "SELECT count(*) FROM p WHERE email = ''") > 0
    assert 0.03 * n < mixed_case < 0.15 * n
    assert 0.02 * n < padded < 0.10 * n
    assert 0.01 * n < invalid < 0.02 * n
    kinds = _sql(demo150k, """
        SELECT count(*) FILTER (WHERE email NOT LIKE '%@%'),
               count(*) FILTER (WHERE email LIKE '%@@%'),
               count(*) FILTER (WHERE email LIKE '%@%'
                                AND split_part(email, '@', 2) NOT LIKE '%.%'),
               count(*) FILTER (WHERE trim(email) LIKE '% %@%')
        FROM p WHERE trim(email) <> ''""")[0]
    assert all(k > 0 for k in kinds), kinds


def test_some_emails_duplicate_another_profiles_but_for_case_or_spaces(demo150k: Path) -> None:
    extra, exact_groups = _sql(demo150k, f"""
        SELECT sum(members - 1), count(*) FILTER (WHERE spellings = 1)
        FROM (SELECT count(*) AS members, count(DISTINCT email) AS spellings
              FROM p WHERE regexp_full_match(trim(email), '{VALID}')
              GROUP BY lower(trim(email)) HAVING count(*) > 1)""")[0]
    assert 0.005 * 150_000 < extra < 0.02 * 150_000
    assert exact_groups < 10  # almost every duplicate is spelled differently


def test_valid_clean_emails_look_like_people_at_reserved_domains(demo150k: Path) -> None:
    domains = {d for (d,) in _sql(demo150k, f"""
        SELECT DISTINCT split_part(lower(trim(email)), '@', 2) FROM p
        WHERE regexp_full_match(trim(email), '{VALID}')""")}
    assert 3 <= len(domains) <= 10
    assert all(re.search(r"(^|\.)example(\.(com|net|org))?$", d) for d in domains), domains
    rows = _sql(demo150k, r"""
        SELECT first_name, last_name, email FROM p
        WHERE regexp_full_match(email, '[a-z-]+\.[a-z-]+(\.[0-9]+)?@[a-z.]+')
        ORDER BY profile_id LIMIT 3000""")
    assert len(rows) == 3000
    for first, last, email in rows:  # first.last@, or first.last.2@ when taken
        assert re.fullmatch(rf"{slug(first)}\.{slug(last)}(\.\d+)?@[a-z.]+", email), email
    assert any(re.search(r"\.\d+@", email) for _, _, email in rows)


def test_names_carry_non_ascii_letters(demo150k: Path) -> None:
    non_ascii = _one(demo150k, r"SELECT count(*) FROM p WHERE NOT regexp_full_match("
                               r"first_name || last_name, '[\x00-\x7F]*')")
    assert 0.05 * 150_000 < non_ascii < 0.4 * 150_000
    names = {n for (n,) in _sql(demo150k, "SELECT first_name FROM p UNION SELECT last_name FROM p")}
    for name in ("José", "Zoë", "Łukasz", "Ångström", "Müller", "Nguyễn", "Søren", "Çelik",
                 "Ørsted"):
        assert name in names


def test_countries_are_skewed_with_us_first(demo150k: Path) -> None:
    shares = dict(_sql(demo150k, "SELECT country, count(*) / 150000 FROM p GROUP BY 1"))
    top = sorted(shares, key=shares.__getitem__, reverse=True)
    assert top[:4] == ["US", "GB", "DE", "FR"]
    assert 0.45 < shares["US"] < 0.65
    assert {"CA", "AU", "BR", "JP", *EU_COUNTRIES} <= set(shares)
    assert all(len(c) == 2 and c.isupper() for c in shares)


@pytest.mark.parametrize(("country", "pattern"), [
    ("US", r"\d{5}"), ("DE", r"\d{5}"), ("FR", r"\d{5}"), ("AU", r"\d{4}"),
    ("CA", r"[A-Z]\d[A-Z] \d[A-Z]\d"), ("GB", r"[A-Z]{1,2}\d{1,2} \d[A-Z]{2}"),
    ("BR", r"\d{5}-\d{3}"), ("JP", r"\d{3}-\d{4}"), ("NL", r"\d{4} [A-Z]{2}"),
    ("PL", r"\d{2}-\d{3}"),
])
def test_places_are_consistent_and_postal_codes_plausible(
    demo150k: Path, country: str, pattern: str
) -> None:
    codes = [c for (c,) in _sql(demo150k, f"SELECT DISTINCT postal_code FROM p "
                                          f"WHERE country = '{country}'")]
    assert codes and all(re.fullmatch(pattern, c) for c in codes), codes[:5]
    # A city is always in the same state.
    assert _one(demo150k, f"SELECT max(n) FROM (SELECT count(DISTINCT state) AS n FROM p "
                          f"WHERE country = '{country}' GROUP BY city)") == 1


def test_values_dates_and_consent(demo150k: Path) -> None:
    low, high, median, mean, p99 = _sql(demo150k, """
        SELECT min(lifetime_value), max(lifetime_value), median(lifetime_value),
               avg(lifetime_value), quantile_cont(lifetime_value, 0.99) FROM p""")[0]
    assert low == 0 and high <= 5000
    assert median < mean and p99 > 5 * median  # skewed, with a long tail
    first, last, undated = _sql(demo150k, """
        SELECT min(last_purchase_date), max(last_purchase_date),
               count(*) FILTER (WHERE last_purchase_date IS NULL AND lifetime_value > 0)
        FROM p""")[0]
    assert REFERENCE_DATE - timedelta(days=3 * 365) <= first and last < REFERENCE_DATE
    assert undated == 0  # only profiles that never bought have no purchase date
    consent = _one(demo150k, "SELECT avg(CAST(newsletter_consent AS INTEGER)) FROM p")
    assert 0.65 < consent < 0.78
    assert _one(demo150k, "SELECT count(*) FROM p WHERE newsletter_consent IS NULL") == 0
    channels = {c for (c,) in _sql(demo150k, "SELECT DISTINCT signup_channel FROM p")}
    assert channels == {"web", "mobile_app", "store", "referral", "social"}


def test_segments_have_useful_sizes(demo150k: Path) -> None:
    sizes = {name: _one(demo150k, f"SELECT count(*) FROM p WHERE {where}")
             for name, where in DEMO_SEGMENTS.items()}
    assert len(sizes) >= 5
    assert all(size > 0 for size in sizes.values()), sizes
    assert sizes["Newsletter subscribers"] > 100_000  # shows the 100k cap warning
    assert 100 <= sizes["VIP Europe"] <= 2_000
    assert all(size < 150_000 for size in sizes.values())
    assert sizes["US West Coast"] == _one(
        demo150k, "SELECT count(*) FROM p WHERE country = 'US' AND state IN ('CA', 'OR', 'WA')")


def test_segment_filters_are_plain_read_only_sql() -> None:
    for name, where in DEMO_SEGMENTS.items():
        assert check_filter(name, where) == where
        assert "current_date" not in where.lower() and "now(" not in where.lower()
        assert name == name.strip() and re.fullmatch(r"[A-Za-z][A-Za-z -]+", name)


def test_default_arguments() -> None:
    assert DEMO_SEED == 7
    assert profiles.DEFAULT_PROFILES == 150_000
