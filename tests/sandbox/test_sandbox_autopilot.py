"""The Autopilot emulator over real HTTP: auth errors, lists, bulk upserts into a list, membership,
removal, the 100-contact cap and the 5 r/s limit without headers (destinations.md, Autopilot)."""

from __future__ import annotations

import httpx
from sandbox_support import (
    AUTOPILOT_CONTACT_IDS,
    AUTOPILOT_ERROR,
    AUTOPILOT_LIST_CREATED,
    AUTOPILOT_LISTS,
    validate_autopilot,
    wait_until,
)

from segport.sandbox.server import Sandbox


def test_missing_and_bad_keys(sandbox: Sandbox, http: httpx.Client) -> None:
    base = sandbox.base_url("autopilot")
    missing = http.get(f"{base}/account")
    assert missing.status_code == 400
    assert missing.json() == {"error": "Bad Request",
                              "message": "No autopilotapikey header provided."}
    bad = http.get(f"{base}/lists", headers={"autopilotapikey": "nope"})
    assert bad.status_code == 401
    assert bad.json() == {"error": "Unauthorized", "message": "Provided autopilotapikey not valid."}
    for response in (missing, bad):
        validate_autopilot(AUTOPILOT_ERROR, response.json())


def test_lists_and_duplicate_names(autopilot: httpx.Client) -> None:
    assert autopilot.get("/account").status_code == 200
    created = autopilot.post("/list", json={"name": "Weekly"})
    assert created.status_code == 200
    validate_autopilot(AUTOPILOT_LIST_CREATED, created.json())
    duplicate = autopilot.post("/list", json={"name": "Weekly"})
    assert duplicate.status_code == 409
    assert duplicate.json() == {"error": "Conflict",
                                "message": "A list with this name already exists."}
    lists = autopilot.get("/lists").json()
    validate_autopilot(AUTOPILOT_LISTS, lists)
    assert lists["lists"] == [{"list_id": created.json()["list_id"], "title": "Weekly"}]


def test_upsert_membership_and_removal(autopilot: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("autopilot", {"rate": {"rate": 100, "burst": 100}})
    list_id = autopilot.post("/list", json={"name": "Buyers"}).json()["list_id"]
    contacts = [{"Email": "ann@example.com", "FirstName": "Ann", "MailingCity": "Oslo",
                 "_autopilot_list": list_id},
                {"Email": "bob@example.com", "_autopilot_list": list_id}]
    response = autopilot.post("/contacts", json={"contacts": contacts})
    assert response.status_code == 200
    validate_autopilot(AUTOPILOT_CONTACT_IDS, response.json())
    ann_id, bob_id = response.json()["contact_ids"]
    again = autopilot.post("/contacts", json={"contacts": [{"Email": "ANN@example.com",
                                                            "LastName": "Lee"}]})
    assert again.json()["contact_ids"] == [ann_id]  # email is the de-duplication key
    assert autopilot.get(f"/list/{list_id}/contact/{ann_id}").status_code == 200
    assert autopilot.get(f"/list/{list_id}/contact/bob%40example.com").status_code == 200
    assert autopilot.delete(f"/list/{list_id}/contact/bob%40example.com").status_code == 200
    not_member = autopilot.get(f"/list/{list_id}/contact/{bob_id}")
    assert not_member.status_code == 404
    validate_autopilot(AUTOPILOT_ERROR, not_member.json())
    assert autopilot.delete(f"/list/{list_id}/contact/{bob_id}").status_code == 200  # no-op
    assert autopilot.get(f"/list/{list_id}/contact/nobody%40example.com").status_code == 404
    state = sandbox.state("autopilot")
    assert state["lists"] == [{"id": list_id, "name": "Buyers", "members": [
        {"email": "ann@example.com",
         "fields": {"FirstName": "Ann", "MailingCity": "Oslo", "LastName": "Lee"}}]}]


def test_batch_cap_and_bad_rows(autopilot: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("autopilot", {"rate": {"rate": 100, "burst": 100}})
    hundred = [{"Email": f"p{i}@example.com"} for i in range(100)]
    assert autopilot.post("/contacts", json={"contacts": hundred}).status_code == 200
    over = autopilot.post("/contacts", json={"contacts": [*hundred, {"Email": "x@example.com"}]})
    assert over.status_code == 400
    validate_autopilot(AUTOPILOT_ERROR, over.json())
    bad = autopilot.post("/contacts", json={"contacts": [{"Email": "ok@example.com"},
                                                         {"Email": "broken"}]})
    assert bad.status_code == 400 and "contacts[1].Email" in bad.json()["message"]
    unknown_list = autopilot.post("/contacts", json={"contacts": [
        {"Email": "a@example.com", "_autopilot_list": "contactlist_nope"}]})
    assert unknown_list.status_code == 404


def test_rate_limit_has_body_but_no_headers(autopilot: httpx.Client) -> None:
    statuses = [autopilot.get("/lists") for _ in range(6)]
    assert [r.status_code for r in statuses] == [200] * 5 + [429]
    limited = statuses[-1]
    assert limited.json() == {"error": "Too Many Requests",
                              "message": "You have exceeded your request rate of 5 r/s."}
    assert not [h for h in limited.headers if "ratelimit" in h or h == "retry-after"]
    wait_until(lambda: autopilot.get("/lists").status_code == 200, timeout=2, every=0.05)
