"""The SendGrid emulator over real HTTP: scopes, lists and pagination, async upsert jobs with
errors_url, search, removal jobs, limits, X-RateLimit headers and 429s (destinations.md)."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import time
from typing import Any

import httpx
import pytest
import sendgrid as sendgrid_lib
from python_http_client.exceptions import HTTPError
from sandbox_support import wait_until

from segport.sandbox.common import valid_email
from segport.sandbox.defaults import DEMO_KEYS
from segport.sandbox.sendgrid_rows import contact_row, contact_rows
from segport.sandbox.server import Sandbox

FAST_JOBS = {"job_pending_seconds": 0.2, "default_rate": {"rate": 200, "burst": 200}}


def finished(client: httpx.Client, job_id: str, timeout: float = 5) -> dict[str, Any]:
    """Poll an import job until it leaves ``pending``."""
    def probe() -> dict[str, Any] | None:
        job = client.get(f"/v3/marketing/contacts/imports/{job_id}").json()
        return job if job["status"] != "pending" else None
    return wait_until(probe, timeout=timeout, every=0.05)


def make_list(client: httpx.Client, name: str) -> str:
    response = client.post("/v3/marketing/lists", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_scopes_and_auth_errors(sendgrid: httpx.Client, sandbox: Sandbox,
                                http: httpx.Client) -> None:
    assert all(s.startswith("marketing.") for s in sendgrid.get("/v3/scopes").json()["scopes"])
    base = sandbox.base_url("sendgrid")
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic SG.x"},
                    {"Authorization": "Bearer SG.unknown"}):
        response = http.get(f"{base}/v3/scopes", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"errors": [{"field": None, "message": "authorization required"}]}
        assert "x-ratelimit-limit" in response.headers
    sandbox.configure("sendgrid", {"keys": {"SG.mail-only": ["mail.send"]}})
    mail_only = {"Authorization": "Bearer SG.mail-only"}
    assert http.get(f"{base}/v3/scopes", headers=mail_only).json() == {"scopes": ["mail.send"]}
    forbidden = http.get(f"{base}/v3/marketing/lists", headers=mail_only)
    assert forbidden.status_code == 403
    assert forbidden.json()["errors"][0]["message"] == "access forbidden"


def test_lists_paginate_with_next_links(sendgrid: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("sendgrid", FAST_JOBS)
    names = [f"list-{i:02}" for i in range(7)]
    for name in names:
        make_list(sendgrid, name)
    seen, url, pages = [], "/v3/marketing/lists?page_size=3", 0
    while url:
        page = sendgrid.get(url).json()
        assert page["_metadata"]["count"] == 7
        seen += [item["name"] for item in page["result"]]
        url, pages = page["_metadata"].get("next"), pages + 1
    assert seen == names and pages == 3
    assert sendgrid.get("/v3/marketing/lists?page_size=0").status_code == 400
    assert sendgrid.get("/v3/marketing/lists?page_size=1001").status_code == 400
    assert sendgrid.get("/v3/marketing/lists?page_token=%%%").status_code == 400


def test_list_limits(sendgrid: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("sendgrid", {"max_lists": 2})
    make_list(sendgrid, "a")
    duplicate = sendgrid.post("/v3/marketing/lists", json={"name": "A"})
    assert duplicate.status_code == 400
    make_list(sendgrid, "b")
    full = sendgrid.post("/v3/marketing/lists", json={"name": "c"})
    assert full.status_code == 400 and "maximum" in full.json()["errors"][0]["message"]


def test_upsert_job_lifecycle_and_errors_url(sendgrid: httpx.Client, sandbox: Sandbox,
                                             http: httpx.Client) -> None:
    sandbox.configure("sendgrid", {**FAST_JOBS, "job_pending_seconds": 0.3})
    list_id = make_list(sendgrid, "Customers")
    contacts = [{"email": "Ann@Example.com", "first_name": "Ann", "city": "Oslo"},
                {"email": "bounce.bob@example.com", "first_name": "Bob"},
                {"email": "cy@example.com", "custom_fields": {"w1": "gold"}}]
    started = time.monotonic()
    accepted = sendgrid.put("/v3/marketing/contacts",
                            json={"list_ids": [list_id], "contacts": contacts})
    assert accepted.status_code == 202
    job_id = accepted.json()["job_id"]
    first = sendgrid.get(f"/v3/marketing/contacts/imports/{job_id}").json()
    assert first["status"] == "pending" and "finished_at" not in first
    assert sandbox.state("sendgrid")["lists"][0]["members"] == []  # not visible before done
    job = finished(sendgrid, job_id)
    assert time.monotonic() - started >= 0.3
    assert job["status"] == "errored" and job["job_type"] == "upsert"
    results = job["results"]
    assert (results["requested_count"], results["created_count"], results["errored_count"]) == (
        3, 2, 1)
    rows = list(csv.DictReader(io.StringIO(http.get(results["errors_url"]).text)))
    assert rows == [{"email": "bounce.bob@example.com", "index": "1",
                     "reason": "email address does not accept mail (mailbox unavailable)"}]
    members = sandbox.state("sendgrid")["lists"][0]["members"]
    assert members == [
        {"email": "ann@example.com", "fields": {"first_name": "Ann", "city": "Oslo"}},
        {"email": "cy@example.com", "fields": {"custom_fields": {"w1": "gold"}}},
    ]
    again = sendgrid.put("/v3/marketing/contacts",
                         json={"contacts": [{"email": "ANN@example.com", "last_name": "Lee"}]})
    job = finished(sendgrid, again.json()["job_id"])
    assert job["status"] == "completed"
    assert (job["results"]["created_count"], job["results"]["updated_count"]) == (0, 1)


def test_all_rows_undeliverable_is_failed_and_fraction_is_deterministic(
        sendgrid: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("sendgrid", FAST_JOBS)
    job_id = sendgrid.put("/v3/marketing/contacts",
                          json={"contacts": [{"email": "bounce@example.com"}]}).json()["job_id"]
    assert finished(sendgrid, job_id)["status"] == "failed"
    sandbox.configure("sendgrid", {"undeliverable_fraction": 0.3})
    people = [{"email": f"user{i}@example.com"} for i in range(200)]
    counts = []
    for _ in range(2):
        job_id = sendgrid.put("/v3/marketing/contacts", json={"contacts": people}).json()["job_id"]
        counts.append(finished(sendgrid, job_id)["results"]["errored_count"])
    assert counts[0] == counts[1] and 30 <= counts[0] <= 90


def test_jobs_process_at_the_configured_rate(sendgrid: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("sendgrid", {**FAST_JOBS, "job_pending_seconds": 0.05,
                                   "job_contacts_per_second": 1_000})
    people = [{"email": f"p{i}@example.com"} for i in range(400)]
    started = time.monotonic()
    job_id = sendgrid.put("/v3/marketing/contacts", json={"contacts": people}).json()["job_id"]
    finished(sendgrid, job_id)
    assert time.monotonic() - started >= 0.05 + 0.4


def test_invalid_email_rejects_the_whole_request(sendgrid: httpx.Client, sandbox: Sandbox) -> None:
    contacts = [{"email": f"ok{i}@example.com"} for i in range(3)] + [{"email": "nope@"}]
    contacts.append({"email": "ok@example.com", "first_name": "x" * 51})
    response = sendgrid.put("/v3/marketing/contacts", json={"contacts": contacts})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "contacts[3].email", "message": "email 'nope@' is not valid"},
        {"field": "contacts[4].first_name", "message": "first_name must be at most 50 characters"},
    ]
    assert sandbox.state("sendgrid")["requests"] == {"PUT /v3/marketing/contacts 400": 1}


def test_upsert_limits_by_count_and_bytes(sendgrid: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("sendgrid", {"max_contacts": 10, "max_body_bytes": 1_000})
    eleven = [{"email": f"p{i}@example.com"} for i in range(11)]
    assert sendgrid.put("/v3/marketing/contacts", json={"contacts": eleven}).status_code == 400
    fat = [{"email": "p@example.com", "address_line_1": "x" * 99}] * 10
    assert sendgrid.put("/v3/marketing/contacts", json={"contacts": fat}).status_code == 400
    sandbox.configure("sendgrid", {"oversize_status": 413})
    assert sendgrid.put("/v3/marketing/contacts", json={"contacts": fat}).status_code == 413
    assert sendgrid.put("/v3/marketing/contacts", json={"contacts": eleven[:10]}).status_code == 202


def test_documented_upsert_maximum_is_accepted(sendgrid: httpx.Client) -> None:
    people = [{"email": f"person{i}@example.com"} for i in range(30_000)]
    assert sendgrid.put("/v3/marketing/contacts", json={"contacts": people}).status_code == 202
    over = [*people, {"email": "one-more@example.com"}]
    assert sendgrid.put("/v3/marketing/contacts", json={"contacts": over}).status_code == 400


def test_search_then_remove_from_list(sendgrid: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("sendgrid", FAST_JOBS)
    list_id = make_list(sendgrid, "Members")
    people = [{"email": "a@example.com"}, {"email": "b@example.com"}]
    job = sendgrid.put("/v3/marketing/contacts", json={"list_ids": [list_id], "contacts": people})
    finished(sendgrid, job.json()["job_id"])
    found = sendgrid.post("/v3/marketing/contacts/search/emails",
                          json={"emails": ["A@example.com", "zed@example.com"]})
    assert found.status_code == 200
    result = found.json()["result"]
    assert result["zed@example.com"] == {"error": "contact not found"}
    contact_id = result["a@example.com"]["contact"]["id"]
    assert result["a@example.com"]["contact"]["list_ids"] == [list_id]
    removal = sendgrid.delete(f"/v3/marketing/lists/{list_id}/contacts",
                              params={"contact_ids": contact_id})
    assert removal.status_code == 202
    job = finished(sendgrid, removal.json()["job_id"])
    assert job["job_type"] == "delete" and job["results"]["deleted_count"] == 1
    members = sandbox.state("sendgrid")["lists"][0]["members"]
    assert [m["email"] for m in members] == ["b@example.com"]
    assert sendgrid.post("/v3/marketing/contacts/search/emails",
                         json={"emails": ["zed@example.com"]}).status_code == 404
    many = [f"p{i}@example.com" for i in range(101)]
    assert sendgrid.post("/v3/marketing/contacts/search/emails",
                         json={"emails": many}).status_code == 400
    unknown = sendgrid.delete(f"/v3/marketing/lists/{list_id}/contacts",
                              params={"contact_ids": "no-such-id"})
    assert unknown.status_code == 404
    assert sendgrid.delete("/v3/marketing/lists/nope/contacts",
                           params={"contact_ids": contact_id}).status_code == 404


def test_rate_limit_headers_and_429(sendgrid: httpx.Client, sandbox: Sandbox) -> None:
    before = time.time()
    first = sendgrid.get("/v3/scopes")
    assert first.headers["x-ratelimit-limit"] == "10"
    assert first.headers["x-ratelimit-remaining"] == "9"
    assert before <= int(first.headers["x-ratelimit-reset"]) <= time.time() + 2
    body = {"contacts": [{"email": "a@example.com"}]}
    statuses = [sendgrid.put("/v3/marketing/contacts", json=body) for _ in range(4)]
    assert [r.status_code for r in statuses] == [202, 202, 202, 429]
    limited = statuses[-1]
    assert limited.json() == {"errors": [{"field": None, "message": "too many requests"}]}
    assert limited.headers["x-ratelimit-limit"] == "3"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.headers["x-ratelimit-reset"]) >= int(before)
    assert sendgrid.get("/v3/scopes").status_code == 200  # other endpoints: their own bucket
    sandbox.configure("sendgrid", {"reset_header": "delta",
                                   "contacts_rate": {"rate": 1, "burst": 1}})
    assert sendgrid.put("/v3/marketing/contacts", json=body).status_code == 202
    delta = sendgrid.put("/v3/marketing/contacts", json=body)
    assert delta.status_code == 429 and delta.headers["x-ratelimit-reset"] == "1"


def test_official_sendgrid_library_upserts_and_reads_the_job(sandbox: Sandbox) -> None:
    sandbox.configure("sendgrid", FAST_JOBS)
    client = sendgrid_lib.SendGridAPIClient(api_key=DEMO_KEYS["sendgrid"],
                                            host=sandbox.base_url("sendgrid"))
    created = client.client.marketing.lists.post(request_body={"name": "From the library"})
    assert created.status_code == 201
    list_id = json.loads(created.body)["id"]
    response = client.client.marketing.contacts.put(request_body={
        "list_ids": [list_id], "contacts": [{"email": "lib@example.com", "first_name": "Lib"}]})
    assert response.status_code == 202
    job_id = json.loads(response.body)["job_id"]

    def status() -> dict[str, Any] | None:
        job = json.loads(client.client.marketing.contacts.imports._(job_id).get().body)
        return job if job["status"] != "pending" else None

    assert wait_until(status, every=0.05)["status"] == "completed"
    members = sandbox.state("sendgrid")["lists"][0]["members"]
    assert members == [{"email": "lib@example.com", "fields": {"first_name": "Lib"}}]
    wrong = sendgrid_lib.SendGridAPIClient(api_key="SG.wrong", host=sandbox.base_url("sendgrid"))
    with pytest.raises(HTTPError) as raised:
        wrong.client.scopes.get()
    assert raised.value.status_code == 401


def test_jobs_run_concurrently_unless_capped(sendgrid: httpx.Client, sandbox: Sandbox) -> None:
    """Emulator decision: each job progresses at the rate on its own; ``job_concurrency`` caps."""
    sandbox.configure("sendgrid", {**FAST_JOBS, "job_pending_seconds": 0.05,
                                   "job_contacts_per_second": 250})
    people = [{"email": f"p{i}@example.com"} for i in range(200)]  # 0.8 s of processing each

    def two_jobs() -> float:
        started = time.monotonic()
        ids = [sendgrid.put("/v3/marketing/contacts", json={"contacts": people}).json()["job_id"]
               for _ in range(2)]
        for job_id in ids:
            assert finished(sendgrid, job_id)["status"] == "completed"
        return time.monotonic() - started

    assert 0.85 <= two_jobs() < 1.4  # together: 0.05 + 0.8 s; one after the other: 1.65 s
    sandbox.configure("sendgrid", {"job_concurrency": 1})
    assert two_jobs() >= 1.65
    for bad in ({"job_concurrency": -1}, {"job_contacts_per_second": 0}):
        with pytest.raises(httpx.HTTPStatusError):
            sandbox.configure("sendgrid", bad)


def test_fast_validation_agrees_with_the_per_contact_path() -> None:
    long_email = "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".com"  # 260 characters
    cases: list[list[Any]] = [
        [{"email": "Ann@Example.COM", "first_name": "A" * 50, "city": "C" * 60,
          "postal_code": "9" * 500, "address_line_2": "x" * 100}, {"email": "b@example.com"}],
        [{"email": "a@example.com", "first_name": "A" * 51}],
        [{"email": "a@example.com", "city": "C" * 61}],
        [{"email": "a@example.com", "address_line_1": "x" * 101}],
        [{"email": "a@example.com", "first_name": 5}, {"email": "b@example.com", "city": None}],
        [{"email": long_email}], [{"email": "x" * 65 + "@example.com"}],
        [{"email": "a@example.com"}, {"first_name": "no email"}, {"email": None}, {"email": 7}],
        [{"email": "a@example.com", "nickname": "A"}, "not an object", []],
        [{"email": "a@example.com", "custom_fields": {}, "external_id": "e1",
          "alternate_emails": ["b@example.com"]}, {"email": "c@example.com",
                                                  "custom_fields": {"w1": "gold"}}],
    ]
    for contacts in cases:
        rows, problems = contact_rows(json.loads(json.dumps(contacts)))
        expected: list[tuple[str | None, str]] = []
        slow = [contact_row(i, c, expected) for i, c in enumerate(json.loads(json.dumps(contacts)))]
        assert problems == expected, contacts
        if not problems:
            assert rows == slow
    assert contact_rows([{"email": "Ann@Example.COM"}])[0] == [{"email": "ann@example.com"}]


def test_email_pattern_is_the_reference_definition() -> None:
    """The possessive pattern accepts exactly what the plain definition accepts."""
    atom = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
    label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    reference = re.compile(rf"{atom}(?:\.{atom})*@(?:{label}\.)+[A-Za-z]{{2,63}}")

    def expected(value: str) -> bool:
        return (len(value) <= 254 and reference.fullmatch(value) is not None
                and len(value.partition("@")[0]) <= 64)

    rnd = random.Random(7)
    alphabet = "ab9-._@+!~\n é" + "x" * 6
    samples = ["a@b.co", "a@-b.co", "a@b-.co", "a@b.c", "a..b@c.de", ".a@b.de", "a.@b.de",
               "a@b..de", "x" * 64 + "@a.de", "x" * 65 + "@a.de", "a@" + "b" * 63 + ".de",
               "a@" + "b" * 64 + ".de", "a@b.d3", "a@1.de", "a@b.c-d.de", "a@b.de\n", "a@@b.de"]
    samples += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 24)))
                for _ in range(10_000)]
    parts = ["".join(rnd.choice("abx9-.+") for _ in range(rnd.randint(1, 12)))
             for _ in range(10_000)]
    samples += [f"{a}@{b}.{tld}" for a, b, tld in zip(parts[:5000], parts[5000:],
                                                      ["com", "d3", "co", "x", "de-"] * 1000,
                                                      strict=True)]
    assert [valid_email(s) for s in samples] == [expected(s) for s in samples]
    assert sum(map(valid_email, samples)) > 200


# --- GET /v3/marketing/lists/{id}/contacts/count -----------------------------------------------
def contact_count(client: httpx.Client, list_id: str) -> dict[str, Any]:
    response = client.get(f"/v3/marketing/lists/{list_id}/contacts/count")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_list_count_sees_only_applied_jobs_and_removals(sendgrid: httpx.Client,
                                                        sandbox: Sandbox) -> None:
    sandbox.configure("sendgrid", {**FAST_JOBS, "job_pending_seconds": 60})
    list_id, other = make_list(sendgrid, "Counted"), make_list(sendgrid, "Empty")
    assert contact_count(sendgrid, list_id) == {"contact_count": 0, "billable_count": 0}
    slow = [{"email": f"slow{i}@example.com"} for i in range(3)]
    held = sendgrid.put("/v3/marketing/contacts", json={"list_ids": [list_id], "contacts": slow})
    assert held.status_code == 202
    assert contact_count(sendgrid, list_id)["contact_count"] == 0  # that job is pending for 60 s
    sandbox.configure("sendgrid", {"job_pending_seconds": 0.05})
    quick = [{"email": "ann@example.com"}, {"email": "bob@example.com"}]
    job = sendgrid.put("/v3/marketing/contacts", json={"list_ids": [list_id], "contacts": quick})
    assert finished(sendgrid, job.json()["job_id"])["status"] == "completed"
    assert contact_count(sendgrid, list_id) == {"contact_count": 2, "billable_count": 2}
    job_status = sendgrid.get(f"/v3/marketing/contacts/imports/{held.json()['job_id']}").json()
    assert job_status["status"] == "pending"  # still not counted, still not applied
    found = sendgrid.post("/v3/marketing/contacts/search/emails",
                          json={"emails": ["bob@example.com"]}).json()
    bob = found["result"]["bob@example.com"]["contact"]["id"]
    removal = sendgrid.delete(f"/v3/marketing/lists/{list_id}/contacts",
                              params={"contact_ids": bob})
    finished(sendgrid, removal.json()["job_id"])
    assert contact_count(sendgrid, list_id) == {"contact_count": 1, "billable_count": 1}
    assert contact_count(sendgrid, other) == {"contact_count": 0, "billable_count": 0}


def test_list_count_of_an_unknown_list_is_404_in_the_default_group(sendgrid: httpx.Client) -> None:
    unknown = sendgrid.get("/v3/marketing/lists/no-such-list/contacts/count")
    assert unknown.status_code == 404
    assert unknown.json() == {"errors": [{"field": "id", "message": "list not found"}]}
    assert unknown.headers["x-ratelimit-limit"] == "10"  # "default": 10 requests/s
    assert unknown.headers["x-ratelimit-remaining"] == "9"
    list_id = make_list(sendgrid, "Shared bucket")  # the same bucket as other default calls
    counted = sendgrid.get(f"/v3/marketing/lists/{list_id}/contacts/count")
    assert int(counted.headers["x-ratelimit-remaining"]) in (7, 8)  # its own bucket would say 9
