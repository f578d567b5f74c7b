"""Mapped field values and their fingerprint, in Python and identically in DuckDB SQL.

A field value is the source value as text, with :data:`~segport.engine.emails.WHITESPACE`
stripped from both ends; empty means absent. The fingerprint of a contact is a 60-bit integer:
the first 15 hex digits of the MD5 of its canonical form — ``name<RS>value`` for every present
optional field in name order, joined by ``<US>`` (email excluded: it is the ledger's key). It
only detects change; it is no security measure. Changing the mapping changes fingerprints, so
the next run updates everyone, as it should.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from segport.engine.emails import WHITESPACE, sql_trim

_US, _RS = "\x1f", "\x1e"

#: The optional fields a :class:`segport.destinations.values.Contact` carries, in its order
#: (kept here so planning does not load the HTTP stack; a test holds the two equal).
CONTACT_FIELDS = ("first_name", "last_name", "country", "state", "city", "postal_code")


def field_value(value: object) -> str | None:
    """A mapped field's canonical text, or None when absent."""
    if value is None:
        return None
    text = (value if isinstance(value, str) else str(value)).strip(WHITESPACE)
    return text or None


def canonical(fields: Mapping[str, str | None]) -> str:
    """The text a fingerprint is taken of (present fields only, by name)."""
    return _US.join(f"{name}{_RS}{fields[name]}" for name in sorted(fields)
                    if fields[name] is not None)


def fingerprint(fields: Mapping[str, str | None]) -> int:
    """The 60-bit fingerprint of a contact's optional mapped fields."""
    digest = hashlib.md5(canonical(fields).encode("utf-8"), usedforsecurity=False).hexdigest()
    return int(digest[:15], 16)


def sql_email_key(email: str) -> tuple[str, str]:
    """SQL: the two halves (UBIGINT) of a normalised email's in-plan match key."""
    return f"hash({email})", f"hash({email} || '#')"


def sql_field(expr: str) -> str:
    """SQL: the canonical text of ``expr`` (any type), NULL when absent."""
    return f"nullif({sql_trim(f'CAST({expr} AS VARCHAR)')}, '')"


def sql_fingerprint(columns: Mapping[str, str]) -> str:
    """SQL: the fingerprint, given field name → SQL expression of its canonical value."""
    parts = [f"CASE WHEN {columns[name]} IS NOT NULL THEN '{name}' || chr(30) || "
             f"{columns[name]} END" for name in sorted(columns)]
    text = f"concat_ws(chr(31), {', '.join(parts)})" if parts else "''"
    return f"CAST('0x' || left(md5({text}), 15) AS BIGINT)"


def optional_fields(mapping: Mapping[str, str], known: Sequence[str] = CONTACT_FIELDS
                    ) -> list[str]:
    """The mapped optional fields that ``known`` (Contact's fields) can carry, in that order."""
    return [name for name in known if name in mapping and name != "email"]
