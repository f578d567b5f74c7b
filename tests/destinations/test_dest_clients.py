"""Each client's platform logic on a MockTransport: batching, bad rows, jobs, removal, lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dest_support import Captured

from segport.destinations import (
    Contact,
    Destination,
    DestinationAuthError,
    Limits,
    WrongDataCenterError,
)
from segport.destinations.sendgrid_support import parse_errors_csv

Build = Callable[..., tuple[Destination, Captured]]
OK_SUB = {"successCount": 1, "failCount": 0, "invalidEmails": [], "invalidUserIds": [],
          "failedUpdates": {}}


def people(n: int, pad: int = 0) -> list[Contact]:
    return [Contact(f"p{i}@example.com", "F" * pad or "Ann", "Lee") for i in range(n)]


async def test_batches_split_by_count_and_bytes(mocked: Build) -> None:
    small = Limits(max_batch_count=50, max_batch_bytes=4_000, requests_per_s=100, burst=1,
                   max_in_flight=2, cap=10**6, cap_scope="per export")
    dest, seen = mocked("iterable", lambda r: httpx.Response(200, json=OK_SUB), limits=small)
    contacts = people(120, pad=40)  # ~100 bytes each: bytes bind before count
    batches = list(dest.batches(contacts))
    assert sum(len(b) for b in batches) == 120 and len(batches) > 3
    assert all(len(b) <= 50 for b in batches)
    result = await dest.upsert("7", contacts)
    assert len(result.accepted) == 120
    sizes = [len(json.dumps(r["body"], separators=(",", ":"))) for r in seen.requests]
    assert max(sizes) <= small.max_batch_bytes
    dest2, _ = mocked("iterable", lambda r: httpx.Response(200, json=OK_SUB))
    assert [len(b) for b in dest2.batches(people(2500))] == [1000, 1000, 500]


async def test_oversize_single_contact_is_never_sent(mocked: Build) -> None:
    tiny = Limits(max_batch_count=10, max_batch_bytes=700, requests_per_s=100, burst=1,
                  max_in_flight=1, cap=10, cap_scope="in total")
    dest, seen = mocked("iterable", lambda r: httpx.Response(200, json=OK_SUB), limits=tiny)
    result = await dest.upsert("7", [Contact("big@example.com", "X" * 700)])
    assert seen.requests == []
    assert result.outcomes[0].accepted is False and "too large" in (result.outcomes[0].reason or "")


async def test_sendgrid_overlong_reserved_field_is_rejected_locally(mocked: Build) -> None:
    dest, seen = mocked("sendgrid", lambda r: httpx.Response(202, json={"job_id": "j"}))
    result = await dest.upsert("l", [Contact("a@x.io", "A" * 51), Contact("b@x.io", city="C" * 60)],
                               confirm=False)
    assert [o.reason for o in result.rejected] == ["first_name longer than 50 characters"]
    assert [c["email"] for c in seen.requests[0]["body"]["contacts"]] == ["b@x.io"]


async def test_sendgrid_bad_rows_are_set_aside_and_the_rest_resent(mocked: Build) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        emails = [c["email"] for c in json.loads(request.content)["contacts"]]
        bad = [i for i, e in enumerate(emails) if e.startswith("bad")]
        if bad:
            return httpx.Response(400, json={"errors": [
                {"field": f"contacts[{i}].email", "message": f"email '{emails[i]}' is not valid"}
                for i in bad]})
        return httpx.Response(202, json={"job_id": "job-1"})

    dest, seen = mocked("sendgrid", handler)
    contacts = [Contact("a@x.io"), Contact("bad1@x"), Contact("b@x.io"), Contact("bad2@x")]
    result = await dest.upsert("l", contacts, confirm=False)
    assert len(seen.requests) == 2
    assert [c["email"] for c in seen.requests[1]["body"]["contacts"]] == ["a@x.io", "b@x.io"]
    rejected = {o.email: o.reason for o in result.rejected}
    assert rejected == {"bad1@x": "email 'bad1@x' is not valid",
                        "bad2@x": "email 'bad2@x' is not valid"}
    assert result.jobs[0].emails == ("a@x.io", "b@x.io")


async def test_sendgrid_job_confirmation_maps_errors_file(mocked: Build) -> None:
    polls = iter(["pending", "pending", "errored"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "files.example":
            assert "authorization" not in request.headers  # the key stays on SendGrid's host
            return httpx.Response(200, text="email,error\nbounce1@x.io,email is undeliverable\n")
        if request.method == "PUT":
            return httpx.Response(202, json={"job_id": "j9"})
        status = next(polls)
        return httpx.Response(200, json={
            "id": "j9", "status": status, "job_type": "upsert",
            "results": {"requested_count": 3, "created_count": 2, "errored_count": 1,
                        "errors_url": "https://files.example/errors/j9.csv"}})

    dest, _ = mocked("sendgrid", handler)
    result = await dest.upsert("l", [Contact("a@x.io"), Contact("Bounce1@x.io"), Contact("c@x.io")])
    assert result.confirmed
    assert result.accepted == ["a@x.io", "c@x.io"]
    assert [(o.email, o.reason) for o in result.rejected] == [
        ("Bounce1@x.io", "email is undeliverable")]
    assert [r.path for r in result.records][-1] == "errors_url"


def test_errors_csv_by_line_number() -> None:
    text = "line,reason\n2,invalid\n"
    assert parse_errors_csv(text, ["a@x", "b@x", "c@x"]) == {"b@x": "invalid"}
    text = "index,reason\n2,invalid\n"  # 0-based
    assert parse_errors_csv(text, ["a@x", "b@x", "c@x"]) == {"c@x": "invalid"}
    text = "email,reason,index\nc@x,mailbox unavailable,2\n"  # the sandbox's shape
    assert parse_errors_csv(text, ["a@x", "b@x", "c@x"]) == {"c@x": "mailbox unavailable"}
    assert parse_errors_csv("garbage without header match\n1\n", ["a@x"]) is None


async def test_sendgrid_remove_searches_ids_then_deletes(mocked: Build) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/search/emails"):
            return httpx.Response(200, json={"result": {
                "a@x.io": {"contact": {"id": "id-a", "email": "a@x.io"}},
                "gone@x.io": {"error": "contact not found"}}})
        if request.method == "DELETE":
            assert request.url.params["contact_ids"] == "id-a"
            return httpx.Response(202, json={"job_id": "del-1"})
        return httpx.Response(200, json={"id": "del-1", "status": "completed", "job_type": "delete",
                                         "results": {"deleted_count": 1}})

    dest, seen = mocked("sendgrid", handler)
    result = await dest.remove("list-1", ["A@x.io", "gone@x.io"])
    assert result.confirmed and len(result.accepted) == 2
    assert [r["method"] for r in seen.requests] == ["POST", "DELETE", "GET"]


async def test_iterable_per_user_failures_in_a_200(mocked: Build) -> None:
    body = {"successCount": 1, "failCount": 2, "invalidEmails": ["bad@"], "invalidUserIds": [],
            "failedUpdates": {"forgottenEmails": ["f@x.io"], "notFoundEmails": []}}
    dest, _ = mocked("iterable", lambda r: httpx.Response(200, json=body))
    result = await dest.upsert("7", [Contact("ok@x.io"), Contact("bad@"), Contact("F@x.io")])
    assert result.accepted == ["ok@x.io"]
    assert {o.email: o.reason for o in result.rejected} == {
        "bad@": "invalid email", "F@x.io": "user was forgotten (GDPR) and may not be re-added"}


async def test_iterable_unsubscribe_not_found_is_success(mocked: Build) -> None:
    body = {"successCount": 1, "failCount": 1, "invalidEmails": [], "invalidUserIds": [],
            "failedUpdates": {"notFoundEmails": ["x@x.io"]}}
    dest, seen = mocked("iterable", lambda r: httpx.Response(200, json=body))
    result = await dest.remove("7", ["x@x.io", "y@x.io"])
    assert len(result.accepted) == 2
    assert seen.requests[0]["body"]["channelUnsubscribe"] is False


async def test_iterable_invalid_list_right_after_create_is_retried(
    mocked: Build, fake_time: Any
) -> None:
    state = {"subscribes": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"lists": []})
        if request.url.path == "/api/lists":
            return httpx.Response(200, json={"listId": 42})
        state["subscribes"] += 1
        if state["subscribes"] < 3:
            return httpx.Response(400, json={"msg": "error.lists.invalidListId(42)",
                                             "code": "Success", "params": None})
        return httpx.Response(200, json=OK_SUB)

    dest, _ = mocked("iterable", handler)
    ref = await dest.ensure_list("Newsletter")
    assert ref.id == "42"
    result = await dest.upsert(ref.id, [Contact("a@x.io")])
    assert result.accepted == ["a@x.io"] and state["subscribes"] == 3
    # A list this client did not just create: the same 400 is retried only for ~2 s.
    state["subscribes"] = -100
    before = fake_time.now
    other = await dest.upsert("41", [Contact("a@x.io")])
    assert not other.outcomes[0].accepted and "invalidListId" in (other.outcomes[0].reason or "")
    assert 2 <= fake_time.now - before <= 5


async def test_ensure_list_reuses_by_name(mocked: Build) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET", "must not create a list that exists"
        return httpx.Response(200, json={"lists": [
            {"list_id": "contactlist_9", "title": "Other"},
            {"list_id": "contactlist_1", "title": "VIP"}]})

    dest, _ = mocked("autopilot", handler)
    assert (await dest.ensure_list("VIP")).id == "contactlist_1"


async def test_autopilot_remove_is_one_delete_per_contact(mocked: Build) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "missing" in request.url.path:
            return httpx.Response(404, json={"error": "Not Found",
                                             "message": "Contact is not a member."})
        return httpx.Response(200, json={})

    dest, seen = mocked("autopilot", handler)
    result = await dest.remove("contactlist_1", ["a+b@x.io", "missing@x.io"])
    assert len(result.accepted) == 2
    assert sorted(r["path"] for r in seen.requests) == [
        "/v1/list/contactlist_1/contact/a+b@x.io", "/v1/list/contactlist_1/contact/missing@x.io"]
    assert all(r.path == "/v1/list/contactlist_1/contact/{email}" for r in result.records)


async def test_autopilot_upsert_carries_list_and_mapped_fields(mocked: Build) -> None:
    dest, seen = mocked("autopilot", lambda r: httpx.Response(200, json={"contact_ids": ["p"]}))
    await dest.upsert("contactlist_1", [Contact("a@x.io", "Ann", "Lee", "NZ", "AKL", "Auckland",
                                                "1010")])
    assert seen.requests[0]["body"] == {"contacts": [{
        "Email": "a@x.io", "FirstName": "Ann", "LastName": "Lee", "MailingCountry": "NZ",
        "MailingState": "AKL", "MailingCity": "Auckland", "MailingPostalCode": "1010",
        "_autopilot_list": "contactlist_1"}]}
    assert seen.requests[0]["headers"]["autopilotapikey"]


async def test_iterable_wrong_data_centre(mocked: Build) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.eu.iterable.com":
            return httpx.Response(200, json={"lists": []})
        return httpx.Response(401, json={"msg": "Invalid API key", "code": "BadApiKey",
                                         "params": None})

    dest, _ = mocked("iterable", handler, data_center="us")
    with pytest.raises(WrongDataCenterError, match="EU") as info:
        await dest.validate()
    assert info.value.suggested == "eu"

    dest, _ = mocked("iterable", lambda r: httpx.Response(401, json={"msg": "Invalid API key"}),
                     data_center="eu", base_url="https://api.eu.iterable.com")
    with pytest.raises(DestinationAuthError, match="may belong to the US data centre") as info2:
        await dest.validate()
    assert not isinstance(info2.value, WrongDataCenterError)


async def test_sendgrid_validate_reports_scopes_and_lists(mocked: Build) -> None:
    pages: dict[str, Any] = {
        "": {"result": [{"id": "l1", "name": "One", "contact_count": 3}],
             "_metadata": {"next": "https://elsewhere.example/v3/marketing/lists?page_token=T2",
                           "count": 2}},
        "T2": {"result": [{"id": "l2", "name": "Two", "contact_count": 0}],
               "_metadata": {"count": 2}},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "api.sendgrid.com"
        if request.url.path == "/v3/scopes":
            return httpx.Response(200, json={"scopes": ["marketing.read", "marketing.update",
                                                        "api_keys.create"]})
        return httpx.Response(200, json=pages[request.url.params.get("page_token", "")])

    dest, _ = mocked("sendgrid", handler)
    info = await dest.validate()
    assert [(ref.id, ref.size) for ref in info.lists] == [("l1", 3), ("l2", 0)]
    assert "api_keys.create" in info.scopes and any("far more" in w for w in info.warnings)

    dest, _ = mocked("sendgrid", lambda r: httpx.Response(200, json={"scopes": ["mail.send"]}))
    info = await dest.validate()
    assert info.lists == () and any("no marketing" in w for w in info.warnings)


async def test_each_contact_is_encoded_once(mocked: Build) -> None:
    dest, seen = mocked("iterable", lambda r: httpx.Response(200, json=OK_SUB))
    calls = {"n": 0}
    original = dest.encode

    def counting(contact: Contact) -> bytes:
        calls["n"] += 1
        return original(contact)

    dest.encode = counting  # type: ignore[method-assign]
    result = await dest.upsert_all("7", people(2500))
    assert len(result.accepted) == 2500 and calls["n"] == 2500
    assert [len(r["body"]["subscribers"]) for r in seen.requests] == [1000, 1000, 500]


async def test_bodies_are_the_json_of_their_payload_items(mocked: Build) -> None:
    for kind, list_id in (("iterable", "7"), ("sendgrid", "l-1"), ("autopilot", "contactlist_1")):
        dest, _ = mocked(kind, lambda r: httpx.Response(200, json={}))
        contacts = [Contact("a@x.io", "Ä \"quoted\"", city="Zürich"), Contact("b@x.io")]
        body = json.loads(dest.upsert_body(list_id, [dest.encode(c) for c in contacts]))
        items = [dest.payload_item(c, list_id) for c in contacts]
        assert items == (body.get("subscribers") or body.get("contacts"))


async def test_429_with_a_stale_hint_still_backs_off(mocked: Build, fake_time: Any) -> None:
    stale = httpx.Response(429, headers={"X-RateLimit-Reset": "0"},
                           json={"errors": [{"field": None, "message": "too many requests"}]})
    dest, seen = mocked("sendgrid", lambda r: stale)
    result = await dest.upsert("l", [Contact("a@x.io")], confirm=False)
    assert not result.outcomes[0].accepted and result.outcomes[0].retryable
    assert len(seen.requests) < 20  # escalating waits, not a tight loop, within the budget


async def test_iterable_list_reads_keep_to_five_a_minute_each(mocked: Build,
                                                               fake_time: Any) -> None:
    """getUsers and lists/{id}/size are each documented at 5 requests/minute per project: five
    go at once, the sixth waits its 12 s; one endpoint's pace does not hold up the other."""
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/size"):
            return httpx.Response(200, text="3")
        # as the platform spells them: upper case, and an accent as two code points (NFD)
        return httpx.Response(200, text="A@example.com\nb@example.com\nJose\u0301@example.com\n",
                              headers={"content-type": "text/plain"})

    dest, seen = mocked("iterable", handler)
    start = fake_time.now
    assert [await dest.list_size(str(n)) for n in range(5)] == [3] * 5
    assert fake_time.now == start
    assert await dest.list_size("5") == 3
    assert 11.9 <= fake_time.now - start <= 12.1
    at = fake_time.now
    for n in range(5):
        assert await dest.members_among(str(n), ["a@example.com", "c@example.com"], 3, 2) == {
            "a@example.com"}
    assert fake_time.now == at  # getUsers has its own five
    assert await dest.members_among("0", ["b@example.com"], 3, 1) == {"b@example.com"}  # kept
    assert await dest.members_among("0", ["jos\u00e9@example.com"], 3, 1) == {
        "jos\u00e9@example.com"}  # NFC and lower case, as segport normalises its own
    assert len([r for r in seen.requests if r["path"] == "/api/lists/getUsers"]) == 5


async def test_an_unreadable_acceptance_leaves_the_rows_unknown(mocked: Build) -> None:
    """SendGrid took the upload (202) but sent no job id: whether the rows went in is unknown,
    so they fail as retryable (the next run sends them again), never as refused."""
    dest, _ = mocked("sendgrid", lambda r: httpx.Response(202, json={"note": "no id"}))
    result = await dest.upsert("L1", [Contact("a@example.com"), Contact("b@example.com")])
    assert [(o.email, o.accepted, o.retryable) for o in result.outcomes] == [
        ("a@example.com", False, True), ("b@example.com", False, True)]
    assert "job_id" in (result.outcomes[0].reason or "")
