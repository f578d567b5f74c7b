"""A run's progress on stderr: a live table per segment in a terminal, plain lines otherwise.

One more drawing of :class:`segport.engine.progress.RunState` (the TUI's run panel is the other).
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from segport.engine.events import Event, PlanReady
from segport.engine.progress import RunState

COLUMNS = ("segment", "read", "invalid", "dup", "add", "update", "remove", "unchanged", "sent",
           "accepted", "rejected", "failed")


class RunProgress(RunState):
    """A run state that can draw itself with rich."""

    def __rich__(self) -> Group:
        table = Table(title=f"Export '{self.export}' — {self.stage}", title_justify="left")
        for header in COLUMNS:
            table.add_column(header, justify="left" if header == "segment" else "right")
        for name, s in self.segments.items():
            table.add_row(name, *(f"{v:,}" for v in (
                s.read, s.invalid, s.duplicates, s.adds, s.updates, s.removals, s.unchanged,
                s.sent, s.accepted + s.removed, s.rejected, s.failed)))
        eta = self.eta()
        waits = ", ".join(f"{k.replace('_', ' ')} {v:,.1f} s" for k, v in self.waits.items())
        footer = Text(f"{self.rate():,.0f} rows/s · ETA "
                      f"{'…' if eta is None else f'{eta:,.0f} s'} · waits (summed over requests): "
                      f"{waits or 'none'}",
                      style="dim")
        return Group(table, footer)


class PlainProgress(RunState):
    """Progress as plain lines on a console that is not a terminal (a log, a cron mail)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def __call__(self, event: Event) -> None:
        super().__call__(event)
        if isinstance(event, PlanReady):
            s = self.segment(event.segment)
            self.console.print(
                f"{event.segment}: {s.read:,} read, {s.invalid:,} invalid, {s.duplicates:,} "
                f"duplicates; {s.adds:,} to add, {s.updates:,} to update, {s.removals:,} to "
                f"remove, {s.unchanged:,} unchanged", highlight=False, markup=False)


def live_progress(console: Console) -> tuple[RunState, Live | None]:
    """A progress consumer and, in a terminal, the live display drawing it."""
    if not console.is_terminal:
        return PlainProgress(console), None
    progress = RunProgress()
    return progress, Live(progress, console=console, refresh_per_second=4, transient=False)
