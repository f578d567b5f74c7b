"""The run panel: one export's run, live, then how it ended (product.md §1.3).

The run goes on in a thread worker (:class:`segport.tui.run_driver.RunDriver`, its own asyncio
loop) so planning and encoding never hold up the screen; the panel redraws from the driver's
folded :class:`~segport.engine.progress.RunState` a few times a second.
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
from segport.tui.widgets.run_view import CallLog, SegmentTable, seconds, share
from segport.tui.widgets.workers import describe_error

if TYPE_CHECKING:
    from segport.tui.app import SegportApp

OUTCOME_TITLES = {
    "succeeded": "Succeeded",
    "completed_with_rejections": "Completed with rejections",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
STAGES = {"starting": "Starting…", "planning": "Planning…", "sending": "Sending…",
          "refused": "Refused"}


def path_label(path: str) -> str:
    """A file path as a person reads it (relative to here or home when it can be)."""
    from pathlib import Path

    from segport.tui.app import workspace_label

    return workspace_label(Path(path))


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
            with Vertical(id="panel-summary"):
                yield Static(id="panel-outcome")
                yield Static(id="panel-detail")
                yield Static(id="panel-rejected")
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
        self._show_summary()
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
            self._draw_progress(state)
            self._draw_stats(state)
        self.query_one(CallLog).add(driver.take_calls())

    def _draw_heading(self, state: RunState) -> None:
        connection = self.prepared.connection
        run = f"run {state.run_id}" if state.run_id is not None else "starting"
        self.query_one("#panel-heading", Static).update(
            f"Export '{self.export_name}' → {connection.name} "
            f"({DESTINATION_LABELS[connection.type]}) · export user "
            f"{connection.export_user or '—'} · {run}")
        stage = self.query_one("#panel-stage", Static)
        if self.finished:
            outcome = self._outcome()
            text = "Refused" if state.refusal else OUTCOME_TITLES.get(outcome, outcome)
        elif self.cancelling:
            outcome, text = "cancelling", "Cancelling…"
        else:
            outcome, text = "running", STAGES.get(state.stage, state.stage)
        stage.update(text)
        stage.set_classes(f"stage-{outcome}")

    def _outcome(self) -> str:
        if self.result is not None:
            return self.result.outcome
        return "failed" if self.error else "cancelled"

    def _draw_progress(self, state: RunState) -> None:
        bar = self.query_one("#panel-progress", ProgressBar)
        label = self.query_one("#panel-progress-label", Static)
        segments = list(state.segments.values())
        if state.stage in ("starting", "planning") and not self.finished:
            read = sum(s.read for s in segments)
            hints = [s.total_hint for s in segments]
            if segments and all(h is not None for h in hints) and sum(hints):  # type: ignore[misc]
                total = sum(hints)  # type: ignore[arg-type]
                bar.update(total=total, progress=min(read, total))
                label.update(f"{read:,} of {total:,} profiles read")
            else:
                bar.update(total=None)
                label.update(f"{read:,} profiles read" if read else "Finding the lists…")
            return
        work, settled = state.work, state.settled
        if state.refusal:
            bar.update(total=1, progress=0)
            label.update(f"Nothing sent: {work:,} rows planned")
        elif work == 0:
            bar.update(total=1, progress=1 if state.finished else 0)
            planned = bool(segments) and all(s.planned for s in segments)
            label.update("Nothing to send: no changes" if planned else "")
        else:
            bar.update(total=work, progress=min(settled, work))
            label.update(f"{settled:,} of {work:,} rows answered ({share(settled, work):.0%})")

    def _draw_stats(self, state: RunState) -> None:
        if self.finished and self.result is not None and state.refusal:
            speed = f"Planned in {seconds(self.result.duration)}"
        elif self.finished and self.result is not None:
            duration = self.result.duration
            rate = state.settled / duration if duration > 0 else 0.0
            speed = f"Average {rate:,.0f} rows/s · took {seconds(duration)}"
        else:
            eta = state.eta() if state.stage == "sending" else None
            speed = (f"Throughput {state.rate():,.0f} rows/s · ETA "
                     f"{'…' if eta is None else seconds(eta)} · elapsed "
                     f"{seconds(time.monotonic() - self._started)}")
        waits = state.waits
        limited = waits.get("rate_limited", 0.0)
        self.query_one("#panel-stats", Static).update(
            f"{speed} · {state.requests:,} API call{'' if state.requests == 1 else 's'}\n"
            f"Rate-limit waits: {seconds(limited)} after {state.rate_limited:,} × HTTP 429 · "
            f"{seconds(waits.get('pace', 0.0))} pacing · "
            f"{seconds(waits.get('backoff', 0.0))} back-off")

    def _show_summary(self) -> None:
        summary = self.query_one("#panel-summary")
        summary.display = True
        outcome = self._outcome()
        summary.set_classes(f"outcome-{outcome}")
        title = self.query_one("#panel-outcome", Static)
        detail = self.query_one("#panel-detail", Static)
        rejected = self.query_one("#panel-rejected", Static)
        result = self.result
        refusal = self.driver.state.refusal if self.driver is not None else None
        if result is None:
            run_id = self.driver.state.run_id if self.driver is not None else None
            title.update("Cancelled" if not self.error else "Failed: the run could not start"
                         if run_id is None else f"Failed · run {run_id}")
            detail.update(self.error or "Cancelled before it began: nothing was sent and no "
                                        "run was recorded.")
            rejected.display = False
            return
        if refusal:
            title.update(f"Refused before sending · run {result.run_id}")
            note = ("\nPress m (or the button below) to run it anyway, allowing mass removal."
                    if self.may_allow_mass_removal() else "")
            detail.update(refusal + "\nNothing was sent." + note)
        else:
            title.update(f"{OUTCOME_TITLES.get(outcome, outcome)} · run {result.run_id}")
            detail.update(f"{_totals(result)}" + (f"\n{result.detail}" if result.detail else ""))
        rejected.display = result.rejected_file is not None
        if result.rejected_file:
            rejected.update("Rows kept back or refused, with reasons: "
                            f"{path_label(result.rejected_file)}")

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


def _totals(result: RunResult) -> str:
    c = result.counts
    return ", ".join(f"{c.get(k, 0):,} {k}" for k in (
        "accepted", "removed", "unchanged", "rejected", "failed", "invalid", "duplicates")) + "."
