"""A run's progress folded from its events: what both faces show (counters, rate, ETA, waits).

:class:`RunState` is an event sink: hand it every event of a run and read its counters. It
keeps nothing per row; the CLI's live table and the TUI's run panel draw from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from segport.engine.events import (
    BatchAcknowledged,
    BatchSent,
    Event,
    ListReady,
    PlanFinished,
    PlanReady,
    PlanStarted,
    RateLimited,
    RequestLogged,
    RowsRead,
    RunFinished,
    RunStarted,
)
from segport.engine.outcome import RunResult


@dataclass
class SegmentState:
    """One segment: planned counts, then what was sent and settled."""

    total_hint: int | None = None
    read: int = 0
    invalid: int = 0
    duplicates: int = 0
    adds: int = 0
    updates: int = 0
    unchanged: int = 0
    removals: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    removed: int = 0
    list_id: str | None = None
    planned: bool = False

    @property
    def work(self) -> int:
        """Rows to send: adds, updates and removals."""
        return self.adds + self.updates + self.removals

    @property
    def settled(self) -> int:
        """Rows the platform answered for (accepted, refused, failed, removed)."""
        return self.accepted + self.rejected + self.failed + self.removed


@dataclass
class RunState:
    """Folds a run's events; see the module doc. ``clock`` is for tests."""

    clock: Callable[[], float] = time.monotonic
    export: str = ""
    run_id: int | None = None
    stage: str = "starting"
    segments: dict[str, SegmentState] = field(default_factory=dict)
    waits: dict[str, float] = field(default_factory=dict)
    rate_limited: int = 0
    requests: int = 0
    refusal: str | None = None
    refusal_kinds: tuple[str, ...] = ()
    #: How the run ended, once it has (from :class:`RunFinished`).
    finished: RunResult | None = None
    sending_since: float | None = None

    def segment(self, name: str) -> SegmentState:
        return self.segments.setdefault(name, SegmentState())

    def __call__(self, event: Event) -> None:
        """Take one event."""
        match event:
            case RunStarted():
                self.export, self.run_id, self.stage = event.export, event.run_id, "planning"
                for name in event.segments:
                    self.segment(name)
            case PlanStarted():
                self.segment(event.segment).total_hint = event.total_hint
            case RowsRead():
                s = self.segment(event.segment)
                s.read, s.invalid, s.duplicates = event.read, event.invalid, event.duplicates
            case PlanReady():
                s = self.segment(event.segment)
                s.adds, s.updates, s.unchanged = event.adds, event.updates, event.unchanged
                s.removals, s.invalid = event.removals, event.invalid
                s.duplicates, s.planned = event.duplicates, True
            case PlanFinished():
                self.refusal, self.refusal_kinds = event.refusal, event.refusal_kinds
                self.stage = "refused" if event.refusal else "sending"
                self.sending_since = self.clock()
            case ListReady():
                self.segment(event.segment).list_id = event.list_id
            case BatchSent():
                self.segment(event.segment).sent += event.size
            case BatchAcknowledged():
                s = self.segment(event.segment)
                if event.kind == "remove":
                    s.removed += event.accepted
                else:
                    s.accepted += event.accepted
                s.rejected += event.rejected
                s.failed += event.failed
            case RateLimited():
                self.waits[event.reason] = self.waits.get(event.reason, 0.0) + event.seconds
                self.rate_limited += event.reason == "rate_limited"
            case RequestLogged():
                self.requests += 1
            case RunFinished():
                self.finished, self.stage = event.result, event.result.outcome

    @property
    def work(self) -> int:
        return sum(s.work for s in self.segments.values())

    @property
    def settled(self) -> int:
        return sum(s.settled for s in self.segments.values())

    def rate(self) -> float:
        """Rows settled per second since sending began."""
        if self.sending_since is None:
            return 0.0
        elapsed = self.clock() - self.sending_since
        return self.settled / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds until every planned row is settled at the current rate (None: unknown)."""
        left = max(0, self.work - self.settled)
        if not left:
            return 0.0
        rate = self.rate()
        return left / rate if rate > 0 else None
