"""One export run driven off Textual's event loop: its own thread, its own asyncio loop.

The engine plans with DuckDB and encodes JSON: CPU work that would freeze the screen if it ran
on the app's loop. :class:`RunDriver` runs :func:`segport.manage.running.run` with
``asyncio.run`` in the thread that calls :meth:`RunDriver.run` (a Textual thread worker) and is
the run's event sink: it folds every event into a :class:`RunState` under a lock, and keeps the
last API calls for the log. The screen reads both at its own pace (a few times a second), so
thousands of events per second during planning cost the UI nothing.

Cancelling is thread-safe and instant to request: the run's task is cancelled on the run's own
loop, once; the engine then finishes the batches under way and closes the run record as
``cancelled``. Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable

from segport.engine.events import Event, RequestLogged
from segport.engine.outcome import RunResult
from segport.engine.progress import RunState
from segport.manage import running
from segport.manage.context import Context
from segport.manage.running import Prepared

#: How many API calls the log keeps (older ones scroll away).
LOG_LINES = 200


class RunDriver:
    """Runs one prepared export and collects its progress; see the module doc."""

    def __init__(self, ctx: Context, prepared: Prepared, *, allow_mass_removal: bool = False,
                 clock: Callable[[], float] = time.monotonic, log_lines: int = LOG_LINES) -> None:
        self.ctx = ctx
        self.prepared = prepared
        self.allow_mass_removal = allow_mass_removal
        self.lock = threading.Lock()
        #: The folded progress. Read it while holding :attr:`lock`.
        self.state = RunState(clock=clock)
        self._calls: deque[RequestLogged] = deque(maxlen=log_lines)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Future[RunResult] | None = None
        self.cancel_requested = False

    # -- the engine's side (the run's thread) ----------------------------------------------------
    def __call__(self, event: Event) -> None:
        """The event sink handed to the engine."""
        with self.lock:
            if isinstance(event, RequestLogged):
                self._calls.append(event)
            self.state(event)

    def run(self) -> RunResult | None:
        """Run the export to its end in this thread (blocking); None when it was cancelled
        before it began (nothing sent, no run record)."""
        return asyncio.run(self._main())

    async def _main(self) -> RunResult | None:
        task = asyncio.ensure_future(running.run(
            self.ctx, self.prepared, self, allow_mass_removal=self.allow_mass_removal))
        with self.lock:
            self._loop, self._task = asyncio.get_running_loop(), task
            if self.cancel_requested:
                task.cancel()
        try:
            return await task
        except asyncio.CancelledError:
            if task.cancelled():  # cancelled before its first step
                return None
            raise

    # -- the screen's side (any thread) ----------------------------------------------------------
    def cancel(self) -> bool:
        """Ask the run to stop (returns at once). Only the first request counts: a second
        cancel would interrupt the engine while it finishes cleanly."""
        with self.lock:
            if self.cancel_requested:
                return False
            self.cancel_requested = True
            loop, task = self._loop, self._task
        if loop is not None and task is not None and not task.done():
            with contextlib.suppress(RuntimeError):  # the loop closed: the run already ended
                loop.call_soon_threadsafe(task.cancel)
        return True

    def take_calls(self) -> list[RequestLogged]:
        """The API calls logged since the last take (at most the last ``log_lines``)."""
        with self.lock:
            calls = list(self._calls)
            self._calls.clear()
        return calls
