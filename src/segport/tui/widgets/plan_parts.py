"""The plan (dry run) view's parts: the counts per segment, what the plan says, the samples.

The counts table is a :class:`~segport.tui.widgets.run_view.LiveTable`, like the run panel's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from segport.engine.progress import SegmentState
from segport.model import DESTINATION_LABELS, Export
from segport.tui.widgets.run_view import TOTAL, TOTAL_KEY, LiveTable

if TYPE_CHECKING:  # the plan's types live beside DuckDB: imported in the worker only
    from segport.engine.spool import Counts, Plan, Refusal, SegmentPlan

#: (Counts field, column header), in the order the CLI's ``segport plan`` prints them.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("read", "Read"), ("invalid", "Invalid"), ("duplicates", "Duplicates"), ("adds", "Add"),
    ("updates", "Update"), ("unchanged", "Unchanged"), ("removals", "Remove"),
)
#: (sample kind, tab label, Counts field) for the samples' tabs.
SAMPLE_KINDS: tuple[tuple[str, str, str], ...] = (
    ("add", "To add", "adds"), ("update", "To update", "updates"),
    ("unchanged", "Unchanged", "unchanged"), ("remove", "To remove", "removals"),
    ("invalid", "Invalid", "invalid"), ("duplicate", "Duplicates", "duplicates"),
)
#: How each guard is named where its refusal is shown.
GUARDS = {"cap": "Over the cap", "mass_removal": "Blast-radius guard (mass removal)"}


@dataclass(frozen=True)
class PlanOutcome:
    """What the view keeps of a finished plan (plain data: the plan itself is closed)."""

    segments: tuple[SegmentPlan, ...]
    totals: Counts
    refusals: tuple[Refusal, ...]
    cap: int
    cap_scope: str

    @classmethod
    def of(cls, plan: Plan) -> PlanOutcome:
        return cls(plan.segments, plan.totals, plan.refusals, plan.cap, plan.cap_scope)


def _number(value: int, *, bold: bool = False) -> Text:
    return Text(f"{value:,}", style="bold" if bold else "", justify="right")


def _live_cells(s: SegmentState) -> list[Text]:
    """A segment's row while planning: what is read so far; the rest once it is planned."""
    known = {"read": s.read, "invalid": s.invalid}
    if s.planned:
        known.update(duplicates=s.duplicates, adds=s.adds, updates=s.updates,
                     unchanged=s.unchanged, removals=s.removals)
    return [_number(known[key]) if key in known else Text("…", justify="right")
            for key, _ in COLUMNS]


def _label(key: str) -> Text:
    return Text(TOTAL, style="bold") if key == TOTAL_KEY else Text(key)


class PlanTable(LiveTable):
    """A row per segment: what is read while planning, then the plan's counts (and a total)."""

    def on_mount(self) -> None:
        self.add_column("Segment", key="segment")
        for key, header in COLUMNS:
            self.add_column(Text(header, justify="right"), key=key)

    def show_live(self, segments: Mapping[str, SegmentState]) -> None:
        """Draw the planning progress (states copied under the view's lock)."""
        self._draw({name: _live_cells(s) for name, s in segments.items()}, None)

    def show_plan(self, outcome: PlanOutcome) -> None:
        """Draw the finished plan's counts, with a total when there are several segments."""
        self._draw({s.name: [_number(getattr(s.counts, k)) for k, _ in COLUMNS]
                    for s in outcome.segments},
                   [_number(getattr(outcome.totals, k), bold=True) for k, _ in COLUMNS]
                   if len(outcome.segments) > 1 else None)

    def _draw(self, cells: dict[str, list[Text]], total: list[Text] | None) -> None:
        rows = {**cells, **({TOTAL_KEY: total} if total is not None else {})}
        self.draw({key: {column: value for (column, _), value in zip(COLUMNS, values, strict=True)}
                   for key, values in rows.items()}, _label)


def about_text(export: Export) -> str:
    """Which segments go where, and how their lists are found."""
    label = DESTINATION_LABELS[export.connection_type]
    where = (f"{export.connection} ({label})" if export.connection
             else f"no {label} connection (the export is detached)")
    if export.list_id:
        lists = f"every segment goes to list {export.list_id}."
    else:
        lists = ("each segment goes to the list named after it, found (or created) when the "
                 "export runs; the counts compare with what segport delivered to it before.")
    return f"Segments {', '.join(export.segments)} → {where}: {lists}"


def summary_text(totals: Counts, mode: str) -> str:
    """What a run would send, leave unchanged and keep back, in one sentence."""
    t = totals
    work = t.adds + t.updates + t.removals
    removing = f", {t.removals:,} to remove" if mode == "mirror" else ""
    kept = t.invalid + t.duplicates
    return (f"A run would send {work:,} row{'' if work == 1 else 's'} ({t.adds:,} to add, "
            f"{t.updates:,} to update{removing}), leave {t.unchanged:,} unchanged and keep "
            f"back {kept:,} ({t.invalid:,} invalid, {t.duplicates:,} duplicate"
            f"{'' if t.duplicates == 1 else 's'}).")


def guards_text(outcome: PlanOutcome, export: Export) -> tuple[Text | str, str]:
    """Whether a guard would refuse the run and why, and the box's class (refused / clear)."""
    if outcome.refusals:
        text = Text("A run would be refused: nothing would be sent.", style="bold")
        for refusal in outcome.refusals:
            text.append(f"\n• {GUARDS.get(refusal.kind, refusal.kind)}: ", style="bold")
            text.append(refusal.message)
        kinds = {r.kind for r in outcome.refusals}
        if kinds == {"mass_removal"}:
            text.append("\nRun now opens the run panel, which is refused the same way "
                        "and then offers to run allowing mass removal.")
        return text, "refused"
    members = outcome.totals.members
    guards = (f"No guard refuses this run: {members:,} valid email addresses, within the cap "
              f"of {outcome.cap:,} profiles {outcome.cap_scope}")
    if export.mode == "mirror":
        guards += (", and removals within the export's limit of "
                   f"{export.max_removal_share:.0%} of a list")
    return guards + ".", "clear"


class PlanSamples(Vertical):
    """A few example rows of each kind per segment, a tab per kind."""

    def compose(self) -> ComposeResult:
        yield Static("Samples", classes="section-title")
        yield Static("A few rows of each kind per segment, in the source's order "
                     "(removals by email).", classes="hint")
        with TabbedContent(id="plan-samples"):
            for kind, label, _ in SAMPLE_KINDS:
                with TabPane(label, id=f"samples-{kind}"):
                    yield DataTable(id=f"samples-{kind}-table", cursor_type="none",
                                    zebra_stripes=True)

    def show(self, outcome: PlanOutcome) -> None:
        """Fill the tabs and open the first with rows (To remove when removals are refused)."""
        tabs = self.query_one("#plan-samples", TabbedContent)
        first = None
        for kind, label, field in SAMPLE_KINDS:
            table = self.query_one(f"#samples-{kind}-table", DataTable)
            table.clear(columns=True)
            table.add_columns("Segment", "Key", "Email", "Detail")
            for segment in outcome.segments:
                for sample in segment.samples.get(kind, ()):
                    table.add_row(segment.name, sample.key or "—",
                                  sample.email or "(no email)", sample.detail or "")
            if first is None and table.row_count:
                first = kind
            tabs.get_tab(f"samples-{kind}").label = (
                f"{label} ({getattr(outcome.totals, field):,})")
        if any(r.kind == "mass_removal" for r in outcome.refusals):
            first = "remove"
        tabs.active = f"samples-{first or 'add'}"
        self.display = True
