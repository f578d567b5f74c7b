"""Runs of Iterable exports against the sandbox emulator, over real HTTP, end to end.

Iterable gets one static list per segment, named exactly like the segment: created by the first
run, reused later. Fields travel as ``dataFields`` (``firstName``, ``lastName``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import e2e_scenarios as scenario
import pytest
from e2e_support import Setup, expected_members, population

from segport.destinations.retry import RetryPolicy
from segport.engine.events import Event, ListReady, PlanFinished, RunStarted
from segport.engine.ledger import Ledger

Build = Callable[..., Setup]


def test_exact_members_then_nothing_then_only_changes_are_sent(setup_for: Build) -> None:
    scenario.exact_members_rerun_and_changes(setup_for("iterable"))


def test_mirror_removes_who_left_keeps_hand_added_and_guards_mass_removal(
        setup_for: Build) -> None:
    scenario.mirror_then_mass_removal_guard(setup_for("iterable"))


def test_mirror_never_removes_members_added_by_hand_before_the_first_run(
        setup_for: Build) -> None:
    scenario.mirror_keeps_members_added_by_hand_before_the_first_run(setup_for("iterable"))


def test_rows_iterable_refuses_land_in_the_rejected_file(setup_for: Build) -> None:
    # Addresses segport's local check accepts (a Unicode letter, a 64-character domain label)
    # that Iterable refuses row by row, in a 200 answer with failCount > 0.
    refused = [("R01", "josé@example.com", "Jo", "Sé", "US", 1),
               ("R02", "long@" + "d" * 64 + ".com", "Lo", "Ng", "US", 2)]
    rows = scenario.platform_rejections(setup_for("iterable"), refused)
    assert rows["R01"]["reason"] == rows["R02"]["reason"] == "invalid email"


def test_overlapping_segments_each_fill_their_own_list(setup_for: Build) -> None:
    setup = setup_for("iterable")
    setup.segment("US", "country = 'US'")
    setup.segment("High", "score >= 50")
    setup.export("news", ["US", "High"])
    result = setup.run("news")
    assert result.outcome == "completed_with_rejections", result

    us = expected_members(setup.rows, lambda r: r[4] == "US")
    high = expected_members(setup.rows, lambda r: r[5] >= 50)
    both = set(us) & set(high)
    assert "person052@example.com" in both and "mixed.case@example.org" in both
    on_us = setup.members(setup.list_named("US"))
    on_high = setup.members(setup.list_named("High"))
    assert set(on_us) == set(us) and set(on_high) == set(high)
    assert len(setup.lists()) == 2
    # Dedupe is per target list: D05 and D06 repeat P000 and P004 in "US", but those two are
    # not in "High", where D05 and D06 are the first (and only) rows of their emails. (Iterable
    # keeps fields per user, not per list: the two rows' names compete for those two users.)
    conflicted = {"person000@example.com", "person004@example.com"}
    assert conflicted <= both
    for email in set(us) - conflicted:
        assert on_us[email] == setup.expected_fields(us)[email]
    for email in set(high) - conflicted:
        assert on_high[email] == setup.expected_fields(high)[email]
    assert result.segments["US"]["duplicates"] == 2
    assert result.segments["High"]["duplicates"] == 0
    assert result.segments["High"]["accepted"] == len(high)
    assert result.counts["accepted"] == len(us) + len(high)

    again = setup.run("news")
    assert again.counts["sent"] == 0 and again.counts["unchanged"] == len(us) + len(high)
    assert setup.requests()["POST /api/lists 200"] == 2  # each list created once


def test_rows_taken_without_an_answer_stay_segports_for_mirror(setup_for: Build) -> None:
    """Iterable did the work but answered too late, so the first run reports every row failed;
    the re-run finds them on the list and knows segport sent them (not someone by hand): when
    they leave the segment, mirror mode removes them."""
    setup = setup_for("iterable")
    setup.write(population(30))
    setup.segment("Everyone", "true")
    setup.export("news", ["Everyone"], mode="mirror")
    setup.sandbox.configure("iterable", {"faults": {
        "only": ["POST /api/lists/subscribe"], "late_rate": 1.0, "hang_seconds": 1.0}})
    first = setup.run("news", timeout=0.3,
                      policy=RetryPolicy(base_s=0.02, cap_s=0.05, budget_s=0.2))
    assert first.outcome == "failed" and first.counts["failed"] == 30, first
    lst = setup.list_named("Everyone")
    assert len(setup.members(lst)) == 30  # the platform took them, unanswered
    marks = Ledger.reader(setup.ctx.workspace.db_path).sent_unconfirmed("news", str(lst["id"]))
    assert marks == set(expected_members(population(30)))

    setup.sandbox.configure("iterable", {"faults": {"late_rate": 0.0}})
    again = setup.run("news")
    assert again.outcome == "succeeded" and again.counts["adds"] == 30, again
    ledger = Ledger.reader(setup.ctx.workspace.db_path).members("news", "Everyone")
    assert len(ledger) == 30 and all(m.added for m in ledger.values())
    assert not Ledger.reader(setup.ctx.workspace.db_path).sent_unconfirmed(
        "news", str(lst["id"]))  # every add answered now: the marks have served

    setup.write(population(27))  # three leave: 10% of the list, within the guard
    gone = setup.run("news")
    assert (gone.outcome, gone.counts["removed"]) == ("succeeded", 3), gone
    assert set(setup.members(setup.list_named("Everyone"))) == set(
        expected_members(population(27)))


class _MakeTheListMeanwhile(list):  # type: ignore[type-arg]
    """An event sink that, once the plan is done (so the plan saw no list), has someone make
    the segment's list by hand and put a segment member on it — before apply looks."""

    def __init__(self, setup: Setup) -> None:
        super().__init__()
        self.setup = setup

    def append(self, event: Event) -> None:
        super().append(event)
        if isinstance(event, PlanFinished):
            self.setup.hand_add(self.setup.create_list("Everyone"), "person003@example.com")


