"""Scenarios every platform goes through; each platform's test file runs them on its emulator.

``list_id`` is the export's list (SendGrid); without it the list is found by the segment's name
(Iterable, Autopilot), and must be created by the first run and reused by later ones. Each
scenario chains several runs of one export (the state one run leaves is what the next starts
from), so that the whole folder stays fast.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from e2e_support import (
    DIRT,
    DIRT_DUPLICATES,
    DIRT_INVALID,
    FIELD_NAMES,
    Row,
    Setup,
    expected_members,
    person,
    population,
)

from segport.engine.ledger import Ledger

#: Requests that only read lists: all a run that has nothing to send may make.
LIST_READS = {"iterable": "GET /api/lists 200", "sendgrid": "GET /v3/marketing/lists 200",
              "autopilot": "GET /v1/lists 200"}
HAND = "hand.added@example.net"
#: The request that tells a list's size (before a run adds anyone to an existing list).
SIZE_READS = {"iterable": "GET /api/lists/{listId}/size 200",
              "sendgrid": "GET /v3/marketing/lists/{id}/contacts/count 200",
              "autopilot": "GET /v1/list/{list_id}/contacts 200"}
#: Requests that ask who is on a list (beyond its size).
MEMBER_READS = {"iterable": ("GET /api/lists/getUsers",),
                "sendgrid": ("POST /v3/marketing/contacts/search/emails",),
                "autopilot": ("GET /v1/list/{list_id}/contact/",
                              "GET /v1/list/{list_id}/contacts/")}


def target(setup: Setup, segment: str, list_id: str | None) -> dict[str, Any]:
    return setup.list_with_id(list_id) if list_id else setup.list_named(segment)


def new_requests(before: Counter[str], after: Counter[str]) -> dict[str, int]:
    return {k: n - before[k] for k, n in after.items() if n != before[k]}


def exact_members_rerun_and_changes(setup: Setup, list_id: str | None = None) -> None:
    """Steps 1, 2, 3 and 7 on one export of the segment "US" (51 valid unique emails among
    57 rows with dirt):

    1. the list holds exactly the valid, unique, normalised emails with their fields, and
       rejected.csv the invalid rows and the duplicates;
    2. a re-run sends nothing and says ``unchanged = 51``; the list is reused;
    3. after two names changed and two people joined, a run sends exactly those four;
    7. the run record says who, where, what and how long, and no file holds the key.
    """
    first_name = FIELD_NAMES[setup.kind][0]
    setup.segment("US", "country = 'US'")
    setup.export("news", ["US"], list_id=list_id)
    lists_before = len(setup.lists())
    first = setup.run("news")

    want = expected_members(setup.rows, lambda r: r[4] == "US")
    assert len(want) == 51 and "mixed.case@example.org" in want
    assert first.outcome == "completed_with_rejections" and first.exit_code == 3, first
    c = first.counts
    assert (c["read"], c["invalid"], c["duplicates"], c["adds"], c["updates"]) == (57, 4, 2, 51, 0)
    assert (c["sent"], c["accepted"], c["rejected"], c["failed"]) == (51, 51, 0, 0)
    lst = target(setup, "US", list_id)
    assert setup.members(lst) == setup.expected_fields(want)
    # the first row of a duplicated email wins: P000's fields, not D05's
    assert setup.members(lst)["person000@example.com"][first_name] == "First0"
    assert len(setup.lists()) == lists_before + (0 if list_id else 1)
    # a list made by this run holds nobody else: its size is not even asked; the export's
    # existing (empty) list is asked once
    assert setup.requests()[SIZE_READS[setup.kind]] == (1 if list_id else 0)

    rows = {r["key"]: r for r in setup.rejected(first)}
    assert set(rows) == DIRT_INVALID | set(DIRT_DUPLICATES)
    for key in DIRT_INVALID:
        assert rows[key]["stage"] == "invalid" and rows[key]["segment"] == "US"
    assert rows["D03"]["reason"] == rows["D04"]["reason"] == "missing email"
    assert rows["D01"]["reason"].startswith("invalid email") and rows["D01"]["email"]
    for key, original in DIRT_DUPLICATES.items():
        assert (rows[key]["stage"], rows[key]["reason"]) == (
            "duplicate", f"duplicate of {original}")

    # 2. nothing changed: nothing sent
    before, members = setup.requests(), setup.members(lst)
    second = setup.run("news")
    assert second.outcome == "completed_with_rejections", second
    c = second.counts
    assert (c["unchanged"], c["adds"], c["updates"], c["sent"], c["accepted"]) == (51, 0, 0, 0, 0)
    assert new_requests(before, setup.requests()).keys() <= {LIST_READS[setup.kind]}
    assert setup.members(target(setup, "US", list_id)) == members
    assert len(setup.lists()) == lists_before + (0 if list_id else 1)  # reused, not recreated
    record, _ = setup.record(second.run_id)
    assert record.counts["unchanged"] == 51 and record.segments["US"]["unchanged"] == 51

    # 3. two names changed, two people joined (P200, P204 are in the US): only those are sent
    renamed = [person(i, first=f"Renamed{i}") if i in (8, 12) else person(i) for i in range(200)]
    setup.write([*renamed, person(200), person(204), *DIRT])
    upserts, upserts_before = setup.upserts(), setup.requests()
    third = setup.run("news", batch=1)  # one contact per request: requests count contacts
    c = third.counts
    assert (c["adds"], c["updates"], c["unchanged"]) == (2, 2, 49), c
    assert (c["sent"], c["accepted"], c["rejected"], c["failed"]) == (4, 4, 0, 0), c
    assert setup.upserts() - upserts == 4
    # the list held only what segport put there: its size said so, nobody was looked up
    asked = new_requests(upserts_before, setup.requests())
    assert asked.get(SIZE_READS[setup.kind]) == 1, asked
    assert not [r for r in asked if r.startswith(MEMBER_READS[setup.kind])], asked
    members = setup.members(target(setup, "US", list_id))
    assert members == setup.expected_fields(expected_members(setup.rows, lambda r: r[4] == "US"))
    assert members["person008@example.com"][first_name] == "Renamed8"
    assert "person204@example.com" in members and len(members) == 53

    # 7. the run record, the call log, and no key anywhere in the workspace
    record, calls = setup.record(first.run_id)
    assert (record.export, record.who, record.connection, record.export_user) == (
        "news", "ana", "Sandbox", "ana")
    assert record.connection_type == setup.kind
    assert record.outcome == "completed_with_rejections"
    assert dict(record.counts) == dict(first.counts)
    assert record.segments["US"]["accepted"] == 51 and record.segments["US"]["invalid"] == 4
    assert record.duration is not None and 0 < record.duration < 60
    assert record.started_at <= (record.finished_at or "")
    assert record.rejected_file == first.rejected_file
    assert calls and all(call.status is not None and call.status < 400 for call in calls)
    assert any("/list" in call.path for call in calls), calls
    assert len(setup.record(third.run_id)[1]) >= 4  # four upserts at least

    files = setup.workspace_bytes()
    assert any(name.endswith("segport.db") for name in files)
    assert sum("/runs/" in name and name.endswith("rejected.csv") for name in files) == 3
    needles = [setup.key.encode(), setup.key[-24:].encode()]  # the key, and its random part
    leaks = [name for name, data in files.items() for n in needles if n in data]
    assert not leaks, f"the API key is in {leaks}"
    assert setup.key not in repr(record) + repr(calls)


def mirror_then_mass_removal_guard(setup: Setup, list_id: str | None = None) -> None:
    """Steps 4 and 5 on one mirror export of 200 people:

    4. members who left disappear, a member added by hand stays; removing exactly the
       export's share (10%) is allowed;
    5. a run that would remove more than 10% is refused (failed, nothing sent, nothing
       removed); allowing mass removal lets it through.
    """
    first_name = FIELD_NAMES[setup.kind][0]
    setup.write(population())
    setup.segment("Everyone", "true")
    setup.export("news", ["Everyone"], list_id=list_id, mode="mirror")
    assert setup.run("news").outcome == "succeeded"
    lst = target(setup, "Everyone", list_id)
    setup.hand_add(str(lst["id"]), HAND)

    # 4. P180..P199 left: 20 of 200, the limit itself
    setup.write(population(180))
    removals = setup.removal_requests()
    second = setup.run("news")
    assert second.outcome == "succeeded", second
    c = second.counts
    assert (c["removals"], c["removed"], c["adds"], c["updates"], c["unchanged"]) == (
        20, 20, 0, 0, 180)
    assert setup.removal_requests() > removals
    members = setup.members(target(setup, "Everyone", list_id))
    assert set(members) == set(expected_members(setup.rows)) | {HAND}

    # 5. 30 of the 180 leave (17%), and one name changes: refused, nothing goes out
    kept: list[Row] = [person(i, first="Changed" if i == 0 else None) for i in range(150)]
    setup.write(kept)
    before = setup.requests()
    refused = setup.run("news")
    assert refused.outcome == "failed" and refused.exit_code == 1, refused
    assert refused.detail is not None
    assert "remove 30 of the 180" in refused.detail and "10%" in refused.detail
    assert "allow mass removal" in refused.detail
    assert refused.counts["sent"] == refused.counts["removed"] == refused.counts["accepted"] == 0
    assert new_requests(before, setup.requests()).keys() <= {LIST_READS[setup.kind]}
    assert setup.members(target(setup, "Everyone", list_id)) == members
    record, _ = setup.record(refused.run_id)
    assert record.outcome == "failed" and record.detail == refused.detail

    allowed = setup.run("news", allow_mass_removal=True)
    assert allowed.outcome == "succeeded", allowed
    assert (allowed.counts["removed"], allowed.counts["updates"]) == (30, 1)
    members = setup.members(target(setup, "Everyone", list_id))
    assert set(members) == set(expected_members(kept)) | {HAND}
    assert members["person000@example.com"][first_name] == "Changed"


def mirror_keeps_members_added_by_hand_before_the_first_run(
        setup: Setup, list_id: str | None = None) -> None:
    """A list that already holds people before segport's first run — two of them in the
    segment, one not: the first run asks the platform who is on the list and records those
    two as not its own; when they leave the segment, mirror mode removes only the members
    segport added, and a newcomer who joins later is segport's again."""
    early = ["person005@example.com", "person007@example.com"]
    setup.write(population(40))
    setup.segment("Everyone", "true")
    lst_id = list_id or setup.create_list("Everyone")
    for email in [*early, HAND]:
        setup.hand_add(lst_id, email)
    setup.export("news", ["Everyone"], list_id=list_id, mode="mirror")

    before = setup.requests()
    first = setup.run("news")
    assert first.outcome == "succeeded", first
    assert (first.counts["adds"], first.counts["accepted"]) == (40, 40)
    asked = new_requests(before, setup.requests())
    assert asked.get(SIZE_READS[setup.kind]) == 1, asked
    # then who is there: Autopilot's size comes with the first page of members (all three)
    looked_up = [r for r in asked if r.startswith(MEMBER_READS[setup.kind])]
    assert looked_up or setup.kind == "autopilot", asked
    members = setup.members(setup.list_with_id(lst_id))
    assert set(members) == set(expected_members(setup.rows)) | {HAND}
    ledger = Ledger.reader(setup.ctx.workspace.db_path).members("news", "Everyone")
    assert sorted(e for e, m in ledger.items() if not m.added) == early
    assert len(ledger) == 40 and HAND not in ledger

    # P005, P007 (there before segport) and P010 (segport's) leave; P040 joins
    setup.write([person(i) for i in [*range(41)] if i not in (5, 7, 10)])
    second = setup.run("news")
    assert second.outcome == "succeeded", second
    c = second.counts
    assert (c["removals"], c["removed"], c["adds"], c["unchanged"]) == (1, 1, 1, 37), c
    members = setup.members(setup.list_with_id(lst_id))
    assert set(members) == set(expected_members(setup.rows)) | {HAND, *early}
    assert "person010@example.com" not in members
    ledger = Ledger.reader(setup.ctx.workspace.db_path).members("news", "Everyone")
    assert ledger["person040@example.com"].added  # looked up, not there before: segport's


