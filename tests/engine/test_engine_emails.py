"""Email normalisation and validation: the Python rules, and the SQL the plan runs, agree."""

from __future__ import annotations

import sys
import unicodedata

import duckdb
import pyarrow as pa
import pytest

from segport.engine import canon, emails

NORMALISE = [
    ("Anna@Example.COM", "anna@example.com"),
    ("  bob@example.com\t", "bob@example.com"),
    ("\u00a0\u3000carl@example.com\u200b\ufeff", "carl@example.com"),
    ("Jose\u0301@example.com", "jos\u00e9@example.com"),  # NFD → NFC
    ("JOS\u00c9@EXAMPLE.COM", "jos\u00e9@example.com"),
    ("user@M\u00dcNCHEN.DE", "user@m\u00fcnchen.de"),
    ("\u0130NCI@example.com", "inci@example.com"),  # simple lower-case: İ → i
    ("ΟΔΥΣ@example.gr", "οδυσ@example.gr"),  # Σ → σ wherever it stands
    ("", None),
    ("   ", None),
    (None, None),
    (12345, "12345"),
]

REASONS = [
    ("anna@example.com", None),
    ("first.last+tag@sub.example.co.uk", None),
    ("o'brien@example.ie", None),
    ("user@münchen.de", None),
    ("пользователь@пример.рф", None),
    ("user@xn--mnchen-3ya.de", None),
    ("a@b.c1", None),
    ("a" * 64 + "@example.com", None),
    (None, emails.MISSING),
    ("", emails.MISSING),
    ("annaexample.com", emails.NO_AT),
    ("anna@@example.com", emails.MANY_AT),
    ("anna@smith@example.com", emails.MANY_AT),
    ("anna@examplecom", emails.NO_DOT),
    ("anna smith@example.com", emails.SPACES),
    ("anna@exa\tmple.com", emails.SPACES),
    ("a" * 65 + "@example.com", emails.LOCAL_TOO_LONG),
    ("a@" + "b" * 250 + ".com", emails.TOO_LONG),
    ("@example.com", emails.NO_LOCAL),
    ("anna@", emails.NO_DOMAIN),
    (".anna@example.com", emails.LOCAL),
    ("anna.@example.com", emails.LOCAL),
    ("an..na@example.com", emails.LOCAL),
    ('"anna"@example.com', emails.LOCAL),
    ("anna(x)@example.com", emails.LOCAL),
    ("anna@-example.com", emails.DOMAIN),
    ("anna@example-.com", emails.DOMAIN),
    ("anna@example..com", emails.DOMAIN),
    ("anna@.example.com", emails.DOMAIN),
    ("anna@example.com.", emails.DOMAIN),
    ("anna@10.0.0.1", emails.DOMAIN),
    ("anna@[10.0.0.1]", emails.DOMAIN),
    ("anna@exam_ple.com", emails.DOMAIN),
    ("anna@example.c☃m", emails.DOMAIN),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALISE)
def test_normalise(raw: object, expected: str | None) -> None:
    assert emails.normalise(raw) == expected


@pytest.mark.parametrize(("email", "reason"), REASONS)
def test_problem_reasons(email: str | None, reason: str | None) -> None:
    assert emails.problem(email) == reason
    assert emails.is_valid(email) is (reason is None)


def test_check_normalises_then_validates() -> None:
    assert emails.check("  Anna@Example.com ") == ("anna@example.com", None)
    assert emails.check("Anna Example.com") == ("anna example.com", emails.SPACES)
    assert emails.check("   ") == (None, emails.MISSING)


def _sql(values: list[object]) -> list[tuple[str | None, bool]]:
    con = duckdb.connect()
    try:
        con.register("t", pa.table({"v": pa.array(
            [None if v is None else str(v) for v in values], pa.string()),
            "i": pa.array(range(len(values)))}))
        return con.execute(
            f"SELECT e, {emails.sql_valid('e')} FROM (SELECT i, {emails.sql_normalise('v')} "
            "AS e FROM t) ORDER BY i").fetchall()
    finally:
        con.close()


def test_sql_agrees_with_python_on_the_tables() -> None:
    values = [raw for raw, _ in NORMALISE] + [e for e, _ in REASONS]
    values += ["  MIXED.Case@Example.ORG  ", "x@y.ΖΩ", "A\u030a@example.com", "\x85a@b.cd\x85"]
    for raw, (email, valid) in zip(values, _sql(values), strict=True):
        expected = emails.normalise(raw)
        assert email == expected, raw
        assert valid is emails.is_valid(expected), raw


def test_sql_agrees_with_python_on_every_code_point() -> None:
    """Each assigned code point (private use aside) in a local part, inside a domain label and
    as a one-character top-level label."""
    chars = [chr(c) for c in range(0x80, sys.maxunicode + 1)
             if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")]
    values = [v for c in chars for v in (f"a{c}b@example.com", f"ab@ex{c}ample.com",
                                         f"ab@example.{c}")]
    got = _sql(values)
    mismatches = [(v, e, ok) for v, (e, ok) in zip(values, got, strict=True)
                  if e != emails.normalise(v) or ok is not emails.is_valid(e)]
    assert mismatches == []


def test_field_values_and_fingerprints_agree_with_sql() -> None:
    rows = [("Anna", " Smith "), (None, "Ølaf"), ("", "\u00a0"), ("José", None), (None, None)]
    con = duckdb.connect()
    try:
        con.register("t", pa.table({"a": [r[0] for r in rows], "b": [r[1] for r in rows],
                                    "i": list(range(len(rows)))}))
        fp = canon.sql_fingerprint({"first_name": "fa", "last_name": "fb"})
        got = con.execute(f"SELECT fa, fb, {fp} FROM (SELECT i, {canon.sql_field('a')} AS fa, "
                          f"{canon.sql_field('b')} AS fb FROM t) ORDER BY i").fetchall()
        empty = con.execute(f"SELECT {canon.sql_fingerprint({})}").fetchall()[0][0]
    finally:
        con.close()
    for (a, b), (fa, fb, fp_sql) in zip(rows, got, strict=True):
        assert (fa, fb) == (canon.field_value(a), canon.field_value(b))
        assert fp_sql == canon.fingerprint({"first_name": fa, "last_name": fb})
    assert empty == canon.fingerprint({})
    assert canon.fingerprint({"first_name": "A"}) != canon.fingerprint({"last_name": "A"})


def test_contact_fields_match_the_destination_contact() -> None:
    from segport.destinations.values import OPTIONAL_FIELDS

    assert canon.CONTACT_FIELDS == OPTIONAL_FIELDS
