"""suggest_mapping: names first, then sample values; each column used once."""

from __future__ import annotations

from segport.manage.suggest import suggest_mapping
from segport.sources.base import ColumnInfo

SENDGRID = ["email", "first_name", "last_name", "country", "state", "city", "postal_code"]


def cols(*specs: str | tuple[str, tuple[str, ...]]) -> list[ColumnInfo]:
    out = []
    for spec in specs:
        name, samples = (spec, ()) if isinstance(spec, str) else spec
        out.append(ColumnInfo(name, "VARCHAR", samples))
    return out


def test_exact_names_and_their_usual_variants() -> None:
    columns = cols("ID", "E-Mail", "FirstName", "family_name", "Country Code", "Province", "Town",
                   "ZIP")
    assert suggest_mapping(columns, SENDGRID) == {
        "email": "E-Mail", "first_name": "FirstName", "last_name": "family_name",
        "country": "Country Code", "state": "Province", "city": "Town", "postal_code": "ZIP"}


def test_each_alias_of_the_brief() -> None:
    for alias in ("email", "e_mail", "mail"):
        assert suggest_mapping(cols(alias), ["email"]) == {"email": alias}
    for field, aliases in {
        "first_name": ("first_name", "firstname", "given_name"),
        "country": ("country", "country_code"),
        "state": ("state", "region", "province"),
        "city": ("city", "town"),
        "postal_code": ("postal_code", "zip", "zipcode", "postcode"),
    }.items():
        for alias in aliases:
            assert suggest_mapping(cols("x", alias), [field]) == {field: alias}


def test_email_found_by_its_samples_when_the_name_says_nothing() -> None:
    columns = cols(("contact", ("ana@example.com", "bo@example.org", "")), ("notes", ("hi",)))
    assert suggest_mapping(columns, ["email"]) == {"email": "contact"}


def test_a_word_inside_a_longer_name_but_not_a_flag_column() -> None:
    columns = cols(("email_opt_in", ("true", "false")), ("customer_email", ("a@b.co",)))
    assert suggest_mapping(columns, ["email"]) == {"email": "customer_email"}


def test_nothing_fits_and_a_column_is_used_once() -> None:
    assert suggest_mapping(cols("foo", "bar"), SENDGRID) == {}
    assert suggest_mapping(cols("mail"), ["email", "first_name"]) == {"email": "mail"}
    assert list(suggest_mapping(cols("city", "email"), ["email", "city"])) == ["email", "city"]
