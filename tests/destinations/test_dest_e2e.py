"""The clients against the sandbox emulators over real loopback HTTP (uvicorn, ephemeral ports).

Each test starts from a reset sandbox; the fixture's teardown checks that no key reached any
request record or log line, and the tests check exception texts themselves.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from dest_support import EU_KEY, SG_ADMIN, SG_NO_MARKETING

from segport.destinations import (
    Contact,
    Destination,
    DestinationAuthError,
    DestinationError,
    DestinationTimeoutError,
    DestinationUnreachableError,
    RequestRecord,
    RetryPolicy,
    WrongDataCenterError,
    make_destination,
)
from segport.sandbox.defaults import DEMO_KEYS

KINDS = ["iterable", "sendgrid", "autopilot"]
ALL_KEYS = [*DEMO_KEYS.values(), EU_KEY, SG_NO_MARKETING, SG_ADMIN]
BAD_KEYS = {"iterable": "wrong-iterable-key-000", "sendgrid": "SG.wrong.key-000",
            "autopilot": "wrong-autopilot-key-000"}
Connect = Callable[..., Destination]


def contacts(n: int, prefix: str = "user") -> list[Contact]:
    return [Contact(f"{prefix}{i}@example.com", f"First{i}", f"Last{i}", "New Zealand",
                    "Auckland", "Auckland", f"{1000 + i}") for i in range(n)]


def assert_clean(exc: BaseException) -> None:
    text = f"{exc}{exc!r}{exc.__cause__!r}{exc.__context__!r}"
    assert not any(key in text for key in ALL_KEYS)


def members(sandbox: Any, kind: str, list_id: str) -> dict[str, dict[str, Any]]:
    for lst in sandbox.state(kind)["lists"]:
        if str(lst["id"]) == list_id:
            return {m["email"].lower(): m["fields"] for m in lst["members"]}
    raise AssertionError(f"list {list_id} not in the {kind} sandbox")


def requests(sandbox: Any, kind: str, label: str = "") -> int:
    return sum(n for k, n in sandbox.state(kind)["requests"].items() if label in k)


@pytest.fixture
async def connect(sandbox: Any, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Connect]:
    caplog.set_level(logging.DEBUG)
    made: list[Destination] = []
    records: list[RequestRecord] = []

    def build(kind: str, key: str | None = None, **options: Any) -> Destination:
        options.setdefault("on_record", records.append)
        options.setdefault("base_url", sandbox.base_url(kind))
        dest = make_destination(kind, key or DEMO_KEYS[kind], **options)  # type: ignore[arg-type]
        made.append(dest)
        return dest

    yield build
    for dest in made:
        await dest.aclose()
    text = caplog.text + "".join(repr(r) for r in records) + "".join(repr(d) for d in made)
    assert records, "no request was recorded"
    assert not any(key in text for key in ALL_KEYS)


# --- Connect ---

@pytest.mark.parametrize("kind", KINDS)
async def test_validate_good_key_shows_lists(connect: Connect, kind: str) -> None:
    dest = connect(kind)
    ref = await dest.ensure_list("Newsletter")
    info = await dest.validate()
    assert ref in [replace(r, size=ref.size) for r in info.lists]
    if kind == "sendgrid":
        assert "marketing.read" in info.scopes and info.warnings == ()
    if kind == "autopilot":
        assert info.account == "Sandbox account"


@pytest.mark.parametrize("kind", KINDS)
async def test_validate_bad_key_fails_fast(connect: Connect, sandbox: Any, kind: str) -> None:
    with pytest.raises(DestinationAuthError) as info:
        await connect(kind, BAD_KEYS[kind]).validate()
    assert_clean(info.value)
    assert requests(sandbox, kind, " 401") == 1


async def test_sendgrid_scope_warnings(connect: Connect) -> None:
    info = await connect("sendgrid", SG_NO_MARKETING).validate()
    assert info.lists == () and any("no marketing" in w for w in info.warnings)
    info = await connect("sendgrid", SG_ADMIN).validate()
    assert any("far more" in w for w in info.warnings)


async def test_iterable_key_of_the_other_data_centre(connect: Connect) -> None:
    from segport.sandbox.config import IterableConfig
    from segport.sandbox.server import Sandbox

    with Sandbox(port=0, kinds=["iterable"],
                 iterable=IterableConfig(data_center="eu", keys={EU_KEY: "eu"})) as eu:
        probe = connect("iterable", EU_KEY, data_center="us", other_dc_url=eu.base_url("iterable"))
        with pytest.raises(WrongDataCenterError, match="EU") as info:
            await probe.validate()
        assert info.value.suggested == "eu"
        assert_clean(info.value)
        assert (await connect("iterable", EU_KEY, base_url=eu.base_url("iterable"),
                              data_center="eu").validate()).data_center == "eu"
    blind = connect("iterable", EU_KEY, data_center="us")  # no other data centre to ask
    with pytest.raises(DestinationAuthError, match="may belong to the EU data centre") as plain:
        await blind.validate()
    assert_clean(plain.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_validate_unreachable(connect: Connect, kind: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    dest = connect(kind, base_url=f"http://127.0.0.1:{port}", validate_budget_s=1)
    with pytest.raises(DestinationUnreachableError, match="could not be reached") as info:
        await dest.validate()
    assert_clean(info.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_validate_timeout(connect: Connect, sandbox: Any, kind: str) -> None:
    sandbox.configure(kind, {"faults": {"timeout_rate": 1.0, "hang_seconds": 5}})
    dest = connect(kind, timeout=0.5, validate_budget_s=1)
    started = time.monotonic()
    with pytest.raises(DestinationTimeoutError, match="did not answer in time") as info:
        await dest.validate()
    assert time.monotonic() - started < 4
    assert_clean(info.value)


# --- lists, upsert, remove ---

@pytest.mark.parametrize("kind", KINDS)
async def test_ensure_list_twice_is_the_same_list(connect: Connect, sandbox: Any,
                                                  kind: str) -> None:
    dest = connect(kind)
    first = await dest.ensure_list("VIP customers")
    again = await connect(kind).ensure_list("VIP customers")
    assert (first.id, first.name) == (again.id, again.name)
    assert [lst["name"] for lst in sandbox.state(kind)["lists"]] == ["VIP customers"]


EXPECTED_FIELDS = {
    "iterable": {"firstName": "First7", "lastName": "Last7"},
    "sendgrid": {"first_name": "First7", "last_name": "Last7", "country": "New Zealand",
                 "state_province_region": "Auckland", "city": "Auckland", "postal_code": "1007"},
    "autopilot": {"FirstName": "First7", "LastName": "Last7", "MailingCountry": "New Zealand",
                  "MailingState": "Auckland", "MailingCity": "Auckland",
                  "MailingPostalCode": "1007"},
}


@pytest.mark.parametrize("kind", KINDS)
async def test_upsert_then_remove(connect: Connect, sandbox: Any, kind: str) -> None:
    dest = connect(kind)
    ref = await dest.ensure_list("Segment A")
    people = contacts(250)
    result = await dest.upsert_all(ref.id, people)
    assert sorted(result.accepted) == sorted(c.email for c in people) and result.confirmed
    stored = members(sandbox, kind, ref.id)
    assert set(stored) == {c.email for c in people}
    assert stored["user7@example.com"] == EXPECTED_FIELDS[kind]
    gone = [c.email for c in people[:10]] + ["never-added@example.com"]
    removed = await dest.remove(ref.id, gone)
    assert sorted(removed.accepted) == sorted(gone) and removed.confirmed
    assert set(members(sandbox, kind, ref.id)) == {c.email for c in people[10:]}


@pytest.mark.parametrize("kind", KINDS)
async def test_bad_rows_are_split_out(connect: Connect, sandbox: Any, kind: str) -> None:
    dest = connect(kind)
    ref = await dest.ensure_list("Mixed")
    people = [*contacts(3), Contact("not-an-email"), *contacts(2, "more"), Contact("x@y")]
    result = await dest.upsert(ref.id, people)
    assert {o.email for o in result.rejected} == {"not-an-email", "x@y"}
    assert all(o.reason and not o.retryable for o in result.rejected)
    assert len(result.accepted) == 5 and len(result.outcomes) == len(people)
    assert len(members(sandbox, kind, ref.id)) == 5


async def test_sendgrid_job_errors_are_mapped_to_rows(connect: Connect, sandbox: Any) -> None:
    sandbox.configure("sendgrid", {"undeliverable_fraction": 0.1})
    dest = connect("sendgrid")
    ref = await dest.ensure_list("Bounces")
    people = [*contacts(400), Contact("bounce.me@example.com")]
    result = await dest.upsert(ref.id, people)
    assert result.confirmed and len(result.outcomes) == len(people)
    stored = members(sandbox, "sendgrid", ref.id)
    rejected = {o.email for o in result.rejected}
    assert "bounce.me@example.com" in rejected and 10 < len(rejected) < 100
    assert rejected == {c.email for c in people} - set(stored)
    assert all("mailbox unavailable" in (o.reason or "") for o in result.rejected)
    assert requests(sandbox, "sendgrid", "GET /v3/marketing/contacts/imports/{id} 200") >= 1


@pytest.mark.parametrize("kind", ["iterable", "sendgrid"])
async def test_oversize_batches_are_split_by_bytes(connect: Connect, sandbox: Any,
                                                   kind: str) -> None:
    if kind == "iterable":
        sandbox.configure(kind, {"new_list_delay": 0.0})  # so any 400 would mean "too large"
    dest = connect(kind)
    ref = await dest.ensure_list("Big")
    if kind == "iterable":  # 1,000 contacts of ~5 KB: above 4 MB, within the count
        people = [Contact(f"u{i}@example.com", "F" * 5000) for i in range(1000)]
    else:  # 30,000 contacts of ~300 B: above 6 MB, within the count
        people = [Contact(f"{'u' * 50}{i}@example.com", "F" * 50, "L" * 50, "C" * 50, "S" * 50,
                          "T" * 60, "12345") for i in range(30_000)]
    assert len(people) <= dest.limits.max_batch_count
    batches = list(dest.batches(people))
    assert len(batches) >= 2
    result = await dest.upsert(ref.id, people)
    assert len(result.accepted) == len(people)
    state = sandbox.state(kind)["requests"]
    assert not any(label.endswith((" 400", " 413")) for label in state), state
    assert requests(sandbox, kind, " 200" if kind == "iterable" else "PUT") >= len(batches)


@pytest.mark.parametrize("kind", KINDS)
async def test_who_a_list_holds_already(connect: Connect, sandbox: Any, kind: str) -> None:
    dest = connect(kind)
    ref = await dest.ensure_list("Roster")
    on = [c.email for c in contacts(250, "on")]
    assert all(o.accepted for o in (await dest.upsert(ref.id, contacts(250, "on"))).outcomes)
    assert await dest.list_size(ref.id) == 250
    few = [on[0], on[100], "off@example.com"]
    assert await dest.members_among(ref.id, few, 250, len(few)) == {on[0], on[100]}
    everyone = [*on, "off@example.com"]
    assert await dest.members_among(ref.id, everyone, 250, len(everyone)) == set(on)
    asked = sandbox.state(kind)["requests"]
    if kind == "iterable":  # the whole list once, then from memory
        assert asked["GET /api/lists/getUsers 200"] == 1
    elif kind == "sendgrid":  # 100 emails a search: 1 for the few, 3 for everyone
        assert asked["POST /v3/marketing/contacts/search/emails 200"] == 4
    else:  # 3 checks cost no more than 3 pages; for 251, pages 2 and 3 (1 came with the size)
        assert asked["GET /v1/list/{list_id}/contact/{contact_id_or_email} 200"] == 2
        assert asked["GET /v1/list/{list_id}/contact/{contact_id_or_email} 404"] == 1
        assert sum(n for k, n in asked.items() if k.startswith("GET /v1/list/{list_id}/contacts")
                   ) == 3


async def test_autopilot_picks_checks_or_pages_by_all_it_will_ask(connect: Connect,
                                                                 sandbox: Any) -> None:
    """Asked about 3 emails of 2,000 it will ask about in all (a first chunk), Autopilot reads
    the list's 3 pages once rather than 2,000 one-by-one checks."""
    dest = connect("autopilot")
    ref = await dest.ensure_list("Roster")
    on = [c.email for c in contacts(250, "on")]
    await dest.upsert(ref.id, contacts(250, "on"))
    size = await dest.list_size(ref.id)
    assert await dest.members_among(ref.id, [on[0], "off@example.com", on[9]], size, 2_000) == {
        on[0], on[9]}
    asked = sandbox.state("autopilot")["requests"]
    assert not [k for k in asked if k.startswith("GET /v1/list/{list_id}/contact/")]
    assert sum(n for k, n in asked.items() if k.startswith("GET /v1/list/{list_id}/contacts")
               ) == 3


