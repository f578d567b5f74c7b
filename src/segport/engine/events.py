"""The progress stream of plan and apply: small frozen records, emitted per batch.

Both faces consume the same events: the TUI's run panel and the CLI's progress. Emitting is a
plain synchronous callback (:data:`EventSink`). :func:`segport.engine.run.run_export` calls it
on the thread running its event loop only (plan events made in the planning thread are handed
over); :func:`segport.engine.plan.plan_export` alone calls it from its own thread. Events are
plain data and cheap to build, never one per row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from segport.engine.outcome import RunResult


@dataclass(frozen=True, slots=True)
class PlanStarted:
    """Planning of one segment begins; ``total_hint`` is the source's member count (or None)."""

    export: str
    segment: str
    total_hint: int | None


@dataclass(frozen=True, slots=True)
class RowsRead:
    """Rows of ``segment`` read so far, and how many of them were invalid.

    ``duplicates`` is known once the whole segment has been read: it is 0 until the last
    ``RowsRead`` of the segment, which has ``done=True``.
    """

    segment: str
    read: int
    invalid: int
    duplicates: int = 0
    done: bool = False


@dataclass(frozen=True, slots=True)
class PlanReady:
    """What a segment's plan holds: the work for apply and the rows kept back."""

    segment: str
    adds: int
    updates: int
    unchanged: int
    removals: int
    invalid: int
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class PlanFinished:
    """The whole export is planned; ``refusal`` says why apply must not run (or None), and
    ``refusal_kinds`` which guards refused it (``cap``, ``mass_removal``)."""

    export: str
    counts: Mapping[str, int]
    refusal: str | None
    duration: float
    refusal_kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run began; ``run_id`` names its run record."""

    run_id: int
    export: str
    connection: str | None = None
    export_user: str | None = None
    segments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ListReady:
    """The list a segment goes to: found by name, created now, or the export's list id."""

    segment: str
    list_id: str
    name: str | None = None
    created: bool = False


@dataclass(frozen=True, slots=True)
class BatchSent:
    """A batch went to the platform and was taken for processing (``kind``: upsert, remove)."""

    segment: str
    kind: str
    size: int


@dataclass(frozen=True, slots=True)
class BatchAcknowledged:
    """The platform settled a batch, committed to the ledger: rows accepted, rejected by the
    platform (the row's fault), and failed (not delivered: network or platform trouble)."""

    segment: str
    accepted: int
    rejected: int
    kind: str = "upsert"
    failed: int = 0


@dataclass(frozen=True, slots=True)
class RateLimited:
    """Waiting ``seconds`` because of the platform's rate limit (429, Retry-After, pacing)."""

    seconds: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RequestLogged:
    """One HTTP attempt (path only, never a key or a query string carrying one)."""

    method: str
    path: str
    status: int | None
    duration: float
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class RunFinished:
    """A run ended; ``result`` is how, exactly as the run returns it (outcome, counts per run
    and per segment, duration, run id, export, why when not a success, rejected file)."""

    result: RunResult

    @property
    def outcome(self) -> str:
        """The result's outcome: succeeded, completed_with_rejections, failed or cancelled."""
        return self.result.outcome


Event = (PlanStarted | RowsRead | PlanReady | PlanFinished | RunStarted | ListReady | BatchSent
         | BatchAcknowledged | RateLimited | RequestLogged | RunFinished)

#: The callback both faces hand to the engine.
EventSink = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """An event sink that drops everything."""


__all__ = [
    "BatchAcknowledged", "BatchSent", "Event", "EventSink", "ListReady", "PlanFinished",
    "PlanReady", "PlanStarted", "RateLimited", "RequestLogged", "RowsRead", "RunFinished",
    "RunStarted", "ignore",
]
