"""The static checker of segment filters, and the translation of database errors."""

from __future__ import annotations

import pytest

from segport.errors import SourceError
from segport.sources.filters import FORBIDDEN_KEYWORDS, check_filter, filter_error

COLUMNS = ["id", "email", "country", "lifetime_value"]


@pytest.mark.parametrize("where", [
    "country = 'US' AND lifetime_value > 500",
    "status = 'DROP'",
    "note = 'a; b -- c /* d */ DELETE FROM x'",
    "name = 'O''Brien; DROP TABLE x'",
    '"update" = 1',
    '"set" IS NOT NULL AND "delete" > 0',
    "(country IN ('US', 'GB')) AND (lifetime_value BETWEEN 1 AND 10)",
    "email LIKE '%@example.com'",
    "lower(email) = 'a@b.c' OR id IN (SELECT id FROM profiles WHERE country = 'FR')",
    "updated_at > '2024-01-01' AND created_by = 'x' AND offset_ok",
    "x::int > 3",
    "prénom = 'Zoë'",
])
def test_accepts_read_only_conditions(where: str) -> None:
    assert check_filter("S", f"  {where}  ") == where


@pytest.mark.parametrize("keyword", sorted(FORBIDDEN_KEYWORDS))
def test_refuses_every_forbidden_keyword_outside_strings(keyword: str) -> None:
    with pytest.raises(SourceError) as err:
        check_filter("Big spenders", f"id > 0 OR {keyword.lower()} x")
    message = str(err.value)
    assert message.startswith("Segment 'Big spenders': the filter uses ")
    assert keyword in message
    assert "double quotes" in message


@pytest.mark.parametrize(("where", "expected"), [
    ("country = 'US'; DROP TABLE profiles", "contains ';'"),
    ("country = 'US' -- all", "comment"),
    ("country = 'US' /* x */", "comment"),
    ("(country = 'US'", "1 '(' without a matching ')'"),
    ("country = 'US')", "')' without a matching '('"),
    ("country = 'US') OR (1 = 1", "')' without a matching '('"),
    ("country = 'US", "never closed"),
    ('"country = 1', "never closed"),
    ("country = $$US$$", "'$'"),
    ("country = `US`", "'`'"),
    ("country = E'\\'' OR 1=1", "escape string"),
    ("   ", "is empty"),
])
def test_refuses_structure_that_could_escape_one_expression(where: str, expected: str) -> None:
    with pytest.raises(SourceError) as err:
        check_filter("Seg", where)
    assert str(err.value).startswith("Segment 'Seg': the filter ")
    assert expected in str(err.value)
    assert " — " in str(err.value)


def test_sqlite_bracket_names_hide_nothing() -> None:
    # SQLite reads [..] as a name: a quote inside it must not open a string for the checker
    with pytest.raises(SourceError, match="contains ';'"):
        check_filter("S", "[a'] = 1; DELETE FROM t; --'", dialect="sqlite")
    assert check_filter("S", "[my col] = 'x'", dialect="sqlite") == "[my col] = 'x'"


@pytest.mark.parametrize("call", ["lo_create(0)", "pg_sleep (10)", "set_config('a', 'b', false)",
                                  "query('DROP VIEW profiles')", "pg_read_file('/etc/passwd')",
                                  "dblink_exec('x')"])
def test_refuses_functions_with_side_effects(call: str) -> None:
    with pytest.raises(SourceError, match=r"calls .*not allowed in a filter"):
        check_filter("S", f"id > 0 AND {call} IS NOT NULL")


def test_such_names_are_fine_as_columns() -> None:
    assert check_filter("S", "query = 'x' AND lo_flag = 1")


def test_words_containing_keywords_are_fine() -> None:
    assert check_filter("S", "dropped = 1 AND settings = 2 AND reset_at > 0 AND loaded")


@pytest.mark.parametrize(("message", "expected"), [
    ('Binder Error: Referenced column "contry" not found in FROM clause!',
     "column 'contry' that the profiles do not have — did you mean 'country'?"),
    ("no such column: emial", "column 'emial'"),
    ('column "profiles.lifetime" does not exist', "did you mean 'lifetime_value'?"),
    ("Conversion Error: Could not convert string 'abc' to INT64", "mixes types"),
    ("operator does not exist: character varying > integer", "mixes types"),
    ('Parser Error: syntax error at or near ")"', "is not a valid SQL condition"),
    ("Scalar Function with name foo does not exist!", "function 'foo'"),
    ('Permission Error: Cannot access file "/etc/passwd"', "reaches outside the profile table"),
])
def test_database_errors_become_actionable(message: str, expected: str) -> None:
    error = filter_error("Seg", message, COLUMNS)
    assert isinstance(error, SourceError)
    assert str(error).startswith("Segment 'Seg': the filter ")
    assert expected in str(error)


def test_unknown_column_lists_available_columns() -> None:
    text = str(filter_error("Seg", "no such column: zzz", COLUMNS))
    assert "Available columns: id, email, country, lifetime_value" in text
    assert "did you mean" not in text
