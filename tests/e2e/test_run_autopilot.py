"""Runs of Autopilot exports against the sandbox emulator, over real HTTP, end to end.

Autopilot gets one list per segment, named after it (created when missing, then reused), or an
existing list; contacts join it in the bulk upsert itself (``_autopilot_list``), ≤ 100 per
call, with fields in Autopilot's names (``FirstName``, ``LastName``).
"""

from __future__ import annotations

from collections.abc import Callable

import e2e_scenarios as scenario
from e2e_support import Setup, person, population

from segport.destinations.retry import RetryPolicy
from segport.engine.ledger import Ledger

Build = Callable[..., Setup]


def test_exact_members_then_nothing_then_only_changes_are_sent(setup_for: Build) -> None:
    scenario.exact_members_rerun_and_changes(setup_for("autopilot"))


def test_mirror_removes_who_left_keeps_hand_added_and_guards_mass_removal(
        setup_for: Build) -> None:
    scenario.mirror_then_mass_removal_guard(setup_for("autopilot"))


def test_mirror_never_removes_members_added_by_hand_before_the_first_run(
        setup_for: Build) -> None:
    scenario.mirror_keeps_members_added_by_hand_before_the_first_run(setup_for("autopilot"))


def test_rows_autopilot_refuses_land_in_the_rejected_file(setup_for: Build) -> None:
    # Addresses segport's local check accepts but Autopilot's does not: the whole call is
    # refused with a 400 naming the row; segport sets that row aside and resends the rest.
    refused = [("R01", "josé@example.com", "Jo", "Sé", "US", 1),
               ("R02", "long@" + "d" * 64 + ".com", "Lo", "Ng", "US", 2)]
    setup = setup_for("autopilot")
    rows = scenario.platform_rejections(setup, refused)
    for key, email, *_ in refused:
        assert "Email is not a valid email" in rows[key]["reason"]
        assert repr(email) in rows[key]["reason"]
    assert setup.requests()["POST /v1/contacts 400"] == 2  # one refusal per bad row
    assert len(setup.lists()) == 1


def test_member_moving_between_segments_of_one_list_is_removed_once(setup_for: Build) -> None:
    # An existing list for both segments; P000 moves from "US" to "FR" (it stays on the list),
    # then leaves both: one removal, counted once, and nothing left behind for a later run.
    setup = setup_for("autopilot", population(40))
    response = setup.api("POST", "/v1/list", {"name": "Newsletter"})
    list_id = response.json()["list_id"]
    setup.segment("US", "country = 'US'")
    setup.segment("FR", "country = 'FR'")
    setup.export("news", ["US", "FR"], list_id=list_id, mode="mirror")
    assert setup.run("news").counts["accepted"] == 20

    moved = (*person(0)[:4], "FR", 0)
    setup.write([moved, *population(40)[1:]])
    second = setup.run("news")
    assert (second.counts["removals"], second.segments["FR"]["adds"]) == (0, 1), second
    assert "person000@example.com" in setup.members(setup.list_with_id(list_id))

    setup.write(population(40)[1:])
    removals = setup.removal_requests()
    third = setup.run("news")
    assert (third.counts["removals"], third.counts["removed"]) == (1, 1), third
    assert setup.removal_requests() - removals == 1
    members = setup.members(setup.list_with_id(list_id))
    assert len(members) == 19 and "person000@example.com" not in members
    ledger = Ledger.reader(setup.ctx.workspace.db_path)  # forgotten for both segments
    assert not any("person000@example.com" in ledger.members("news", s) for s in ("US", "FR"))
    assert len(ledger.members("news", "US")) + len(ledger.members("news", "FR")) == 19


def test_rows_not_delivered_fail_the_run_and_the_next_run_sends_them(setup_for: Build) -> None:
    # Every upload answered 503 until the client gives up: no row is delivered. The run is
    # failed (never "succeeded"), the rows are in rejected.csv as "failed", and nothing was
    # recorded as delivered: once the platform is well again, the next run sends them all.
    setup = setup_for("autopilot", population(10))
    setup.segment("Everyone", "true")
    setup.export("news", ["Everyone"])
    setup.sandbox.configure("autopilot", {"faults": {
        "error_rate": 1.0, "error_statuses": [503], "only": ["POST /v1/contacts"]}})
    failed = setup.run("news", policy=RetryPolicy(base_s=0.05, budget_s=0.5))
    assert (failed.outcome, failed.exit_code) == ("failed", 1), failed
    assert (failed.counts["failed"], failed.counts["accepted"]) == (10, 0)
    assert failed.detail is not None and "could not be delivered" in failed.detail
    rows = setup.rejected(failed)
    assert len(rows) == 10 and {r["stage"] for r in rows} == {"failed"}
    assert all("503" in r["reason"] for r in rows)
    assert setup.members(setup.list_named("Everyone")) == {}

    setup.sandbox.configure("autopilot", {"faults": {"error_rate": 0.0}})
    again = setup.run("news")
    assert (again.outcome, again.counts["adds"], again.counts["accepted"]) == (
        "succeeded", 10, 10), again
    assert len(setup.members(setup.list_named("Everyone"))) == 10
