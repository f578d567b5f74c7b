"""Every body the emulators return, on happy and error paths, validates against the official
specs: SendGrid's OpenAPI 3.1 (openapi-core), Iterable's Swagger 2.0 definitions (jsonschema),
and for Autopilot the shapes of destinations.md (hand-written schemas)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest
from sandbox_support import (
    AUTOPILOT_CONTACT_IDS,
    AUTOPILOT_ERROR,
    AUTOPILOT_LIST_CONTACTS,
    AUTOPILOT_LIST_CREATED,
    AUTOPILOT_LISTS,
    iterable_operation,
    iterable_response_schema,
    validate_autopilot,
    validate_iterable,
    validate_iterable_text,
    validate_sendgrid,
    validate_sendgrid_request,
    wait_until,
)

from segport.sandbox.server import Sandbox

LISTS = "/v3/marketing/lists"
LIST_CONTACTS = "/v3/marketing/lists/{id}/contacts"
CONTACTS = "/v3/marketing/contacts"
IMPORT = "/v3/marketing/contacts/imports/{id}"
SEARCH = "/v3/marketing/contacts/search/emails"
COUNT = "/v3/marketing/lists/{id}/contacts/count"


def checked(template: str, response: httpx.Response, status: int) -> httpx.Response:
    """Assert the status, validate request (on success) and response against the spec."""
    assert response.status_code == status, (template, response.status_code, response.text)
    if status < 300:
        validate_sendgrid_request(template, response.request)
    validate_sendgrid(template, response)
    return response


def test_sendgrid_bodies_match_the_openapi_spec(sendgrid: httpx.Client, sandbox: Sandbox,
                                                http: httpx.Client) -> None:
    sandbox.configure("sendgrid", {"job_pending_seconds": 0.1,
                                   "default_rate": {"rate": 200, "burst": 200}})
    base = sandbox.base_url("sendgrid")
    checked("/v3/scopes", sendgrid.get("/v3/scopes"), 200)
    checked("/v3/scopes", http.get(f"{base}/v3/scopes"), 401)
    checked(LISTS, http.get(f"{base}{LISTS}", headers={"Authorization": "Bearer SG.x"}), 401)

    list_ids = [checked(LISTS, sendgrid.post(LISTS, json={"name": f"L{i}"}), 201).json()["id"]
                for i in range(3)]
    checked(LISTS, sendgrid.post(LISTS, json={"name": ""}), 400)
    page = checked(LISTS, sendgrid.get(LISTS, params={"page_size": 2}), 200).json()
    checked(LISTS, sendgrid.get(page["_metadata"]["next"]), 200)
    checked(LISTS, sendgrid.get(LISTS, params={"page_size": 0}), 400)

    people = [{"email": "ann@example.com", "first_name": "Ann", "postal_code": "0150"},
              {"email": "bounce@example.com"}]
    upsert = {"list_ids": list_ids[:1], "contacts": people}
    job_id = checked(CONTACTS, sendgrid.put(CONTACTS, json=upsert), 202).json()["job_id"]
    checked(CONTACTS, sendgrid.put(CONTACTS, json={"contacts": [{"email": "x@"}]}), 400)
    checked(CONTACTS, sendgrid.put(CONTACTS, json={"contacts": []}), 400)
    checked(IMPORT, sendgrid.get(f"/v3/marketing/contacts/imports/{job_id}"), 200)

    def done() -> dict[str, Any] | None:
        response = checked(IMPORT, sendgrid.get(f"/v3/marketing/contacts/imports/{job_id}"), 200)
        return response.json() if response.json()["status"] != "pending" else None

    assert wait_until(done, every=0.05)["status"] == "errored"
    checked(IMPORT, sendgrid.get("/v3/marketing/contacts/imports/nope"), 404)
    counted = checked(COUNT, sendgrid.get(f"{LISTS}/{list_ids[0]}/contacts/count"), 200)
    assert counted.json() == {"contact_count": 1, "billable_count": 1}  # the bounce errored
    checked(COUNT, sendgrid.get(f"{LISTS}/{list_ids[1]}/contacts/count"), 200)
    checked(COUNT, sendgrid.get(f"{LISTS}/nope/contacts/count"), 404)
    checked(COUNT, http.get(f"{base}{LISTS}/{list_ids[0]}/contacts/count"), 401)

    found = checked(SEARCH, sendgrid.post(SEARCH, json={"emails": ["ann@example.com",
                                                                   "zed@example.com"]}), 200)
    contact_id = found.json()["result"]["ann@example.com"]["contact"]["id"]
    checked(SEARCH, sendgrid.post(SEARCH, json={"emails": ["zed@example.com"]}), 404)
    checked(SEARCH, sendgrid.post(SEARCH, json={"emails": ["not an email"]}), 400)

    removal = f"{LISTS}/{list_ids[0]}/contacts"
    checked(LIST_CONTACTS, sendgrid.delete(removal, params={"contact_ids": contact_id}), 202)
    checked(LIST_CONTACTS, sendgrid.delete(removal, params={"contact_ids": ""}), 400)
    checked(LIST_CONTACTS, sendgrid.delete(f"{LISTS}/nope/contacts",
                                           params={"contact_ids": contact_id}), 404)

    sandbox.configure("sendgrid", {"keys": {"SG.mail": ["mail.send"]},
                                   "contacts_rate": {"rate": 1, "burst": 1}})
    checked(CONTACTS, http.put(f"{base}{CONTACTS}", json={"contacts": people},
                               headers={"Authorization": "Bearer SG.mail"}), 403)
    checked(CONTACTS, sendgrid.put(CONTACTS, json={"contacts": people}), 202)
    checked(CONTACTS, sendgrid.put(CONTACTS, json={"contacts": people}), 429)


def test_sendgrid_count_contract_catches_a_bad_body() -> None:
    url = "https://api.sendgrid.com/v3/marketing/lists/abc/contacts/count"
    bad = httpx.Response(200, json={"contact_count": "7"}, request=httpx.Request("GET", url))
    with pytest.raises(Exception, match=r"(?i)invalid|validat"):
        validate_sendgrid(COUNT, bad)


def iterable_checked(path: str, response: httpx.Response, status: int,
                     request_schema: str | None = None) -> dict[str, Any]:
    """Assert the status; validate the body (and the request we sent) against the Swagger file."""
    assert response.status_code == status, (path, response.status_code, response.text)
    body = response.json()
    if request_schema:
        validate_iterable(request_schema, json.loads(response.request.content))
    documented = iterable_response_schema(path, response.request.method, status)
    validate_iterable(documented or "IterableApiResponse", body)
    return dict(body)


def test_iterable_bodies_match_the_swagger_definitions(iterable: httpx.Client, sandbox: Sandbox,
                                                       http: httpx.Client) -> None:
    sandbox.configure("iterable", {"new_list_delay": 0.05,
                                   "subscribe_rate": {"rate": 100, "burst": 100}})
    lists, sub, unsub = "/api/lists", "/api/lists/subscribe", "/api/lists/unsubscribe"
    created = iterable.post(lists, json={"name": "All", "description": "d"})
    list_id = iterable_checked(lists, created, 200, "CreateListRequest")["listId"]
    iterable_checked(lists, iterable.get(lists), 200)
    iterable_checked(lists, http.get(f"{sandbox.base_url('iterable')}{lists}"), 401)
    body = {"listId": list_id, "subscribers": [{"email": "a@example.com", "dataFields": {"x": 1}},
                                               {"email": "bad"}]}
    early = iterable.post(sub, json=body)
    if early.status_code == 400:  # the just-created window
        assert iterable_checked(sub, early, 400)["code"] == "Success"
    wait_until(lambda: iterable.post(sub, json=body).status_code == 200, every=0.02)
    iterable_checked(sub, iterable.post(sub, json=body), 200, "SubscribeRequest")
    gone = {"listId": list_id, "subscribers": [{"email": "a@example.com"}],
            "channelUnsubscribe": False}
    iterable_checked(unsub, iterable.post(unsub, json=gone), 200, "UnsubscribeRequest")
    iterable_checked(sub, iterable.post(sub, json={"listId": "x", "subscribers": []}), 400)
    iterable_checked(sub, iterable.post(sub, json={"listId": 1, "subscribers": []}), 400)
    broken = iterable.post(sub, content=b"{", headers={"content-type": "application/json"})
    assert iterable_checked(sub, broken, 400)["code"] == "BadJsonBody"
    many = {"listId": list_id, "subscribers": [{"email": "p@example.com"}] * 1001}
    iterable_checked(sub, iterable.post(sub, json=many), 400)
    sandbox.configure("iterable", {"subscribe_rate": {"rate": 1, "burst": 1}})
    iterable_checked(sub, iterable.post(sub, json=body), 200)
    iterable_checked(sub, iterable.post(sub, json=body), 429)


def test_iterable_list_reads_match_the_swagger_file(iterable: httpx.Client, sandbox: Sandbox,
                                                     http: httpx.Client) -> None:
    users, size = "/api/lists/getUsers", "/api/lists/{listId}/size"
    assert iterable_operation(users, "GET")["produces"] == ["text/plain"]
    for path in (users, size):
        assert iterable_operation(path, "GET")["responses"]["200"]["schema"] == {"type": "string"}
    sandbox.configure("iterable", {"new_list_delay": 0.05,
                                   "subscribe_rate": {"rate": 100, "burst": 100},
                                   "get_users_rate": {"rate": 100, "burst": 100}})
    list_id = iterable.post("/api/lists", json={"name": "Read"}).json()["listId"]
    people = {"listId": list_id, "subscribers": [{"email": "a@example.com"},
                                                 {"email": "b@example.com"}]}
    wait_until(lambda: iterable.post("/api/lists/subscribe", json=people).status_code == 200)
    listed = iterable.get(users, params={"listId": list_id, "preferUserId": "false"})
    assert listed.status_code == 200
    assert validate_iterable_text(users, listed) == "a@example.com\nb@example.com\n"
    counted = iterable.get(f"/api/lists/{list_id}/size")
    assert counted.status_code == 200 and validate_iterable_text(size, counted) == "2"
    with pytest.raises(jsonschema.ValidationError):  # the check itself can fail
        validate_iterable_text(users, iterable.get(users, params={"listId": "x"}))
    iterable_checked(users, iterable.get(users, params={"listId": "x"}), 400)
    iterable_checked(users, iterable.get(users, params={"listId": 999}), 400)
    iterable_checked(size, iterable.get("/api/lists/999/size"), 400)
    no_key = http.get(f"{sandbox.base_url('iterable')}{users}", params={"listId": list_id})
    iterable_checked(users, no_key, 401)
    sandbox.configure("iterable", {"get_users_rate": {"rate": 0.001, "burst": 1},
                                   "list_size_rate": {"rate": 0.001, "burst": 1}})
    for path, url in ((users, f"{users}?listId={list_id}"), (size, f"/api/lists/{list_id}/size")):
        assert iterable.get(url).status_code == 200
        assert iterable_checked(path, iterable.get(url), 429)["code"] == "RateLimitExceeded"


def test_autopilot_bodies_match_the_documented_shapes(autopilot: httpx.Client, sandbox: Sandbox,
                                                      http: httpx.Client) -> None:
    sandbox.configure("autopilot", {"rate": {"rate": 100, "burst": 100}})
    list_id = autopilot.post("/list", json={"name": "A"}).json()["list_id"]
    validate_autopilot(AUTOPILOT_LIST_CREATED, {"list_id": list_id})
    validate_autopilot(AUTOPILOT_LISTS, autopilot.get("/lists").json())
    contacts = {"contacts": [{"Email": "a@example.com", "FirstName": "A", "LastName": "B",
                              "MailingCountry": "NO", "MailingState": "Oslo",
                              "MailingCity": "Oslo", "MailingPostalCode": "0150",
                              "_autopilot_list": list_id}]}
    validate_autopilot(AUTOPILOT_CONTACT_IDS, autopilot.post("/contacts", json=contacts).json())
    on_list = autopilot.get(f"/list/{list_id}/contacts").json()
    validate_autopilot(AUTOPILOT_LIST_CONTACTS, on_list)
    assert on_list["total_contacts"] == 1 and "bookmark" not in on_list
    account = autopilot.get("/account")
    assert account.status_code == 200 and isinstance(account.json(), dict)
    errors = [
        http.get(f"{sandbox.base_url('autopilot')}/lists"),
        http.get(f"{sandbox.base_url('autopilot')}/lists", headers={"autopilotapikey": "x"}),
        autopilot.post("/list", json={"name": "A"}),
        autopilot.post("/contacts", json={"contacts": [{"Email": "x"}]}),
        autopilot.get(f"/list/{list_id}/contact/nobody%40example.com"),
        autopilot.get("/list/contactlist_nope/contacts"),
        autopilot.get(f"/list/{list_id}/contacts/not-a-bookmark"),
    ]
    assert [r.status_code for r in errors] == [400, 401, 409, 400, 404, 404, 400]
    sandbox.configure("autopilot", {"rate": {"rate": 1, "burst": 1}})
    autopilot.get("/lists")
    errors.append(autopilot.get("/lists"))
    assert errors[-1].status_code == 429
    for response in errors:
        validate_autopilot(AUTOPILOT_ERROR, response.json())
