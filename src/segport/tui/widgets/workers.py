"""One way to report a failed worker: a toast saying what happened (never a traceback)."""

from __future__ import annotations

from textual.worker import Worker, WorkerState

from segport.errors import SegportError


def describe_error(error: BaseException | None) -> str:
    """A message for the person: a SegportError's own words, else the class of the bug."""
    if isinstance(error, SegportError):
        return str(error)
    name = type(error).__name__ if error is not None else "unknown error"
    return (f"Unexpected error ({name}). This is a bug in segport; run with SEGPORT_DEBUG=1 "
            "for details, and please report it.")


class ReportWorkerErrors:
    """Mixin for screens: workers run with ``exit_on_error=False`` and fail as a notification."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.notify(describe_error(event.worker.error),  # type: ignore[attr-defined]
                        title="Something went wrong", severity="error", timeout=10)
