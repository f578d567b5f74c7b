"""Apply a plan: ensure each segment's list, send the work, commit each acknowledged batch.

Per segment, in the export's order: the list (found or created by the segment's name for
Iterable and Autopilot, the export's list id otherwise); then adds and updates through
:meth:`Destination.upsert_all` — full batches, paced, several in flight, SendGrid's jobs awaited
— and, in mirror mode, removals. Every settled batch is committed in ONE ledger transaction with
its outcome, its refused rows and the API calls made meanwhile (:meth:`Ledger.record_batch`):
only rows the platform accepted count as delivered. Nothing is kept per row beyond the batches
in flight.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from segport.destinations.base import Destination
from segport.destinations.values import Batch, BatchResult, Contact, RowOutcome
from segport.destinations.wire import RequestRecord
from segport.engine.events import BatchAcknowledged, BatchSent, EventSink, ListReady
from segport.engine.ledger import Ledger
from segport.engine.ledger_schema import now_iso
from segport.engine.marks import SentMarks
from segport.engine.records import ApiCall, Delivered, Rejection
from segport.engine.spool import Change, Plan

#: Rows fetched from the plan's spool at a time (the destination re-batches them).
FETCH_ROWS = 2_000
#: Adds asked about at a time when the list holds members segport did not put there.
CHECK_ROWS = 2_000
#: Removals committed per ledger transaction (each is removed in the platform's batch size).
REMOVE_CHUNK = 1_000
#: Placeholder list id of a segment whose list does not exist yet (``"(new list) SEGMENT"``):
#: matches no ledger row, and two lists still to be created stay two lists.
NEW_LIST = "(new list)"


@dataclass
class CallLog:
    """API calls made since the last commit; each commit takes them (one log, no repeats)."""

    pending: list[ApiCall] = field(default_factory=list)

    def add(self, record: RequestRecord) -> None:
        self.pending.append(ApiCall(record.method, record.path, record.status,
                                    record.duration_s, record.attempt, now_iso()))

    def take(self) -> list[ApiCall]:
        taken, self.pending = self.pending, []
        return taken


def _rejection(outcome: RowOutcome, key: str | None) -> Rejection:
    return Rejection(outcome.email, outcome.reason or "rejected", key, outcome.retryable)


class Applier:
    """Applies one plan with one destination, committing to one run's ledger records."""

    def __init__(self, plan: Plan, destination: Destination, ledger: Ledger, run_id: int,
                 emit: EventSink, calls: CallLog) -> None:
        self.plan, self.dest, self.ledger, self.run_id = plan, destination, ledger, run_id
        self.emit, self.calls = emit, calls
        self._commits: set[asyncio.Future[object]] = set()
        self._marks = itertools.count(1)  # numbers the run's batches of adds (mark_sent)

    @property
    def export(self) -> str:
        return self.plan.export.name

    async def apply(self) -> None:
        """Apply every segment's work, in order."""
        for segment in self.plan.segments:
            counts = segment.counts
            if counts.adds + counts.updates + counts.removals == 0:
                continue
            list_id, created = await self.list_for(segment.name)
            if counts.adds + counts.updates:
                theirs = set() if created or not counts.adds else await self.theirs(
                    segment.name, list_id)
                await self.upsert(segment.name, list_id, theirs)
            if counts.removals:
                await self.remove(segment.name, list_id)

    async def list_for(self, segment: str) -> tuple[str, bool]:
        """The segment's list id (the export's, else found or created by the segment's name),
        and whether it was created now."""
        if self.plan.export.list_id:
            list_id, name, created = self.plan.export.list_id, None, False
        elif (planned := self.plan.segment(segment).list_id) and not planned.startswith(
                NEW_LIST):
            list_id, name, created = planned, segment, False  # found by name before planning
        else:
            ref = await self.dest.ensure_list(segment)  # made now: an empty list (size 0);
            # found after all (someone made it meanwhile): checked like any list found by name
            list_id, name, created = ref.id, ref.name, ref.size == 0
        self.emit(ListReady(segment, list_id, name, created))
        return list_id, created

    async def theirs(self, segment: str, list_id: str) -> set[str]:
        """The segment's adds that the list holds already though segport did not put them
        there (added by hand, or by another tool): recorded as not segport's, so mirror mode
        never removes them. Asked only when the list holds members segport did not record."""
        size = await self.dest.list_size(list_id)
        ours = await asyncio.to_thread(self.ledger.people_on_list, self.export, list_id)
        if size is not None and size <= ours:
            return set()
        found: set[str] = set()
        adds = self.plan.segment(segment).counts.adds
        for emails in self.plan.add_emails(segment, CHECK_ROWS):
            found |= await self.dest.members_among(list_id, emails, size, adds)
        if found:  # segport's all the same: sent before without hearing back, or put on the
            # list for another of the export's segments
            found -= await asyncio.to_thread(self.ledger.sent_unconfirmed, self.export, list_id)
            found -= await asyncio.to_thread(self.ledger.added_among, self.export, list_id,
                                             sorted(found))
        return found

    async def upsert(self, segment: str, list_id: str, theirs: set[str]) -> None:
        """Adds then updates, through the destination's pipelined upload; an add already on
        the list (``theirs``) is delivered but not recorded as segport's membership."""
        in_flight: dict[str, Change] = {}

        def contacts() -> Iterator[Contact]:
            for kind in ("add", "update"):
                for changes in self.plan.changes(segment, kind, FETCH_ROWS):  # type: ignore[arg-type]
                    for change in changes:
                        in_flight[change.contact.email] = change
                        yield change.contact

        def sent(size: int) -> None:
            self.emit(BatchSent(segment, "upsert", size))

        marks = SentMarks(self._marks)

        async def sending(batch: Batch) -> None:
            adds = [c.email for c in batch
                    if in_flight[c.email].kind == "add" and c.email not in theirs]
            if adds:  # written down before they go: see the ledger's sent_unconfirmed
                mark = marks.open(adds)
                await asyncio.to_thread(self.ledger.mark_sent, self.export, list_id,
                                        self.run_id, mark, adds)

        async def settled(result: BatchResult) -> None:
            delivered: list[Delivered] = []
            refused: list[Rejection] = []
            for outcome in result.outcomes:
                change = in_flight.pop(outcome.email, None)
                if change is None:
                    continue  # not ours (a platform echoing a normalised form twice)
                if outcome.accepted:
                    delivered.append(Delivered(
                        outcome.email, change.fingerprint,
                        added=change.kind == "add" and outcome.email not in theirs))
                else:
                    refused.append(_rejection(outcome, change.key))
            await self._commit(segment, list_id, "upsert", delivered, refused,
                               marks.settle(result.outcomes))

        await self.dest.upsert_all(list_id, contacts(), on_batch=settled, on_sent=sent,
                                   on_sending=sending)
        # Anything the platform never answered for is not delivered: say so, never drop it.
        if in_flight:
            await self._commit(segment, list_id, "upsert", [], [
                Rejection(email, "no answer from the platform for this row", change.key, True)
                for email, change in in_flight.items()])

    async def remove(self, segment: str, list_id: str) -> None:
        """Mirror mode: take members who left the segment off the list."""
        for changes in self.plan.changes(segment, "remove", REMOVE_CHUNK):
            emails = [c.contact.email for c in changes]
            self.emit(BatchSent(segment, "remove", len(emails)))
            result = await self.dest.remove(list_id, emails)
            removed = [o.email for o in result.outcomes if o.accepted]
            refused = [_rejection(o, None) for o in result.outcomes if not o.accepted]
            await self._commit(segment, list_id, "remove", removed, refused)

    async def drain(self) -> None:
        """Wait for commits under way (after a cancel: the run record then counts them). A
        further cancel does not cut this short: the commits run on in their threads anyway,
        and take milliseconds."""
        while self._commits:
            try:
                await asyncio.wait(set(self._commits))
            except asyncio.CancelledError:
                continue

    async def _commit(self, segment: str, list_id: str, kind: str,
                      done: list[Delivered] | list[str], refused: list[Rejection],
                      marks: Mapping[int, list[str]] | None = None) -> None:
        """One transaction: the ledger rows, the batch's outcome, its refusals, the calls, and
        what is left of the sent-marks the batch answered."""
        calls = self.calls.take()
        sent = len(done) + len(refused)
        if kind == "remove":
            write = asyncio.to_thread(
                self.ledger.remove_members, self.run_id, self.export, segment,
                removed=done, rejected=refused, calls=calls, list_id=list_id, sent=sent)
        else:
            write = asyncio.to_thread(
                self.ledger.record_batch, self.run_id, self.export, segment, list_id,
                kind=kind, accepted=done, rejected=refused, calls=calls, sent=sent,
                marks=marks or {})
        commit = asyncio.ensure_future(write)
        self._commits.add(commit)
        commit.add_done_callback(self._commits.discard)
        await asyncio.shield(commit)  # a cancelled run still finishes the commit it began
        failed = sum(1 for r in refused if r.retryable)
        self.emit(BatchAcknowledged(segment, len(done), len(refused) - failed, kind, failed))
