"""Email addresses: normalise, validate, and say why not — in Python and, identically, in SQL.

Normalising (:func:`normalise`):

1. the value as text (``None`` stays ``None``: a missing email);
2. leading and trailing white space removed — every character in :data:`WHITESPACE` (Unicode
   white space plus zero-width space and the byte-order mark);
3. lower-cased code point by code point (Unicode *simple* lower-case mapping: ``İ`` → ``i``,
   ``Σ`` → ``σ`` wherever it stands);
4. Unicode NFC. An empty result is a missing email.

Accepted (:func:`problem` returns None) — a practical syntax check, not RFC 5322:

- at most 254 characters; exactly one ``@``; no white space or control characters anywhere;
- local part: 1 to 64 characters, dot-separated non-empty runs of ASCII letters, digits,
  ``!#$%&'*+/=?^_`{|}~-`` and Unicode letters, marks and numbers (no leading, trailing or
  doubled dot, no quoted local parts);
- domain: at least two dot-separated labels; each label made of Unicode letters, marks, decimal
  digits and hyphens, not starting or ending with a hyphen; the last label holds a letter or
  mark (so ``a@10.0.0.1`` and bracketed IP literals are refused). Label lengths are not checked.

The plan runs the same rules as DuckDB SQL (:func:`sql_normalise`, :func:`sql_valid`) over
every source; the tests hold the two to agree (code point categories as Python's Unicode
database knows them).
"""

from __future__ import annotations

import re
import unicodedata

#: Characters stripped from both ends of emails and field values.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
              "\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff")
MAX_LENGTH = 254
MAX_LOCAL = 64

MISSING = "missing email"
TOO_LONG = "invalid email: too long"
SPACES = "invalid email: spaces or control characters inside"
NO_AT = "invalid email: no @"
MANY_AT = "invalid email: more than one @"
NO_LOCAL = "invalid email: nothing before @"
LOCAL_TOO_LONG = "invalid email: part before @ too long"
LOCAL = "invalid email: part before @"
NO_DOMAIN = "invalid email: nothing after @"
NO_DOT = "invalid email: domain has no dot"
DOMAIN = "invalid email: domain"

_ATEXT = "a-zA-Z0-9!#$%&'*+/=?^_`{|}~-"
# Python's re has no \p{..}: non-ASCII characters are first mapped onto ASCII stand-ins by
# category (letter/mark -> "a", decimal digit -> "0", other number -> "~", anything else ->
# "\0"), then checked with ASCII classes. SQL uses RE2's \p{..} classes directly.
_LOCAL_RE = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*")
_D, _X, _N = "a-zA-Z0-9", "a-zA-Z", "0-9"
_LABEL = rf"[{_D}](?:[{_D}-]*[{_D}])?"
#: The last label: starts and ends with a letter/mark/digit and holds a letter or mark (written
#: so that the first letter ends the leading digits: RE2 stays fast, ``re`` never backtracks far).
_LAST = rf"(?:[{_X}]|[{_N}][{_N}-]*[{_X}])(?:[{_D}-]*[{_D}])?"
_DOMAIN_RE = re.compile(rf"(?:{_LABEL}\.)+{_LAST}")
_ASCII_VALID = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@(?:{_LABEL}\.)+{_LAST}").fullmatch

_SQL_A = r"[a-zA-Z0-9!#$%&'*+/=?^_`{|}~\-\p{L}\p{M}\p{N}]"
_SQL_D, _SQL_DH = r"[\p{L}\p{M}\p{Nd}]", r"[\p{L}\p{M}\p{Nd}\-]"
_SQL_X, _SQL_N, _SQL_NH = r"[\p{L}\p{M}]", r"[\p{Nd}]", r"[\p{Nd}\-]"
#: The RE2 pattern of the SQL check (no counted repetition, no ambiguous alternation: both make
#: RE2 slow).
SQL_PATTERN = (rf"{_SQL_A}+(?:\.{_SQL_A}+)*@(?:{_SQL_D}(?:{_SQL_DH}*{_SQL_D})?\.)+"
               rf"(?:{_SQL_X}|{_SQL_N}{_SQL_NH}*{_SQL_X})(?:{_SQL_DH}*{_SQL_D})?")
