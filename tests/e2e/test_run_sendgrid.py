"""Runs of SendGrid exports against the sandbox emulator, over real HTTP, end to end.

SendGrid exports fill the existing list whose id the export names (created here through the
API, as a person would in SendGrid's UI). Uploads are asynchronous: a run is only done when the
import jobs are, and rows a job's ``errors_url`` names are mapped back to their profiles.
"""

from __future__ import annotations

from collections.abc import Callable

import e2e_scenarios as scenario
from e2e_support import Setup, expected_members, person, population

from segport.engine.ledger import Ledger

Build = Callable[..., Setup]


def test_exact_members_then_nothing_then_only_changes_are_sent(setup_for: Build) -> None:
    setup = setup_for("sendgrid")
    scenario.exact_members_rerun_and_changes(setup, setup.create_sendgrid_list("Newsletter"))


def test_mirror_removes_who_left_keeps_hand_added_and_guards_mass_removal(
        setup_for: Build) -> None:
    setup = setup_for("sendgrid")
    scenario.mirror_then_mass_removal_guard(setup, setup.create_sendgrid_list("Newsletter"))


def test_mirror_never_removes_members_added_by_hand_before_the_first_run(
        setup_for: Build) -> None:
    setup = setup_for("sendgrid")
    scenario.mirror_keeps_members_added_by_hand_before_the_first_run(
        setup, setup.create_sendgrid_list("Newsletter"))


def test_rows_sendgrid_refuses_land_in_the_rejected_file(setup_for: Build) -> None:
    # Each refused for a different reason: an address SendGrid's import job reports
    # undeliverable (its errors file), one its upload names as invalid (a 400: set aside, the
    # rest resent), and a first name over SendGrid's 50-character limit.
    refused = [("R01", "bounce.me@example.com", "Bo", "Unce", "US", 1),
               ("R02", "josé@example.com", "Jo", "Sé", "US", 2),
               ("R03", "long.name@example.com", "N" * 60, "Long", "US", 3)]
    setup = setup_for("sendgrid")
    rows = scenario.platform_rejections(setup, refused, setup.create_sendgrid_list("News"))
    assert "does not accept mail" in rows["R01"]["reason"]
    assert "josé@example.com" in rows["R02"]["reason"] and "not valid" in rows["R02"]["reason"]
    assert "first_name" in rows["R03"]["reason"] and "50" in rows["R03"]["reason"]


def test_two_segments_share_the_one_list_deduplicated_across_the_export(
        setup_for: Build) -> None:
    setup = setup_for("sendgrid")
    list_id = setup.create_sendgrid_list("Newsletter")
    setup.segment("US", "country = 'US'")
    setup.segment("High", "score >= 50")
    setup.export("news", ["US", "High"], list_id=list_id)
    result = setup.run("news")
    want = expected_members(setup.rows, lambda r: r[4] == "US" or r[5] >= 50)
    assert set(setup.members(setup.list_with_id(list_id))) == set(want)
    assert result.counts["accepted"] == len(want)
    assert len(setup.lists()) == 1
    # P052 is in both segments: sent once, for the first; the second reports it.
    rows = [r for r in setup.rejected(result) if r["email"] == "person052@example.com"]
    assert [(r["segment"], r["stage"], r["reason"]) for r in rows] == [
        ("High", "duplicate", "duplicate of P052")]


def test_a_member_moving_to_another_segment_of_the_list_stays_segports(setup_for: Build
                                                                      ) -> None:
    """Both segments fill the export's one list. P005 moves from "Regulars" to "Movers" while
    the list also holds someone added by hand (so the run looks its adds up on the platform):
    P005 is found on the list, but segport put P005 there — when P005 leaves, mirror removes
    P005 and keeps the hand-added member."""
    setup = setup_for("sendgrid")
    list_id = setup.create_sendgrid_list("Newsletter")
    setup.write(population(40))
    setup.segment("Regulars", "first_name <> 'Moved'")
    setup.segment("Movers", "first_name = 'Moved'")
    setup.export("news", ["Regulars", "Movers"], list_id=list_id, mode="mirror")
    assert setup.run("news").outcome == "succeeded"
    setup.hand_add(list_id, scenario.HAND)

    setup.write([person(i, first="Moved" if i == 5 else None) for i in range(40)])
    moved = setup.run("news")
    assert moved.outcome == "succeeded", moved
    assert moved.segments["Movers"]["adds"] == 1, moved.segments
    ledger = Ledger.reader(setup.ctx.workspace.db_path)
    assert ledger.members("news", "Movers")["person005@example.com"].added

    setup.write([person(i) for i in range(40) if i != 5])  # P005 leaves
    gone = setup.run("news")
    assert gone.outcome == "succeeded", gone
    members = setup.members(setup.list_with_id(list_id))
    assert "person005@example.com" not in members and scenario.HAND in members
    assert len(members) == 40  # 39 people and the hand-added member
