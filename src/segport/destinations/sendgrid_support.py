"""SendGrid specifics that need no HTTP: what a key's scopes mean, the errors file of a job, and
a fast encoder for the contacts of an upsert."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring  # the C encoder's string escaping (non-ASCII kept)
from operator import attrgetter

from segport.destinations.values import OPTIONAL_FIELDS, Contact, RowOutcome, failed

#: Scopes beyond these prefixes are more than segport needs (warned about, not refused).
RISKY_SCOPE_PREFIXES = ("api_keys.", "billing.", "user.", "teammates.", "subusers.", "mail.send",
                        "credentials.", "access_settings.", "ips.")
#: More scopes than this is "far more than needed" even without risky ones.
MANY_SCOPES = 40


def scope_warnings(scopes: Sequence[str]) -> list[str]:
    """What Connect should warn about: no Marketing access, or far more access than needed."""
    warnings: list[str] = []
    if not any(s.startswith("marketing.") for s in scopes):
        warnings.append("The key has no marketing.* scopes: SendGrid will refuse contacts and "
                        "lists. Create a key with Marketing access.")
    risky = [s for s in scopes if s.startswith(RISKY_SCOPE_PREFIXES)]
    if risky or len(scopes) > MANY_SCOPES:
        warnings.append(f"The key has {len(scopes)} scopes, far more than segport needs "
                        f"(Marketing only; e.g. {', '.join(sorted(risky)[:3]) or 'many others'})"
                        ": consider a restricted key.")
    return warnings


def parse_errors_csv(text: str, emails: Sequence[str]) -> dict[str, str] | None:
    """Map an errors CSV to ``email → reason``; None when no row can be attributed."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if len(rows) < 1:
        return None
    header = [h.strip().lower() for h in rows[0]]
    email_col = next((i for i, h in enumerate(header) if h in ("email", "e-mail")), None)
    if email_col is None:
        email_col = next((i for i, h in enumerate(header) if "email" in h), None)
    reason_col = next((i for i, h in enumerate(header)
                       if h in ("error", "errors", "reason", "message", "error_message")), None)
    line_col = next((i for i, h in enumerate(header)
                     if h in ("index", "line", "row", "line_number", "row_number")), None)
    first = 0 if line_col is not None and header[line_col] == "index" else 1
    out: dict[str, str] = {}
    for row in rows[1:]:
        if not row:
            continue
        reason = row[reason_col] if reason_col is not None and reason_col < len(row) else ""
        email = row[email_col].strip() if email_col is not None and email_col < len(row) else ""
        if not email and line_col is not None and line_col < len(row):
            try:
                index = int(row[line_col]) - first  # "index" is 0-based, line numbers 1-based
            except ValueError:
                continue
            if 0 <= index < len(emails):
                email = emails[index]
        if email:
            out[email] = reason.strip() or "rejected by SendGrid"
    return out if out or len(rows) == 1 else None


def job_outcomes(status: str, emails: Sequence[str], reasons: dict[str, str] | None
                 ) -> list[RowOutcome]:
    """Rows of a job that finished ``errored``/``failed``: those its errors file names failed
    for the reason given; the others are accepted, unless the whole job ``failed``.
    ``reasons`` is ``None`` when the errors file could not be read or attributed."""
    if reasons is None:
        if status == "failed":
            return failed(emails, "import job failed", retryable=False)
        return failed(emails, f"import job {status} and its errors file could not be read",
                      retryable=True)
    lower = {k.lower(): v for k, v in reasons.items()}
    whole = status == "failed"
    return [RowOutcome(e, False, lower[e.lower()]) if e.lower() in lower
            else RowOutcome(e, not whole, "import job failed" if whole else None)
            for e in emails]


def contact_encoders(api_fields: Mapping[str, str]
                     ) -> tuple[Callable[[Contact], bytes],
                                Callable[[Sequence[Contact]], list[bytes]]]:
    """Functions giving a contact's upsert JSON, ``{"email", <set fields in API names>}``: for one
    contact, and for a run of them (column by column, faster again).

    Byte for byte what ``encode_json(payload_item(contact))`` gives (compact separators, UTF-8,
    non-ASCII unescaped, fields in ``OPTIONAL_FIELDS`` order, empty ones left out), built by
    string joins instead of a dict and the generic encoder: about twice as fast, which matters
    at 30,000 contacts per request.
    """
    fields = tuple(name for name in OPTIONAL_FIELDS if name in api_fields)
    tags = tuple(f",{encode_basestring(api_fields[name])}:" for name in fields)
    getters = tuple(attrgetter(name) for name in fields)

    def encode(contact: Contact) -> bytes:
        parts = ['{"email":', encode_basestring(contact.email)]
        for tag, name in zip(tags, fields, strict=True):
            value = getattr(contact, name)
            if value:  # None and "" are left out
                parts += (tag, encode_basestring(value))
        parts.append("}")
        return "".join(parts).encode()

    def encode_many(contacts: Sequence[Contact]) -> list[bytes]:
        columns = [[encode_basestring(c.email) for c in contacts]]
        for tag, get in zip(tags, getters, strict=True):
            columns.append([tag + encode_basestring(v) if v else "" for v in map(get, contacts)])
        return [('{"email":' + "".join(row) + "}").encode() for row in zip(*columns, strict=True)]

    return encode, encode_many


#: Maximum lengths SendGrid enforces, by segport name (OpenAPI ``ContactRequest``).
MAX_LENGTHS = {"email": 254, "first_name": 50, "last_name": 50, "country": 50, "state": 50,
               "city": 60}


def too_long(contact: Contact, api_fields: Mapping[str, str]) -> str | None:
    """Why SendGrid would refuse the contact for a value's length (the first such), or None."""
    for name, limit in MAX_LENGTHS.items():
        value = getattr(contact, name)
        if value is not None and len(value) > limit:
            return f"{api_fields.get(name, name)} longer than {limit} characters"
    return None


def any_longer(contacts: Sequence[Contact], limits: Mapping[str, int]) -> bool:
    """Whether any contact has a field (by segport name) longer than its limit."""
    return any(max(map(len, filter(None, map(attrgetter(name), contacts))), default=0) > limit
               for name, limit in limits.items())