_SQL_WS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"


def _standin(c: str) -> str:
    cat = unicodedata.category(c)
    if cat[0] in "LM":
        return "a"
    if cat == "Nd":
        return "0"
    if cat[0] == "N":
        return "~"
    return "\0"


def _ascii(text: str) -> str:
    """``text`` with every non-ASCII character replaced by its category stand-in."""
    if text.isascii():
        return text
    return "".join(c if c < "\x80" else _standin(c) for c in text)


def simple_lower(text: str) -> str:
    """Lower-case code point by code point (the Unicode simple case mapping)."""
    if text.isascii():
        return text.lower()
    low = text.lower()
    if len(low) == len(text) and "σ" not in low and "ς" not in low:
        return low
    return "".join(c.lower()[0] for c in text)


def normalise(value: object) -> str | None:
    """The normalised email (trimmed, lower-cased, NFC), or None when missing/empty."""
    if value is None:
        return None
    text = (value if isinstance(value, str) else str(value)).strip(WHITESPACE)
    if not text:
        return None
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFC", simple_lower(text)) or None


def is_valid(email: str | None) -> bool:
    """Whether a normalised email passes the check (fast path; see :func:`problem`)."""
    if not email or len(email) > MAX_LENGTH:
        return False
    if not _ASCII_VALID(_ascii(email)):
        return False
    return len(email.partition("@")[0]) <= MAX_LOCAL


def problem(email: str | None) -> str | None:
    """Why a normalised email is refused (a short stable reason), or None when it is valid."""
    if not email:
        return MISSING
    if len(email) > MAX_LENGTH:
        return TOO_LONG
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zs", "Zl", "Zp")
           for c in email):
        return SPACES
    ats = email.count("@")
    if ats == 0:
        return NO_AT
    if ats > 1:
        return MANY_AT
    local, _, domain = email.partition("@")
    if not local:
        return NO_LOCAL
    if len(local) > MAX_LOCAL:
        return LOCAL_TOO_LONG
    if not _LOCAL_RE.fullmatch(_ascii(local)):
        return LOCAL
    if not domain:
        return NO_DOMAIN
    if "." not in domain:
        return NO_DOT
    if not _DOMAIN_RE.fullmatch(_ascii(domain)):
        return DOMAIN
    return None


def check(value: object) -> tuple[str | None, str | None]:
    """``(normalised email, reason)``; the reason is None when the email is valid."""
    email = normalise(value)
    return email, problem(email)


# --- the same rules in DuckDB SQL --------------------------------------------------------------

def sql_trim(expr: str) -> str:
    """SQL: ``expr`` (VARCHAR) with :data:`WHITESPACE` stripped from both ends.

    The replacement only runs when the first or last character is not printable ASCII.
    """
    edge = f"ascii({expr})"
    return (f"CASE WHEN {edge} <= 32 OR {edge} >= 127 OR regexp_matches({expr}, '[^!-~]$') "
            f"THEN regexp_replace({expr}, '^{_SQL_WS}+|{_SQL_WS}+$', '', 'g') ELSE {expr} END")


def sql_normalise(expr: str) -> str:
    """SQL: the normalised email of ``expr`` (any type), NULL when missing or empty."""
    return f"nullif(nfc_normalize(lower({sql_trim(f'CAST({expr} AS VARCHAR)')})), '')"


def sql_valid(email: str) -> str:
    """SQL: whether the normalised email ``email`` passes the check (never NULL)."""
    pattern = SQL_PATTERN.replace("'", "''")
    return (f"coalesce(length({email}) <= {MAX_LENGTH} "
            f"AND instr({email}, '@') <= {MAX_LOCAL + 1} "
            f"AND regexp_full_match({email}, '{pattern}'), false)")