def test_a_list_made_by_hand_between_plan_and_apply_is_checked(setup_for: Build) -> None:
    setup = setup_for("iterable")
    setup.write(population(20))
    setup.segment("Everyone", "true")
    setup.export("news", ["Everyone"], mode="mirror")
    events = _MakeTheListMeanwhile(setup)
    result = setup.run("news", events=events)
    assert result.outcome == "succeeded", result
    ready = [e for e in events if isinstance(e, ListReady)]
    assert len(ready) == 1 and not ready[0].created  # found (made by hand), not made by segport
    ledger = Ledger.reader(setup.ctx.workspace.db_path).members("news", "Everyone")
    assert not ledger["person003@example.com"].added
    assert sum(m.added for m in ledger.values()) == 19
    assert len(setup.lists()) == 1  # one list named Everyone: reused, not made twice


class _Timed(list):  # type: ignore[type-arg]
    """An event sink noting when the run started."""

    started: float = 0.0

    def append(self, event: Event) -> None:
        super().append(event)
        if isinstance(event, RunStarted):
            self.started = time.perf_counter()


def test_a_runs_duration_takes_in_its_end_of_run_snapshot(setup_for: Build,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    setup = setup_for("iterable")
    setup.write(population(20))
    setup.segment("Everyone", "true")
    setup.export("news", ["Everyone"])
    refreshed: list[float] = []
    refresh = Ledger.refresh_snapshots

    def timed(self: Ledger, *args: Any, **options: Any) -> int:
        written = refresh(self, *args, **options)
        refreshed.append(time.perf_counter())
        return written

    monkeypatch.setattr(Ledger, "refresh_snapshots", timed)
    events = _Timed()
    result = setup.run("news", events=events)
    assert result.outcome == "succeeded" and len(refreshed) == 1
    assert result.duration >= refreshed[0] - events.started  # the snapshot included
    record, _ = setup.record(result.run_id)
    assert record.duration == pytest.approx(result.duration)
