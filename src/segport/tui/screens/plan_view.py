"""The plan (dry run) view: what a run of an export would do, before it does (product.md §3).

Planning reads every segment through DuckDB: CPU work that would freeze the screen on the
app's loop, so it runs in a thread worker. The planning thread hands each event to
:meth:`PlanView.take`, which folds it into a :class:`~segport.engine.progress.RunState` under a
lock; the screen redraws from that state a few times a second. The finished plan is read into
plain data and closed in the worker: nothing is sent, nothing is written, no spool is kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    Button,
    DataTable,
    Header,
    ProgressBar,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, WorkerState

from segport.engine.events import Event
from segport.engine.progress import RunState, SegmentState
from segport.manage.context import Context
from segport.model import DESTINATION_LABELS, Export
from segport.tui.widgets.footer import SegFooter
from segport.tui.widgets.workers import describe_error

if TYPE_CHECKING:  # the plan's types live beside DuckDB: imported in the worker only
    from segport.engine.spool import Counts, Plan, Refusal, SegmentPlan
    from segport.tui.app import SegportApp

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
TOTAL = "All segments"
_TOTAL_KEY = "\x00total"  # a row key no segment can have


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


class PlanView(Screen[bool]):
    """A dry run of one export: counts per segment, the guards' refusals and sample rows.
    Dismisses with True when the person asks to run the export now."""

    SCREEN_NAME = "Plan (dry run)"
    HELP = ("The plan shows what a run of this export would do, without doing it: nothing is "
            "sent to the platform and nothing is saved. Per segment: the profiles read, those "
            "kept back (invalid or missing email, duplicates), and what a run would add, "
            "update, leave unchanged and, in mirror mode, remove. Lists found by name "
            "(Iterable, Autopilot) are compared with what segport delivered to them before. "
            "If a guard would refuse the run — over the destination's cap, or the blast-radius "
            "guard against removing too many members — it says so with the reason. The tabs at "
            "the bottom show a few example rows of each kind. Run now opens the run panel; "
            "Escape closes the plan.")
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", "Close", id="plan.close"),
        Binding("r", "run_now", "Run now", id="plan.run-now"),
    ]
    #: Redraws per second while planning.
    REFRESH_HZ: ClassVar[float] = 8.0

    def __init__(self, export: Export) -> None:
        super().__init__()
        self.export = export
        self.lock = threading.Lock()
        #: The planning progress, folded from the engine's events. Read it holding :attr:`lock`.
        self.state = RunState()
        #: The finished plan (None until it is ready, or when it failed).
        self.outcome: PlanOutcome | None = None
        #: Why it could not be planned, if it could not.
        self.error: str | None = None
        self.finished = False
        self.worker: Worker[PlanOutcome] | None = None
        self._stop = threading.Event()
        self._timer: Timer | None = None
        self._rows: tuple[str, ...] = ()
        self._shown: dict[str, dict[str, str]] = {}

    @property
    def seg_app(self) -> SegportApp:
        return self.app  # type: ignore[return-value]

    @property
    def title_text(self) -> str:
        return f"Plan for export '{self.export.name}' ({self.export.mode}) — nothing is sent"

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="plan-body"):
            yield Static(self.title_text, id="plan-title")
            yield Static(self._about(), id="plan-about")
            with Horizontal(id="plan-progress-row"):
                yield Static("Planning…", id="plan-stage", classes="stage-running")
                yield ProgressBar(id="plan-progress", show_eta=False)
                yield Static(id="plan-progress-label")
            yield DataTable(id="plan-segments", cursor_type="none", zebra_stripes=True)
            yield Static(id="plan-summary")
            yield Static(id="plan-refusals")
            with Horizontal(id="plan-buttons", classes="actions"):
                yield Button("Run now", id="plan-run", variant="success", disabled=True)
                yield Button("Close", id="plan-close", variant="primary")
            with Vertical(id="plan-samples-box"):
                yield Static("Samples", classes="section-title")
                yield Static("A few rows of each kind per segment, in the source's order "
                             "(removals by email).", classes="hint")
                with TabbedContent(id="plan-samples"):
                    for kind, label, _ in SAMPLE_KINDS:
                        with TabPane(label, id=f"samples-{kind}"):
                            yield DataTable(id=f"samples-{kind}-table", cursor_type="none",
                                            zebra_stripes=True)
        yield SegFooter()

    def _about(self) -> str:
        export = self.export
        label = DESTINATION_LABELS[export.connection_type]
        where = (f"{export.connection} ({label})" if export.connection
                 else f"no {label} connection (the export is detached)")
        if export.list_id:
            lists = f"every segment goes to list {export.list_id}."
        else:
            lists = ("each segment goes to the list named after it, found (or created) when the "
                     "export runs; the counts compare with what segport delivered to it before.")
        return f"Segments {', '.join(export.segments)} → {where}: {lists}"

    def on_mount(self) -> None:
        self.sub_title = f"Plan of '{self.export.name}'"
        table = self.query_one("#plan-segments", DataTable)
        table.add_column("Segment", key="segment")
        for key, header in COLUMNS:
            table.add_column(Text(header, justify="right"), key=key)
        for widget_id in ("#plan-summary", "#plan-refusals", "#plan-samples-box"):
            self.query_one(widget_id).display = False
        self.query_one("#plan-close", Button).focus()
        self._timer = self.set_interval(1 / self.REFRESH_HZ, self.redraw)
        self.worker = self.run_worker(partial(self._plan, self.seg_app.ctx), thread=True,
                                      exit_on_error=False, group="plan",
                                      name=f"plan {self.export.name}")
        self.redraw()

    def on_unmount(self) -> None:
        self._stop.set()  # closed while planning: the planning thread stops between batches

    # -- the planning thread -----------------------------------------------------------------
    def take(self, event: Event) -> None:
        """The event sink handed to the engine (called from the planning thread)."""
        with self.lock:
            self.state(event)

    def _plan(self, ctx: Context) -> PlanOutcome:
        from segport.manage.planning import plan

        with plan(ctx, self.export.name, on_event=self.take,
                  should_stop=self._stop.is_set) as made:
            return PlanOutcome.of(made)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker:
            return
        event.stop()  # reported here (and as a toast), not by the app's handler too
        if event.state is WorkerState.SUCCESS:
            self._finish(event.worker.result, None)
        elif event.state is WorkerState.ERROR and not self._stop.is_set():
            self._finish(None, describe_error(event.worker.error))

    # -- drawing -----------------------------------------------------------------------------
    def redraw(self) -> None:
        """Show the planning progress as it is now (called by the timer)."""
        if self.finished:
            return
        with self.lock:
            segments = {name: SegmentState(**vars(self.state.segment(name)))
                        for name in self.export.segments}
        read = sum(s.read for s in segments.values())
        hints = [s.total_hint for s in segments.values()]
        bar = self.query_one("#plan-progress", ProgressBar)
        label = self.query_one("#plan-progress-label", Static)
        if all(h is not None for h in hints) and sum(hints):  # type: ignore[arg-type]
            total = sum(hints)  # type: ignore[arg-type]
            bar.update(total=total, progress=min(read, total))
            label.update(f"{read:,} of {total:,} profiles read")
        else:
            bar.update(total=None)
            label.update(f"{read:,} profiles read" if read else "Counting the segments…")
        self._fill_rows({name: _live_cells(s) for name, s in segments.items()}, None)

    def _fill_rows(self, cells: dict[str, list[Text]], total: list[Text] | None) -> None:
        table = self.query_one("#plan-segments", DataTable)
        rows = tuple(cells) + ((_TOTAL_KEY,) if total is not None else ())
        if rows != self._rows:
            table.clear()
            self._shown.clear()
            for key in rows:
                name = Text(TOTAL, style="bold") if key == _TOTAL_KEY else Text(key)
                table.add_row(name, *(Text("") for _ in COLUMNS), key=key)
            self._rows = rows
        for key, values in (*cells.items(), *(((_TOTAL_KEY, total),) if total else ())):
            shown = self._shown.setdefault(key, {})
            for (column, _), value in zip(COLUMNS, values, strict=True):
                if shown.get(column) != value.plain:  # only the cells that changed
                    shown[column] = value.plain
                    table.update_cell(key, column, value, update_width=True)

    def _finish(self, outcome: PlanOutcome | None, error: str | None) -> None:
        self.outcome, self.error, self.finished = outcome, error, True
        if self._timer is not None:
            self._timer.stop()
        stage = self.query_one("#plan-stage", Static)
        bar = self.query_one("#plan-progress", ProgressBar)
        label = self.query_one("#plan-progress-label", Static)
        if outcome is None:
            stage.update("Could not plan")
            stage.set_classes("stage-failed")
            bar.display = False
            label.update("")
            summary = self.query_one("#plan-summary", Static)
            summary.update(error or "")
            summary.set_classes("reason")
            summary.display = True
            self.notify(error or "", title=f"Cannot plan '{self.export.name}'",
                        severity="error", timeout=15)
            self.refresh_bindings()
            return
        totals = outcome.totals
        stage.update("Planned")
        stage.set_classes("stage-refused" if outcome.refusals else "stage-planned")
        bar.update(total=max(totals.read, 1), progress=max(totals.read, 1))
        label.update(f"{totals.read:,} profiles read")
        self._fill_rows({s.name: [_number(getattr(s.counts, k)) for k, _ in COLUMNS]
                         for s in outcome.segments},
                        [_number(getattr(totals, k), bold=True) for k, _ in COLUMNS]
                        if len(outcome.segments) > 1 else None)
        self._show_summary(outcome)
        self._show_refusals(outcome)
        self._show_samples(outcome)
        run = self.query_one("#plan-run", Button)
        run.disabled = not self.export.active
        run.tooltip = (None if self.export.active else
                       f"Export '{self.export.name}' is detached; attach it to run it.")
        self.refresh_bindings()

    def _show_summary(self, outcome: PlanOutcome) -> None:
        t = outcome.totals
        work = t.adds + t.updates + t.removals
        removing = f", {t.removals:,} to remove" if self.export.mode == "mirror" else ""
        kept = t.invalid + t.duplicates
        summary = self.query_one("#plan-summary", Static)
        summary.update(
            f"A run would send {work:,} row{'' if work == 1 else 's'} ({t.adds:,} to add, "
            f"{t.updates:,} to update{removing}), leave {t.unchanged:,} unchanged and keep "
            f"back {kept:,} ({t.invalid:,} invalid, {t.duplicates:,} duplicate"
            f"{'' if t.duplicates == 1 else 's'}).")
        summary.display = True

    def _show_refusals(self, outcome: PlanOutcome) -> None:
        box = self.query_one("#plan-refusals", Static)
        box.display = True
        if outcome.refusals:
            text = Text("A run would be refused: nothing would be sent.", style="bold")
            for refusal in outcome.refusals:
                text.append(f"\n• {GUARDS.get(refusal.kind, refusal.kind)}: ", style="bold")
                text.append(refusal.message)
            kinds = {r.kind for r in outcome.refusals}
            if kinds == {"mass_removal"}:
                text.append("\nRun now opens the run panel, which is refused the same way "
                            "and then offers to run allowing mass removal.")
            box.update(text)
            box.set_classes("refused")
            return
        members = outcome.totals.members
        guards = (f"No guard refuses this run: {members:,} valid email addresses, within the cap "
                  f"of {outcome.cap:,} profiles {outcome.cap_scope}")
        if self.export.mode == "mirror":
            guards += (", and removals within the export's limit of "
                       f"{self.export.max_removal_share:.0%} of a list")
        box.update(guards + ".")
        box.set_classes("clear")

    def _show_samples(self, outcome: PlanOutcome) -> None:
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
        self.query_one("#plan-samples-box").display = True

    # -- actions -----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run_now":
            return True if self.outcome is not None and self.export.active else None
        return True

    def action_close(self) -> None:
        self.dismiss(False)

    def action_run_now(self) -> None:
        if self.outcome is not None and self.export.active:
            self.dismiss(True)

    @on(Button.Pressed, "#plan-run")
    def _run_pressed(self) -> None:
        self.action_run_now()

    @on(Button.Pressed, "#plan-close")
    def _close_pressed(self) -> None:
        self.action_close()
