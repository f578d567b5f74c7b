"""The Autopilot emulator over real HTTP: auth errors, lists, bulk upserts into a list, membership,
removal, the 100-contact cap and the 5 r/s limit without headers (destinations.md, Autopilot)."""

from __future__ import annotations

import httpx
from sandbox_support import (
    AUTOPILOT_CONTACT_IDS,
    AUTOPILOT_ERROR,
    AUTOPILOT_LIST_CONTACTS,
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


# --- "Get contacts on list": GET /v1/list/{list_id}/contacts[/{bookmark}] -------------------------
ROOMY = {"rate": {"rate": 100, "burst": 100}}


def add_to_list(client: httpx.Client, list_id: str, emails: list[str]) -> list[str]:
    """Upsert ``emails`` onto the list (in calls of 100); their contact ids in order."""
    ids: list[str] = []
    for start in range(0, len(emails), 100):
        rows = [{"Email": e, "FirstName": e.split("@")[0].title(), "_autopilot_list": list_id}
                for e in emails[start:start + 100]]
        response = client.post("/contacts", json={"contacts": rows})
        assert response.status_code == 200, response.text
        ids += response.json()["contact_ids"]
    return ids


def contact_pages(client: httpx.Client, list_id: str) -> list[dict]:
    """Every page of the list's contacts, following bookmarks; each validated."""
    pages, path = [], f"/list/{list_id}/contacts"
    while True:
        response = client.get(path)
        assert response.status_code == 200, response.text
        page = response.json()
        validate_autopilot(AUTOPILOT_LIST_CONTACTS, page)
        pages.append(page)
        if "bookmark" not in page:
            return pages
        path = f"/list/{list_id}/contacts/{page['bookmark']}"


def test_contacts_on_list_page_by_100_with_bookmarks(autopilot: httpx.Client,
                                                     sandbox: Sandbox) -> None:
    sandbox.configure("autopilot", ROOMY)
    list_id = autopilot.post("/list", json={"name": "Big"}).json()["list_id"]
    emails = [f"member{i:03}@example.com" for i in range(250)]
    ids = add_to_list(autopilot, list_id, emails)
    autopilot.post("/contacts", json={"contacts": [{"Email": "elsewhere@example.com"}]})
    pages = contact_pages(autopilot, list_id)
    assert [len(p["contacts"]) for p in pages] == [100, 100, 50]
    assert [p["total_contacts"] for p in pages] == [250] * 3
    assert ["bookmark" in p for p in pages] == [True, True, False]
    seen = [c for p in pages for c in p["contacts"]]
    assert [c["Email"] for c in seen] == emails  # each exactly once, in the order they joined
    assert [c["contact_id"] for c in seen] == ids
    assert seen[7] == {"contact_id": ids[7], "Email": emails[7], "FirstName": "Member007"}
    requests = sandbox.state("autopilot")["requests"]  # the plural routes, not the member one
    assert requests["GET /v1/list/{list_id}/contacts 200"] == 1
    assert requests["GET /v1/list/{list_id}/contacts/{bookmark} 200"] == 2


def test_contacts_on_list_follow_removals_and_refuse_unknown_lists(autopilot: httpx.Client,
                                                                   sandbox: Sandbox) -> None:
    sandbox.configure("autopilot", {**ROOMY, "contacts_page_size": 2})
    list_id = autopilot.post("/list", json={"name": "Small"}).json()["list_id"]
    emails = [f"{name}@example.com" for name in ("ann", "bob", "cy", "dee", "eve")]
    add_to_list(autopilot, list_id, emails)
    add_to_list(autopilot, list_id, ["bob@example.com"])  # already on it: keeps its place
    first = autopilot.get(f"/list/{list_id}/contacts").json()
    assert [c["Email"] for c in first["contacts"]] == emails[:2]
    assert first["total_contacts"] == 5
    for gone in ("ann@example.com", "cy@example.com"):  # one seen, one not yet seen
        assert autopilot.delete(f"/list/{list_id}/contact/{gone}").status_code == 200
    second = autopilot.get(f"/list/{list_id}/contacts/{first['bookmark']}").json()
    assert [c["Email"] for c in second["contacts"]] == ["dee@example.com", "eve@example.com"]
    assert second["total_contacts"] == 3 and "bookmark" not in second  # nobody skipped
    assert autopilot.get(f"/list/{list_id}/contact/dee%40example.com").status_code == 200
    empty_id = autopilot.post("/list", json={"name": "Empty"}).json()["list_id"]
    empty = autopilot.get(f"/list/{empty_id}/contacts")
    assert empty.status_code == 200 and empty.json() == {"contacts": [], "total_contacts": 0}
    for path in ("/list/contactlist_nope/contacts",
                 f"/list/contactlist_nope/contacts/{first['bookmark']}"):
        unknown = autopilot.get(path)
        assert unknown.status_code == 404
        assert unknown.json() == {"error": "Not Found", "message": "List could not be found."}
    bad = autopilot.get(f"/list/{list_id}/contacts/not-a-bookmark")
    assert bad.status_code == 400
    validate_autopilot(AUTOPILOT_ERROR, bad.json())


def test_contacts_on_list_share_the_5_per_second_limit(autopilot: httpx.Client) -> None:
    list_id = autopilot.post("/list", json={"name": "Paced"}).json()["list_id"]  # call 1
    assert autopilot.get("/lists").status_code == 200  # call 2, the same "api" bucket
    responses = [autopilot.get(f"/list/{list_id}/contacts") for _ in range(4)]
    assert [r.status_code for r in responses] == [200] * 3 + [429]
    assert responses[-1].json() == {
        "error": "Too Many Requests", "message": "You have exceeded your request rate of 5 r/s."}
