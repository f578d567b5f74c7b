"""The run panel: one export's run, live, then how it ended (product.md §1.3).

The run goes on in a thread worker (:class:`segport.tui.run_driver.RunDriver`, its own asyncio
loop) so planning and encoding never hold up the screen; the panel redraws from the driver's
folded :class:`~segport.engine.progress.RunState` a few times a second. What it draws (the
segment table, progress, speed, the summary) lives in ``widgets/run_view.py`` and
``widgets/run_status.py``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Header, ProgressBar, Static
from textual.worker import Worker, WorkerState

from segport.engine.outcome import RunResult
from segport.engine.progress import RunState
from segport.manage.running import Prepared
from segport.model import DESTINATION_LABELS
from segport.tui.run_driver import LOG_LINES, RunDriver
from segport.tui.screens.modals import ConfirmModal
from segport.tui.widgets.footer import SegFooter
from segport.tui.widgets.run_status import (
    RunSummary,
    outcome_of,
    show_progress,
    stage_of,
    stats_text,
)
from segport.tui.widgets.run_view import CallLog, SegmentTable
from segport.tui.widgets.workers import describe_error

if TYPE_CHECKING:
    from segport.tui.app import SegportApp


class RunPanel(Screen[RunResult | None]):
    """One export running: a row per segment, progress, rates, waits, API calls; then the
    outcome. Dismisses with the run's result (None when nothing ran)."""

    SCREEN_NAME = "Run"
    HELP = ("The run panel shows an export's run live: per segment the rows read, kept back as "
            "invalid or duplicate, to add, update or remove, unchanged, sent, and what the "
            "platform accepted, rejected or could not take (failed); throughput, the time left, "
            "the waits for rate limits, and the API calls made (never a key). Escape or c "
            "cancels cleanly: batches under way finish and are recorded, and the next run goes "
            "on from there. At the end a summary says how it went and where the file of rows "
            "kept back or refused is; Escape goes back to Home.")
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel_run", "Cancel run", id="run.cancel"),
        Binding("c", "cancel_run", "Cancel run", show=False, id="run.cancel-c"),
        Binding("escape", "close", "Back to Home", id="run.close"),
        Binding("m", "allow_mass_removal", "Run allowing mass removal",
                id="run.allow-mass-removal"),
    ]
    #: Redraws per second while the run goes on.
    REFRESH_HZ: ClassVar[float] = 4.0

    def __init__(self, prepared: Prepared, *, allow_mass_removal: bool = False) -> None:
        super().__init__()
        self.prepared = prepared
        self.export_name = prepared.export.name
        self.driver: RunDriver | None = None
        self.worker: Worker[RunResult | None] | None = None
        #: How the run ended: its result, or why it could not run (``error``).
        self.result: RunResult | None = None
        self.error: str | None = None
        self.finished = False
        self.cancelling = False
        self._allow_mass_removal = allow_mass_removal
        self._timer: Timer | None = None
        self._started = 0.0

    @property
    def seg_app(self) -> SegportApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="panel-body"):
            yield Static(id="panel-heading")
            with Horizontal(id="panel-progress-row"):
                yield Static(id="panel-stage")
                yield ProgressBar(id="panel-progress", show_eta=False)
                yield Static(id="panel-progress-label")
            yield SegmentTable(id="panel-segments")
            yield Static(id="panel-stats")
            yield RunSummary(id="panel-summary")
            with Horizontal(id="panel-buttons", classes="actions"):
                yield Button("Cancel run", id="panel-cancel", variant="error")
                yield Button("Back to Home", id="panel-close", variant="primary")
                yield Button("Run allowing mass removal", id="panel-allow", variant="warning")
            yield Static("API calls", classes="section-title")
            yield CallLog(LOG_LINES, id="panel-log")
        yield SegFooter()

    def on_mount(self) -> None:
        self.sub_title = f"Run of '{self.export_name}'"
        self.start(allow_mass_removal=self._allow_mass_removal)

    def on_unmount(self) -> None:
        if self.driver is not None and not self.finished:
            self.driver.cancel()  # the app is closing: leave a clean 'cancelled' record

    # -- running ---------------------------------------------------------------------------------
    def start(self, *, allow_mass_removal: bool = False) -> None:
        """Start (or start again) the run, in a thread worker."""
        self.driver = RunDriver(self.seg_app.ctx, self.prepared,
                                allow_mass_removal=allow_mass_removal)
        self.result, self.error, self.finished, self.cancelling = None, None, False, False
        self._started = time.monotonic()
        self.query_one("#panel-summary").display = False
        self.query_one(CallLog).clear()
        cancel = self.query_one("#panel-cancel", Button)
        cancel.label, cancel.disabled, cancel.display = "Cancel run", False, True
        self.query_one("#panel-close").display = False
        self.query_one("#panel-allow").display = False
        cancel.focus()
        if self._timer is None:
            self._timer = self.set_interval(1 / self.REFRESH_HZ, self.redraw)
        else:
            self._timer.resume()
        self.worker = self.run_worker(self.driver.run, thread=True, exit_on_error=False,
                                      group="run", name=f"run {self.export_name}")
        self.redraw()
        self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker:
            return
        event.stop()  # reported here, in the summary (not as a toast from the app too)
        if event.state is WorkerState.SUCCESS:
            self._finish(event.worker.result, None)
        elif event.state is WorkerState.ERROR:
            self._finish(None, describe_error(event.worker.error))

    def _finish(self, result: RunResult | None, error: str | None) -> None:
        self.result, self.error, self.finished = result, error, True
        if self._timer is not None:
            self._timer.pause()
        self.redraw()
        self.query_one(RunSummary).show(
            result, error, self.driver.state if self.driver is not None else None,
            may_allow=self.may_allow_mass_removal())
        self.query_one("#panel-cancel").display = False
        close = self.query_one("#panel-close", Button)
        close.display = True
        self.query_one("#panel-allow").display = self.may_allow_mass_removal()
        close.focus()
        self.refresh_bindings()

    def may_allow_mass_removal(self) -> bool:
        """The run was refused only because mirror mode would remove too many members."""
        if not self.finished or self.driver is None:
            return False
        kinds = self.driver.state.refusal_kinds
        return "mass_removal" in kinds and "cap" not in kinds

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Show the run's state as it is now (called by the timer)."""
        driver = self.driver
        if driver is None:
            return
        with driver.lock:
            state = driver.state
            self.query_one(SegmentTable).show(state)
            self._draw_heading(state)
            show_progress(self.query_one("#panel-progress", ProgressBar),
                          self.query_one("#panel-progress-label", Static), state,
                          finished=self.finished)
            self.query_one("#panel-stats", Static).update(stats_text(
                state, self.result, finished=self.finished,
                elapsed=time.monotonic() - self._started))
        self.query_one(CallLog).add(driver.take_calls())

    def _draw_heading(self, state: RunState) -> None:
        connection = self.prepared.connection
        run = f"run {state.run_id}" if state.run_id is not None else "starting"
        self.query_one("#panel-heading", Static).update(
            f"Export '{self.export_name}' → {connection.name} "
            f"({DESTINATION_LABELS[connection.type]}) · export user "
            f"{connection.export_user or '—'} · {run}")
        outcome, text = stage_of(state, outcome_of(self.result, self.error)
                                 if self.finished else None, cancelling=self.cancelling)
        stage = self.query_one("#panel-stage", Static)
        stage.update(text)
        stage.set_classes(f"stage-{outcome}")

    # -- actions ---------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            return False if self.finished else (None if self.cancelling else True)
        if action == "close":
            return self.finished
        if action == "allow_mass_removal":
            return self.may_allow_mass_removal()
        return True

    def action_cancel_run(self) -> None:
        """Ask the run to stop; it finishes the batches under way and records the run."""
        if self.finished or self.driver is None or not self.driver.cancel():
            return
        self.cancelling = True
        button = self.query_one("#panel-cancel", Button)
        button.label, button.disabled = "Cancelling…", True
        self.redraw()
        self.refresh_bindings()

    def action_close(self) -> None:
        if self.finished:
            self.dismiss(self.result)

    def action_allow_mass_removal(self) -> None:
        if not self.may_allow_mass_removal():
            return
        refusal = self.driver.state.refusal if self.driver is not None else ""

        def answered(go: bool | None) -> None:
            if go and self.may_allow_mass_removal():
                self.start(allow_mass_removal=True)

        self.app.push_screen(ConfirmModal(
            f"Run '{self.export_name}' allowing mass removal?",
            f"{refusal}\n\nThe members segport added to the list who have left the segment "
            "are removed from it on the platform. Members someone added by hand are never "
            "touched.", confirm="Run allowing mass removal"), answered)

    @on(Button.Pressed, "#panel-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel_run()

    @on(Button.Pressed, "#panel-close")
    def _close_pressed(self) -> None:
        self.action_close()

    @on(Button.Pressed, "#panel-allow")
    def _allow_pressed(self) -> None:
        self.action_allow_mass_removal()

