"""How the TUI writes run facts: outcome words, local times, ages, durations, paths, table cells.

Shared by the run detail screen, Home's Runs tab and Exports "Last run" column, and the run
panel, so a run reads the same everywhere. Every helper that needs "now" calls
:func:`current_time` through this module's global name, so tests freeze it in one place
(``monkeypatch.setattr(format, "current_time", ...)``). Nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from rich.text import Text

from segport.engine.records import RunRecord

OUTCOME_WORDS = {
    "succeeded": "succeeded",
    "completed_with_rejections": "completed with rejections",
    "failed": "failed",
    "cancelled": "cancelled",
    "running": "running",
}


def current_time() -> datetime:
    """Now, in UTC (tests freeze it)."""
    return datetime.now(UTC)


def outcome_words(outcome: str) -> str:
    """An outcome as people say it ("completed with rejections")."""
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


def parse_time(stamp: str | None) -> datetime | None:
    """A record's ISO 8601 time (UTC when it names no zone); None when absent or unreadable."""
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def local_time(stamp: str | None) -> str:
    """A record's time in this computer's time zone, in full: ``2026-03-04 14:05:09``."""
    when = parse_time(stamp)
    if when is None:
        return stamp or "—"
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def short_time(stamp: str | None, now: datetime | None = None) -> str:
    """A record's local time for a table: ``today 14:05``, ``Mar 4 14:05``, ``2025-03-04``."""
    when = parse_time(stamp)
    if when is None:
        return stamp or "—"
    local, today = when.astimezone(), (now or current_time()).astimezone()
    if local.date() == today.date():
        return f"today {local:%H:%M}"
    if local.year == today.year:
        return f"{local:%b} {local.day} {local:%H:%M}"
    return f"{local:%Y-%m-%d}"


def ago(stamp: str | None, now: datetime | None = None) -> str:
    """How long ago, for the last day ("just now", "2 min ago", "5 h ago"), else the date."""
    when = parse_time(stamp)
    if when is None:
        return stamp or "—"
    seconds = ((now or current_time()) - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return when.astimezone().strftime("%Y-%m-%d")


def duration_text(seconds: float | None, *, compact: bool = False) -> str:
    """``3.2 s``, ``4 min 05 s``, ``2 h 10 min`` (compact: ``4m 05s``, ``2h 10m``); empty when
    unknown (still running)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    minute, second, hour = ("m", "s", "h") if compact else (" min", " s", " h")
    if whole < 3600:
        return f"{whole // 60}{minute} {whole % 60:02d}{second}"
    return f"{whole // 3600}{hour} {whole % 3600 // 60:02d}{minute}"


def last_run_text(record: RunRecord | None, now: datetime | None = None) -> str:
    """An export's latest run for the Exports table: ``succeeded · 2 min ago``, or ``never``."""
    if record is None:
        return "never"
    return f"{outcome_words(record.outcome)} · {ago(record.finished_at or record.started_at, now)}"


def workspace_label(root: Path) -> str:
    """A folder as a person reads it: relative to here, or to home, or in full."""
    for base, prefix in ((Path.cwd(), ""), (Path.home(), "~/")):
        try:
            relative = root.relative_to(base)
        except ValueError:
            continue
        return prefix + str(relative) if str(relative) != "." else (prefix or ".")
    return str(root)


def shown_path(path: str) -> str:
    """A file path as a person at this terminal would type it (relative to here, or to ~)."""
    return workspace_label(Path(path))


def count_text(counts: Mapping[str, int], key: str) -> str:
    """One count of a record, with thousands separators (0 when absent)."""
    return f"{counts.get(key, 0):,}"


def right(text: str) -> Text:
    """A table cell aligned right (numbers)."""
    return Text(text, justify="right")
