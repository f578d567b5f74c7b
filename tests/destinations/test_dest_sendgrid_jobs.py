"""The SendGrid client's fast paths and job confirmation: encoders and prechecks that agree with
the plain definitions, polling that waits for the pending time, every job polled at once, and
uploads that do not wait for earlier jobs (mocked, then against the sandbox)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from dest_support import Captured

from segport.destinations import (
    Contact,
    Destination,
    DestinationAuthError,
    RequestRecord,
    make_destination,
)
from segport.destinations.http import encode_json
from segport.sandbox.defaults import DEMO_KEYS

Build = Callable[..., tuple[Destination, Captured]]

ODD = ["", None, "Zürich", 'say "hi"', "back\\slash", "tab\tnew\nline\x01", "😀 emoji",
       "ünïcödé ñ", "x" * 51, "y" * 61]


def odd_contacts(n: int) -> list[Contact]:
    """Contacts with every kind of value in every field (empty, missing, escaped, too long)."""
    return [Contact(f"p{i}@x.io" if i % 7 else f"P{i}.{'q' * (i % 300)}@X.io",
                    *(ODD[(i * (k + 3)) % len(ODD)] for k in range(6)))  # type: ignore[arg-type]
            for i in range(n)]


def test_encoders_give_the_json_of_the_payload_items() -> None:
    dest = make_destination("sendgrid", "SG.x")
    contacts = odd_contacts(700)
    expected = [encode_json(dest.payload_item(c)) for c in contacts]
    assert [dest.encode(c) for c in contacts] == expected
    assert dest.encode_many(contacts) == expected
    assert dest.encode_many([]) == []


def test_refusals_agree_with_precheck() -> None:
    dest = make_destination("sendgrid", "SG.x")
    contacts = odd_contacts(700)
    expected = {c.email: why for c in contacts if (why := dest.precheck(c)) is not None}
    assert expected and dest.refusals(contacts) == expected
    fine = [Contact(f"a{i}@x.io", "A" * 50, city="C" * 60, postal_code="9" * 99) for i in range(9)]
    assert dest.refusals(fine) == {}
    assert dest.refusals([Contact("a" * 250 + "@x.io")]) == {
        "a" * 250 + "@x.io": "email longer than 254 characters"}


def job_handler(polls_pending: int, log: list[str]) -> Callable[[httpx.Request], httpx.Response]:
    """PUT → 202 with job ``j<n>``; each job answers ``pending`` that many polls, then done."""
    polls: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            job = f"j{len(polls) + 1}"
            polls[job] = 0
            log.append(f"PUT {job}")
            return httpx.Response(202, json={"job_id": job})
        job = request.url.path.rsplit("/", 1)[-1]
        polls[job] += 1
        status = "pending" if polls[job] <= polls_pending else "completed"
        log.append(f"GET {job} {status}")
        return httpx.Response(200, json={"id": job, "status": status, "job_type": "upsert",
                                         "results": {"requested_count": 1}})

    return handler


async def test_first_poll_waits_for_the_pending_time(mocked: Build, fake_time: Any) -> None:
    log: list[str] = []
    dest, _ = mocked("sendgrid", job_handler(0, log))
    result = await dest.upsert("l", [Contact("a@x.io")])
    assert result.accepted == ["a@x.io"]
    assert log == ["PUT j1", "GET j1 completed"]  # no wasted poll while surely pending
    assert fake_time.sleeps[-1] == pytest.approx(0.5)


async def test_every_job_of_a_result_is_confirmed_in_order(mocked: Build) -> None:
    log: list[str] = []
    small = replace(make_destination("sendgrid", "SG.x").limits, max_batch_count=2)
    dest, _ = mocked("sendgrid", job_handler(2, log), limits=small)
    people = [Contact(f"p{i}@x.io") for i in range(5)]
    result = await dest.upsert("l", people)
    assert [o.email for o in result.outcomes] == [c.email for c in people]
    assert result.accepted == [c.email for c in people] and result.confirmed
    assert [e for e in log if e.startswith("PUT")] == ["PUT j1", "PUT j2", "PUT j3"]
    assert sum(e.endswith("completed") for e in log) == 3


async def test_auth_error_while_polling_is_raised(mocked: Build) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(202, json={"job_id": "j1"})
        return httpx.Response(401, json={"errors": [{"field": None,
                                                     "message": "authorization required"}]})

    dest, _ = mocked("sendgrid", handler)
    with pytest.raises(DestinationAuthError):
        await dest.upsert("l", [Contact("a@x.io"), Contact("b@x.io")])


async def test_uploads_do_not_wait_for_earlier_jobs(sandbox: Any) -> None:
    """Slots are freed at the 202 and jobs run concurrently: every upload is sent before the
    first job is even polled, and the whole run takes about one job's time, not four."""
    sandbox.configure("sendgrid", {"job_pending_seconds": 0.2, "job_contacts_per_second": 100,
                                   "contacts_rate": {"rate": 20, "burst": 20},
                                   "default_rate": {"rate": 100, "burst": 100}})
    records: list[tuple[float, RequestRecord]] = []
    base = make_destination("sendgrid", "SG.x").limits
    limits = replace(base, max_batch_count=50, requests_per_s=20, max_in_flight=2)
    async with make_destination("sendgrid", DEMO_KEYS["sendgrid"], sandbox.base_url("sendgrid"),
                                limits=limits, on_record=lambda r: records.append(
                                    (time.monotonic(), r))) as dest:
        ref = await dest.ensure_list("Concurrent")
        people = [Contact(f"c{i}@example.com", f"F{i}") for i in range(200)]
        started = time.monotonic()
        result = await dest.upsert_all(ref.id, people)
        elapsed = time.monotonic() - started
    assert len(result.accepted) == 200
    uploads = [t for t, r in records if r.method == "PUT" and r.status == 202]
    polls = [t for t, r in records if r.path.endswith("/imports/{id}")]
    assert len(uploads) == 4 and max(uploads) < min(polls)
    assert elapsed < 1.9  # one job is 0.2 + 0.5 s; four in a row would be 2.8 s
    state = sandbox.state("sendgrid")["lists"]
    assert sum(len(lst["members"]) for lst in state) == 200
