"""The run panel's parts: a live row per segment, the API call log, and how numbers read.

The live table and the reading progress are shared with the plan (dry run) view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable, ProgressBar, RichLog, Static

from segport.engine.events import RequestLogged
from segport.engine.progress import RunState, SegmentState

#: (column key, header): one row per segment, then a total when there are several.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("segment", "Segment"), ("read", "Read"), ("invalid", "Invalid"), ("duplicates", "Dup"),
    ("adds", "Add"), ("updates", "Update"), ("removals", "Remove"), ("unchanged", "Unchanged"),
    ("sent", "Sent"), ("accepted", "Accepted"), ("rejected", "Rejected"), ("failed", "Failed"),
    ("done", "Done"),
)
TOTAL = "All segments"
TOTAL_KEY = "\x00total"  # a row key no segment can have


def seconds(value: float) -> str:
    """A duration as a person reads it: 0.4 s, 12 s, 3 min 05 s, 1 h 02 min."""
    if value < 10:
        return f"{value:.1f} s"
    whole = round(value)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def share(done: int, total: int) -> float:
    """``done`` of ``total`` as a fraction (1.0 when there is nothing to do)."""
    return min(1.0, done / total) if total > 0 else 1.0


def segment_done(s: SegmentState, stage: str) -> str:
    """How far a segment is: reading while planning, then rows settled of rows to send."""
    if not s.planned:
        if s.total_hint:
            return f"{share(s.read, s.total_hint):.0%}" if stage == "planning" else "—"
        return "…" if stage == "planning" else "—"
    if stage == "refused":
        return "—"
    if s.work == 0:
        return "nothing to send"
    return f"{share(s.settled, s.work):.0%}"


def _cells(s: SegmentState, stage: str) -> dict[str, str]:
    numbers = {"read": s.read, "invalid": s.invalid, "duplicates": s.duplicates, "adds": s.adds,
               "updates": s.updates, "removals": s.removals, "unchanged": s.unchanged,
               "sent": s.sent, "accepted": s.accepted + s.removed, "rejected": s.rejected,
               "failed": s.failed}
    cells = {k: f"{v:,}" for k, v in numbers.items()}
    cells["done"] = segment_done(s, stage)
    return cells


def show_reading(bar: ProgressBar, label: Static, segments: Iterable[SegmentState],
                 waiting: str) -> None:
    """Show the profiles read so far: of how many when every segment's size is known, else
    ``waiting`` until the first rows arrive."""
    states = list(segments)
    read = sum(s.read for s in states)
    hints = [s.total_hint for s in states]
    if all(h is not None for h in hints) and sum(hints):  # type: ignore[arg-type]
        total = sum(hints)  # type: ignore[arg-type]
        bar.update(total=total, progress=min(read, total))
        label.update(f"{read:,} of {total:,} profiles read")
    else:
        bar.update(total=None)
        label.update(f"{read:,} profiles read" if read else waiting)


def _total(state: RunState) -> SegmentState:
    total = SegmentState(planned=all(s.planned for s in state.segments.values()))
    for s in state.segments.values():
        for name in ("read", "invalid", "duplicates", "adds", "updates", "removals",
                     "unchanged", "sent", "accepted", "rejected", "failed", "removed"):
            setattr(total, name, getattr(total, name) + getattr(s, name))
        if s.total_hint is not None:
            total.total_hint = (total.total_hint or 0) + s.total_hint
    return total


class LiveTable(DataTable[Text]):
    """Keyed rows redrawn a few times a second: only the cells that changed are updated."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._rows: tuple[str, ...] = ()
        self._shown: dict[str, dict[str, str]] = {}

    def draw(self, rows: Mapping[str, Mapping[str, Text]], label: Callable[[str], Text]) -> None:
        """Show ``rows`` (each row's cells by column key); a new set of rows is laid out
        afresh, each named by ``label(key)`` in the first column."""
        keys = tuple(rows)
        if keys != self._rows:
            self.clear()
            self._shown.clear()
            for key in keys:
                self.add_row(label(key), *(Text("", justify="right")
                                           for _ in range(len(self.columns) - 1)), key=key)
            self._rows = keys
        for key, cells in rows.items():
            shown = self._shown.setdefault(key, {})
            for column, value in cells.items():
                if shown.get(column) != value.plain:
                    shown[column] = value.plain
                    self.update_cell(key, column, value, update_width=True)


class SegmentTable(LiveTable):
    """One live row per segment during a run (and a total when there are several)."""

    def on_mount(self) -> None:
        for key, header in COLUMNS:
            justify = "left" if key == "segment" else "right"
            self.add_column(Text(header, justify=justify), key=key)

    def show(self, state: RunState) -> None:
        """Draw ``state`` (read under the driver's lock)."""
        names = tuple(state.segments)
        rows = names + ((TOTAL_KEY,) if len(names) > 1 else ())
        cells: dict[str, dict[str, Text]] = {}
        for key in rows:
            seg = _total(state) if key == TOTAL_KEY else state.segments[key]
            style = "bold" if key == TOTAL_KEY else ""
            cells[key] = {column: Text(value, style=style, justify="right")
                          for column, value in _cells(seg, state.stage).items()}
        self.draw(cells, lambda key: Text(TOTAL if key == TOTAL_KEY else key))


class CallLog(RichLog):
    """The API calls made: method, path template, status, milliseconds (never a key)."""

    def __init__(self, max_lines: int, **kwargs: object) -> None:
        super().__init__(max_lines=max_lines, wrap=False, markup=False, highlight=False,
                         min_width=40, **kwargs)  # type: ignore[arg-type]

    def _style(self, status: int | None) -> Style:
        variables = self.app.theme_variables
        if status is None or (status >= 400 and status != 429):
            name = "error"
        elif status == 429:
            name = "warning"
        else:
            name = "success"
        colour = variables.get(f"text-{name}") or variables.get(name)
        try:
            return Style.parse(colour) if colour else Style()
        except Exception:  # a theme colour Rich cannot read: plain text is fine
            return Style()

    def add(self, calls: Iterable[RequestLogged]) -> None:
        for call in calls:
            status = "error" if call.status is None else str(call.status)
            line = Text(f"{call.method:<6} {call.path}  ")
            line.append(status, style=self._style(call.status))
            line.append(f"  {call.duration * 1000:,.0f} ms")
            if call.attempt > 1:
                line.append(f"  (attempt {call.attempt})", style="dim")
            self.write(line)
