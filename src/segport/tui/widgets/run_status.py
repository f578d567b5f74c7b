"""What the run panel says about a run: its stage, progress, speed and waits, and how it ended."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from segport.engine.outcome import RunResult
from segport.engine.progress import RunState
from segport.tui.format import shown_path
from segport.tui.widgets.run_view import seconds, share, show_reading

OUTCOME_TITLES = {
    "succeeded": "Succeeded",
    "completed_with_rejections": "Completed with rejections",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
STAGES = {"starting": "Starting…", "planning": "Planning…", "sending": "Sending…",
          "refused": "Refused"}


def outcome_of(result: RunResult | None, error: str | None) -> str:
    """How a finished run ended: its result's outcome, else failed (``error``) or cancelled."""
    if result is not None:
        return result.outcome
    return "failed" if error else "cancelled"


def stage_of(state: RunState, outcome: str | None, *, cancelling: bool) -> tuple[str, str]:
    """The stage's class suffix and words (``outcome``: how it ended, None while it runs)."""
    if outcome is not None:
        return outcome, "Refused" if state.refusal else OUTCOME_TITLES.get(outcome, outcome)
    if cancelling:
        return "cancelling", "Cancelling…"
    return "running", STAGES.get(state.stage, state.stage)


def show_progress(bar: ProgressBar, label: Static, state: RunState, *, finished: bool) -> None:
    """Profiles read while planning; then rows answered of rows to send."""
    segments = list(state.segments.values())
    if state.stage in ("starting", "planning") and not finished:
        show_reading(bar, label, segments, "Finding the lists…")
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


def stats_text(state: RunState, result: RunResult | None, *, finished: bool,
               elapsed: float) -> str:
    """Speed (or how long it took), API calls, and the time spent waiting, on two lines."""
    if finished and result is not None and state.refusal:
        speed = f"Planned in {seconds(result.duration)}"
    elif finished and result is not None:
        duration = result.duration
        rate = state.settled / duration if duration > 0 else 0.0
        speed = f"Average {rate:,.0f} rows/s · took {seconds(duration)}"
    else:
        eta = state.eta() if state.stage == "sending" else None
        speed = (f"Throughput {state.rate():,.0f} rows/s · ETA "
                 f"{'…' if eta is None else seconds(eta)} · elapsed {seconds(elapsed)}")
    waits = state.waits
    limited = waits.get("rate_limited", 0.0)
    return (f"{speed} · {state.requests:,} API call{'' if state.requests == 1 else 's'}\n"
            f"Waits, summed over requests: {seconds(limited)} after {state.rate_limited:,} × "
            f"HTTP 429 · {seconds(waits.get('pace', 0.0))} pacing · "
            f"{seconds(waits.get('backoff', 0.0))} back-off")


def totals_text(result: RunResult) -> str:
    """The run's counts in one line: ``5 accepted, 0 removed, …``."""
    c = result.counts
    return ", ".join(f"{c.get(k, 0):,} {k}" for k in (
        "accepted", "removed", "unchanged", "rejected", "failed", "invalid", "duplicates")) + "."


class RunSummary(Vertical):
    """How the run ended, why, and where the file of rows kept back or refused is."""

    def compose(self) -> ComposeResult:
        yield Static(id="panel-outcome")
        yield Static(id="panel-detail")
        yield Static(id="panel-rejected")

    def show(self, result: RunResult | None, error: str | None, state: RunState | None, *,
             may_allow: bool) -> None:
        """Show the end of the run (``state``: the driver's, None when there was none)."""
        self.display = True
        outcome = outcome_of(result, error)
        self.set_classes(f"outcome-{outcome}")
        title = self.query_one("#panel-outcome", Static)
        detail = self.query_one("#panel-detail", Static)
        rejected = self.query_one("#panel-rejected", Static)
        refusal = state.refusal if state is not None else None
        if result is None:
            run_id = state.run_id if state is not None else None
            title.update("Cancelled" if not error else "Failed: the run could not start"
                         if run_id is None else f"Failed · run {run_id}")
            detail.update(error or "Cancelled before it began: nothing was sent and no "
                                   "run was recorded.")
            rejected.display = False
            return
        if refusal:
            title.update(f"Refused before sending · run {result.run_id}")
            note = ("\nPress m (or the button below) to run it anyway, allowing mass removal."
                    if may_allow else "")
            detail.update(refusal + "\nNothing was sent." + note)
        else:
            title.update(f"{OUTCOME_TITLES.get(outcome, outcome)} · run {result.run_id}")
            detail.update(f"{totals_text(result)}" + (f"\n{result.detail}" if result.detail
                                                      else ""))
        rejected.display = result.rejected_file is not None
        if result.rejected_file:
            rejected.update("Rows kept back or refused, with reasons: "
                            f"{shown_path(result.rejected_file)}")
