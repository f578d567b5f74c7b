"""Adds in flight, by the ``mark_sent`` batch they were written down in (see the ledger).

A mark is narrowed as its rows get answers: an accepted row, or one the platform refused for
good, leaves it; a row that failed in a way the platform may have done it all the same
(a timeout, a lost connection) stays. The ledger stores what is left of each mark touched by a
batch, in the transaction that records that batch — and drops the marks left empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from segport.destinations.values import RowOutcome


class SentMarks:
    """One segment's marks while its adds are in flight (only rows in flight are kept)."""

    def __init__(self, numbers: Iterator[int]) -> None:
        self._numbers = numbers
        self._mark_of: dict[str, int] = {}  # an add in flight → its mark
        self._unknown: dict[int, set[str]] = {}  # a mark → its rows with no definite answer
        self._waiting: dict[int, int] = {}  # a mark → its rows with no answer at all yet

    def open(self, emails: list[str]) -> int:
        """A new mark for these adds, about to be sent; its number."""
        mark = next(self._numbers)
        self._mark_of.update(dict.fromkeys(emails, mark))
        self._unknown[mark] = set(emails)
        self._waiting[mark] = len(emails)
        return mark

    def settle(self, outcomes: Iterable[RowOutcome]) -> dict[int, list[str]]:
        """Each mark these answers touch → its rows still without a definite answer (an empty
        list: the mark may be forgotten)."""
        touched: set[int] = set()
        for outcome in outcomes:
            mark = self._mark_of.pop(outcome.email, None)
            if mark is None:
                continue
            touched.add(mark)
            self._waiting[mark] -= 1
            if outcome.accepted or not outcome.retryable:
                self._unknown[mark].discard(outcome.email)
        left = {mark: sorted(self._unknown[mark]) for mark in touched}
        for mark in touched:
            if not self._waiting[mark]:  # every row answered: nothing more to narrow
                del self._waiting[mark], self._unknown[mark]
        return left
