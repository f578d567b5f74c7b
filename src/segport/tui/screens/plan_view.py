"""The plan (dry run) view: what a run of an export would do, before it does (product.md §3).

Planning reads every segment through DuckDB: CPU work that would freeze the screen on the
app's loop, so it runs in a thread worker. The planning thread hands each event to
:meth:`PlanView.take`, which folds it into a :class:`~segport.engine.progress.RunState` under a
lock; the screen redraws from that state a few times a second. The finished plan is read into
plain data and closed in the worker: nothing is sent, nothing is written, no spool is kept.
What it draws (the counts table, the summary and guards, the samples) is in
``widgets/plan_parts.py``.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Header, ProgressBar, Static
from textual.worker import Worker, WorkerState

from segport.engine.events import Event
from segport.engine.progress import RunState, SegmentState
from segport.manage.context import Context
from segport.model import Export
from segport.tui.widgets.footer import SegFooter
from segport.tui.widgets.plan_parts import (
    PlanOutcome,
    PlanSamples,
    PlanTable,
    about_text,
    guards_text,
    summary_text,
)
from segport.tui.widgets.run_view import show_reading
from segport.tui.widgets.workers import describe_error

if TYPE_CHECKING:
    from segport.tui.app import SegportApp


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
            yield Static(about_text(self.export), id="plan-about")
            with Horizontal(id="plan-progress-row"):
                yield Static("Planning…", id="plan-stage", classes="stage-running")
                yield ProgressBar(id="plan-progress", show_eta=False)
                yield Static(id="plan-progress-label")
            yield PlanTable(id="plan-segments")
            yield Static(id="plan-summary")
            yield Static(id="plan-refusals")
            with Horizontal(id="plan-buttons", classes="actions"):
                yield Button("Run now", id="plan-run", variant="success", disabled=True)
                yield Button("Close", id="plan-close", variant="primary")
            yield PlanSamples(id="plan-samples-box")
        yield SegFooter()

    def on_mount(self) -> None:
        self.sub_title = f"Plan of '{self.export.name}'"
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
        show_reading(self.query_one("#plan-progress", ProgressBar),
                     self.query_one("#plan-progress-label", Static), segments.values(),
                     "Counting the segments…")
        self.query_one(PlanTable).show_live(segments)

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
        self.query_one(PlanTable).show_plan(outcome)
        summary = self.query_one("#plan-summary", Static)
        summary.update(summary_text(totals, self.export.mode))
        summary.display = True
        guards, kind = guards_text(outcome, self.export)
        box = self.query_one("#plan-refusals", Static)
        box.display = True
        box.update(guards)
        box.set_classes(kind)
        self.query_one(PlanSamples).show(outcome)
        run = self.query_one("#plan-run", Button)
        run.disabled = not self.export.active
        run.tooltip = (None if self.export.active else
                       f"Export '{self.export.name}' is detached; attach it to run it.")
        self.refresh_bindings()

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
