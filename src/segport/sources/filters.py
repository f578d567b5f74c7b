"""Segment filters: user-written SQL boolean expressions, checked before any database sees them.

A filter is raw SQL by design (``country = 'US' AND lifetime_value > 500``), so it is checked
statically here — one expression, no statement separators, no comments, no write or admin
keywords, balanced parentheses — and every backend also runs it on a read-only connection.
The second half of the module turns database errors about a filter into messages that say
what to fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Literal

from segport.errors import SourceError

Dialect = Literal["duckdb", "sqlite", "postgresql"]

#: Keywords that start or modify statements; refused outside string literals and quoted names.
FORBIDDEN_KEYWORDS = frozenset({
    "INSERT", "UPDATE", "DELETE", "DROP", "CREATE", "ALTER", "ATTACH", "DETACH", "COPY",
    "PRAGMA", "SET", "CALL", "INSTALL", "LOAD", "EXPORT", "IMPORT", "GRANT", "REVOKE",
    "TRUNCATE", "VACUUM", "EXECUTE",
})

#: Functions with side effects that a read-only transaction does not stop everywhere (large
#: objects, notifications, locks, sleeping, server files, running SQL text). Best effort: the
#: database account's own privileges remain the real limit.
FORBIDDEN_FUNCTION_PREFIXES = (
    "lo_", "dblink", "pg_advisory", "pg_try_advisory", "pg_sleep", "pg_read_", "pg_ls_",
    "pg_stat_file", "pg_file_", "pg_terminate", "pg_cancel", "pg_reload", "pg_rotate",
    "pg_notify", "set_config", "query", "getenv", "load_extension",
)

EXAMPLE = "country = 'US' AND lifetime_value > 500"
_WORD = re.compile(r"\w+")


def _refuse(segment: str, problem: str, fix: str) -> SourceError:
    return SourceError(f"Segment '{segment}': the filter {problem} — {fix}")


def _skip_quoted(text: str, start: int, close: str) -> int | None:
    """Index just past the quoted run opening at ``start`` (doubled quotes escape), or None."""
    i = start + 1
    while i < len(text):
        if text[i] == close:
            if close in "'\"" and i + 1 < len(text) and text[i + 1] == close:
                i += 2
                continue
            return i + 1
        i += 1
    return None


def check_filter(segment: str, where: str, dialect: Dialect = "duckdb") -> str:
    """Return the filter, stripped, or raise :class:`SourceError` naming the segment and the fix.

    String literals ('...') and quoted names ("...") may contain anything; everything else is
    scanned for ``;``, comments, forbidden keywords, ``$`` quoting and unbalanced parentheses.
    """
    text = where.strip()
    if not text:
        raise _refuse(segment, "is empty", f"write a condition such as {EXAMPLE}")
    depth, i = 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"" or (ch == "[" and dialect == "sqlite"):
            if ch == "'" and i > 0 and text[i - 1] in "eE" and (i < 2 or not _is_word(text[i - 2])):
                raise _refuse(segment, "uses an escape string (E'...')",
                              "write a plain string literal in single quotes")
            end = _skip_quoted(text, i, "]" if ch == "[" else ch)
            if end is None:
                kind = "string" if ch == "'" else "quoted name"
                raise _refuse(segment, f"has a {kind} that is never closed ({text[i:i + 20]}…)",
                              f"add the closing {']' if ch == '[' else ch}")
            i = end
            continue
        if ch == ";":
            raise _refuse(segment, "contains ';'",
                          f"a filter is one condition, not statements; write e.g. {EXAMPLE}")
        if text.startswith("--", i) or text.startswith("/*", i):
            raise _refuse(segment, "contains a comment (-- or /*)", "remove the comment")
        if ch in "$`":
            raise _refuse(segment, f"contains {ch!r}",
                          "use single quotes for text ('US') and double quotes for names")
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise _refuse(segment, "has a ')' without a matching '('",
                              "balance the parentheses")
        elif _is_word(ch):
            match = _WORD.match(text, i)
            token = match.group() if match else ch
            if token.lstrip("0123456789").upper() in FORBIDDEN_KEYWORDS:
                raise _refuse(
                    segment, f"uses {token.upper()}, which is not allowed in a filter",
                    f"a filter only selects profiles, e.g. {EXAMPLE}; if {token} is a "
                    f'column name, put it in double quotes ("{token}")')
            if _is_call(text, i + len(token)) and token.lower().startswith(
                    FORBIDDEN_FUNCTION_PREFIXES):
                raise _refuse(segment, f"calls {token}(), which is not allowed in a filter",
                              "a filter may only compare and transform the profile's values")
            i += len(token)
            continue
        i += 1
    if depth:
        raise _refuse(segment, f"has {depth} '(' without a matching ')'",
                      "balance the parentheses")
    return text


def _is_call(text: str, end: int) -> bool:
    """Whether the word ending at ``end`` is followed by ``(`` (a function call)."""
    rest = text[end:].lstrip()
    return rest.startswith("(")


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


# --- database errors about a filter -----------------------------------------------------------

_UNKNOWN_COLUMN = (
    re.compile(r'Referenced column "([^"]+)" not found'),       # DuckDB
    re.compile(r"no such column: (\S+)"),                       # SQLite
    re.compile(r'column "([^"]+)" does not exist'),             # PostgreSQL
)
_UNKNOWN_FUNCTION = (
    re.compile(r"Function with name (\w+) does not exist"),     # DuckDB
    re.compile(r"no such function: (\w+)"),                     # SQLite
    re.compile(r"function (\w+)\(.*\) does not exist"),         # PostgreSQL
)
_TYPE_HINTS = ("Conversion Error", "Cannot compare values", "operator does not exist",
               "invalid input syntax for type", "No function matches", "argument of WHERE",
               "datatype mismatch", "Could not convert")
_SYNTAX_HINTS = ("syntax error", "Parser Error", "incomplete input", "unrecognized token")
_ACCESS_HINTS = ("Permission Error", "not authorized", "read-only", "permission denied",
                 "Table with name", "no such table", "does not exist", "Catalog Error")


def close_matches(name: str, available: Sequence[str]) -> list[str]:
    """Column names that look like ``name`` (for "did you mean")."""
    by_lower = {a.lower(): a for a in available}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    return [by_lower[f] for f in found]


def unknown_column_hint(name: str, available: Sequence[str]) -> str:
    """"did you mean 'x'? Available columns: a, b, c" for an unknown column name."""
    near = close_matches(name, available)
    mean = f"did you mean {' or '.join(repr(n) for n in near)}? " if near else ""
    return f"{mean}Available columns: {', '.join(available)}"


def filter_error(segment: str, message: str, columns: Sequence[str]) -> SourceError:
    """Turn a database's first error line about a segment's filter into an actionable error."""
    for pattern in _UNKNOWN_COLUMN:
        if m := pattern.search(message):
            name = m.group(1).rsplit(".", 1)[-1]
            return _refuse(segment, f"refers to a column {name!r} that the profiles do not have",
                           unknown_column_hint(name, columns))
    for pattern in _UNKNOWN_FUNCTION:
        if m := pattern.search(message):
            name = m.group(1)
            return _refuse(segment, f"calls a function {name!r} that the source does not know",
                           f"check its spelling ({message})")
    if any(h in message for h in _TYPE_HINTS):
        return _refuse(segment, f"mixes types ({message})",
                       "quote text values ('US'), leave numbers unquoted (500), and compare "
                       "each column with values of its type")
    if any(h.lower() in message.lower() for h in _SYNTAX_HINTS):
        return _refuse(segment, f"is not a valid SQL condition ({message})",
                       f"write a condition such as {EXAMPLE}")
    if any(h.lower() in message.lower() for h in _ACCESS_HINTS):
        return _refuse(segment, f"reaches outside the profile table ({message})",
                       "a filter may only use the profile columns and built-in functions")
    return _refuse(segment, f"could not be run ({message})",
                   f"check it is a condition such as {EXAMPLE}")