def platform_rejections(setup: Setup, refused: list[Row], list_id: str | None = None
                        ) -> dict[str, dict[str, str]]:
    """Step 6: rows the platform refuses are in rejected.csv as ``rejected`` (the caller checks
    the reasons, returned by key), invalid rows as ``invalid``; the outcome says so."""
    setup.write(population(40) + DIRT + refused)
    setup.segment("US", "country = 'US'")
    setup.export("news", ["US"], list_id=list_id)
    result = setup.run("news")

    assert result.outcome == "completed_with_rejections", result
    c = result.counts
    assert (c["invalid"], c["duplicates"], c["rejected"], c["failed"]) == (4, 2, len(refused), 0)
    assert c["accepted"] == 11 and c["sent"] == 11 + len(refused)
    rows = {r["key"]: r for r in setup.rejected(result)}
    assert {k for k, r in rows.items() if r["stage"] == "rejected"} == {r[0] for r in refused}
    assert {k for k, r in rows.items() if r["stage"] == "invalid"} == DIRT_INVALID
    for key, email, *_ in refused:
        assert rows[key]["email"] == email and rows[key]["segment"] == "US"
    members = setup.members(target(setup, "US", list_id))
    assert len(members) == 11 and not {r[1] for r in refused} & set(members)
    record, _ = setup.record(result.run_id)
    assert record.outcome == "completed_with_rejections"
    assert record.counts["rejected"] == len(refused)
    return rows
