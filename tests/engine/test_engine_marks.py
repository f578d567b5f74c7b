"""Sent-marks narrow as their rows get answers; a cancelled run waits for its commits."""

from __future__ import annotations

import itertools

from segport.destinations.values import RowOutcome
from segport.engine.marks import SentMarks


def test_marks_keep_only_rows_without_a_definite_answer() -> None:
    marks = SentMarks(itertools.count(7))
    first = marks.open(["a", "b", "c"])
    second = marks.open(["d"])
    assert (first, second) == (7, 8)
    # a accepted, b refused for good, c timed out (the platform may have taken it)
    assert marks.settle([RowOutcome("a", True), RowOutcome("b", False, "bad", retryable=False),
                         RowOutcome("c", False, "timeout", retryable=True)]) == {7: ["c"]}
    assert marks.settle([RowOutcome("d", True)]) == {8: []}  # forget mark 8
    assert marks.settle([RowOutcome("a", True), RowOutcome("x", True)]) == {}  # not in flight


def test_a_mark_answered_in_parts_is_narrowed_each_time() -> None:
    marks = SentMarks(itertools.count(1))
    mark = marks.open(["a", "b", "c"])
    assert marks.settle([RowOutcome("b", False, "timeout", retryable=True)]) == {
        mark: ["a", "b", "c"]}  # a and c: no answer yet
    assert marks.settle([RowOutcome("a", True)]) == {mark: ["b", "c"]}
    assert marks.settle([RowOutcome("c", True)]) == {mark: ["b"]}


async def test_drain_outlasts_a_second_cancel() -> None:
    """A commit under way when a cancelled run is cancelled again still ends before the run
    record is closed (its thread commits anyway: the record must count it)."""
    import asyncio
    import threading

    from segport.engine.apply import Applier, CallLog

    applier = Applier(None, None, None, 1, lambda event: None, CallLog())  # type: ignore[arg-type]
    gate = threading.Event()
    commit = asyncio.ensure_future(asyncio.to_thread(gate.wait, 30))
    applier._commits.add(commit)
    commit.add_done_callback(applier._commits.discard)
    drain = asyncio.create_task(applier.drain())
    await asyncio.sleep(0)
    for _ in range(2):
        drain.cancel()
        await asyncio.sleep(0)
    assert not drain.done() and not commit.done()
    gate.set()
    await drain
    assert commit.done() and not commit.cancelled() and commit.result() is True
