"""Suggest which profile column feeds each destination field (the export wizard's data matching).

Names first (``email``, ``e_mail``, ``mail`` …; ``zip``, ``postcode`` …), then sample values (an
address with an ``@`` is an email). Each column is suggested for at most one field. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from segport.sources.base import ColumnInfo

#: Field → column names that usually hold it, best first (compared after normalising).
NAME_CANDIDATES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e_mail", "mail", "email_address", "emailaddress", "e_mail_address"),
    "first_name": ("first_name", "firstname", "given_name", "givenname", "forename", "first"),
    "last_name": ("last_name", "lastname", "surname", "family_name", "familyname", "last"),
    "country": ("country", "country_code", "countrycode", "country_region", "nation"),
    "state": ("state", "region", "province", "state_province", "state_province_region",
              "county"),
    "city": ("city", "town", "locality"),
    "postal_code": ("postal_code", "postalcode", "zip", "zipcode", "zip_code", "postcode",
                    "post_code"),
}

#: Words that, inside a longer column name, point to a field (``customer_email`` → email).
NAME_WORDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "mail"),
    "first_name": ("firstname", "givenname"),
    "last_name": ("lastname", "surname", "familyname"),
    "country": ("country",),
    "state": ("state", "province", "region"),
    "city": ("city", "town"),
    "postal_code": ("postalcode", "postcode", "zipcode", "zip"),
}

_EMAIL_SAMPLE = re.compile(r"^[^@\s]+@[^@\s]+$")


def normalise(name: str) -> str:
    """Lower case, runs of non-alphanumerics as one ``_``, no leading/trailing ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _compact(name: str) -> str:
    return normalise(name).replace("_", "")


def looks_like_email(column: ColumnInfo) -> bool:
    """Most of the column's (non-empty) samples look like email addresses."""
    samples = [s.strip() for s in column.samples if s and s.strip()]
    if not samples:
        return False
    hits = sum(1 for s in samples if _EMAIL_SAMPLE.match(s))
    return hits * 2 > len(samples)


def _contradicted(field: str, column: ColumnInfo) -> bool:
    """Samples show the column cannot hold ``field`` (an "email_opt_in" of true/false)."""
    return field == "email" and bool(column.samples) and not looks_like_email(column)


def _by_exact_name(field: str, free: list[ColumnInfo]) -> ColumnInfo | None:
    for candidate in NAME_CANDIDATES.get(field, (field,)):
        for column in free:
            named = candidate in (normalise(column.name), _compact(column.name))
            if named and not _contradicted(field, column):
                return column
    return None


def _by_word(field: str, free: list[ColumnInfo]) -> ColumnInfo | None:
    matches = [c for c in free
               if any(w in _compact(c.name) for w in NAME_WORDS.get(field, ()))
               and not _contradicted(field, c)]
    if field == "email":
        matches.sort(key=lambda c: not looks_like_email(c))
    return matches[0] if matches else None


def _by_samples(field: str, free: list[ColumnInfo]) -> ColumnInfo | None:
    if field != "email":
        return None
    return next((c for c in free if looks_like_email(c)), None)


def suggest_mapping(columns: list[ColumnInfo], fields: list[str]) -> dict[str, str]:
    """Field → the column most likely to hold it, for the fields a column was found for.

    Every field first gets a chance at an exact name; then longer names containing a telling
    word; then (email only) sample values containing an ``@``.
    """
    free = list(columns)
    out: dict[str, str] = {}
    rules: tuple[Callable[[str, list[ColumnInfo]], ColumnInfo | None], ...] = (
        _by_exact_name, _by_word, _by_samples,
    )
    for rule in rules:
        for field in fields:
            if field in out:
                continue
            found = rule(field, free)
            if found is not None:
                out[field] = found.name
                free.remove(found)
    return {f: out[f] for f in fields if f in out}
