"""SendGrid specifics that need no HTTP: what a key's scopes mean, and the errors file of a job."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

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