# --- rate limits and faults ---

@pytest.mark.parametrize("kind", KINDS)
async def test_429_storm_is_obeyed(connect: Connect, sandbox: Any, kind: str) -> None:
    waits: list[Any] = []
    dest = connect(kind, on_wait=waits.append)
    ref = await dest.ensure_list("Storm")
    sandbox.configure(kind, {"faults": {"storm_seconds": 2.0}})
    started = time.monotonic()
    result = await dest.upsert_all(ref.id, contacts(300))
    assert len(result.accepted) == 300
    assert time.monotonic() - started >= 1.5
    storm = requests(sandbox, kind, " 429")  # paced at 5/s, a deaf client would draw 10+
    assert 1 <= storm <= 12, f"hammered the API during the storm: {storm} × 429"
    assert dest.stats.rate_limited == storm and dest.stats.rate_limited_s >= 1.5
    assert any(w.reason == "rate_limited" for w in waits)


FAST = {"iterable": {"subscribe_rate": {"rate": 50, "burst": 50}},
        "sendgrid": {"contacts_rate": {"rate": 30, "burst": 30},
                     "default_rate": {"rate": 100, "burst": 100}, "job_pending_seconds": 0.1},
        "autopilot": {"rate": {"rate": 50, "burst": 50}}}


@pytest.mark.parametrize("kind", KINDS)
async def test_fault_storm_every_row_accounted(connect: Connect, sandbox: Any, kind: str) -> None:
    sandbox.configure(kind, FAST[kind])
    base = make_destination(kind, "x").default_limits  # type: ignore[arg-type]
    limits = replace(base, max_batch_count=min(base.max_batch_count, 100), requests_per_s=30)
    dest = connect(kind, limits=limits, timeout=0.5,
                   policy=RetryPolicy(base_s=0.05, cap_s=0.5, budget_s=60))
    ref = await dest.ensure_list("Chaos")
    sandbox.configure(kind, {"faults": {
        "seed": 7, "error_rate": 0.15, "reset_rate": 0.1, "timeout_rate": 0.05,
        "late_rate": 0.05 if kind == "autopilot" else 0.0, "hang_seconds": 3}})
    people = contacts(1000)
    result = await dest.upsert_all(ref.id, people)
    assert sorted(o.email for o in result.outcomes) == sorted(c.email for c in people)
    assert len(result.accepted) == 1000, result.rejected[:3]
    removed = await dest.remove(ref.id, [c.email for c in people[:20]])
    assert len(removed.accepted) == 20
    sandbox.configure(kind, {"faults": {"error_rate": 0, "reset_rate": 0, "timeout_rate": 0,
                                        "late_rate": 0}})
    assert set(members(sandbox, kind, ref.id)) == {c.email for c in people[20:]}
    labels = sandbox.state(kind)["requests"]
    injected = [k for k in labels if k.endswith((" 500", " 502", " 503", " reset", " timeout"))]
    assert injected, labels
    assert dest.stats.retries >= sum(labels[k] for k in injected) - 1


@pytest.mark.parametrize("kind", KINDS)
async def test_bad_key_fails_fast_on_upsert(connect: Connect, sandbox: Any, kind: str) -> None:
    dest = connect(kind, BAD_KEYS[kind])
    with pytest.raises(DestinationAuthError) as info:
        await dest.upsert_all("100001" if kind == "iterable" else "list-1", contacts(500))
    assert_clean(info.value)
    assert requests(sandbox, kind) <= dest.limits.max_in_flight
    assert isinstance(info.value, DestinationError)
