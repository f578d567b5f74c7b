"""The run panel's parts: a live row per segment, the API call log, and how numbers read."""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable, RichLog

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
_TOTAL_KEY = "\x00total"  # a row key no segment can have


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


def _total(state: RunState) -> SegmentState:
    total = SegmentState(planned=all(s.planned for s in state.segments.values()))
    for s in state.segments.values():
        for name in ("read", "invalid", "duplicates", "adds", "updates", "removals",
                     "unchanged", "sent", "accepted", "rejected", "failed", "removed"):
            setattr(total, name, getattr(total, name) + getattr(s, name))
        if s.total_hint is not None:
            total.total_hint = (total.total_hint or 0) + s.total_hint
    return total


class SegmentTable(DataTable[Text]):
    """One live row per segment (and a total): updates only the cells that changed."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="none", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._rows: tuple[str, ...] = ()
        self._shown: dict[str, dict[str, str]] = {}

    def on_mount(self) -> None:
        for key, header in COLUMNS:
            justify = "left" if key == "segment" else "right"
            self.add_column(Text(header, justify=justify), key=key)

    def show(self, state: RunState) -> None:
        """Draw ``state`` (read under the driver's lock)."""
        names = tuple(state.segments)
        rows = names + ((_TOTAL_KEY,) if len(names) > 1 else ())
        if rows != self._rows:
            self.clear()
            self._shown.clear()
            for key in rows:
                label = TOTAL if key == _TOTAL_KEY else key
                self.add_row(Text(label), *(Text("", justify="right") for _ in COLUMNS[1:]),
                             key=key)
            self._rows = rows
        for key in rows:
            seg = _total(state) if key == _TOTAL_KEY else state.segments[key]
            cells = _cells(seg, state.stage)
            shown = self._shown.setdefault(key, {})
            for column, value in cells.items():
                if shown.get(column) != value:
                    shown[column] = value
                    style = "bold" if key == _TOTAL_KEY else ""
                    self.update_cell(key, column, Text(value, style=style, justify="right"),
                                     update_width=True)


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
