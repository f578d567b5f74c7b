"""The Iterable emulator over real HTTP: lists, subscribe/unsubscribe shapes, limits, 429s, the
just-created-list window and data centres (docs/destinations.md, Iterable). The bodies' match
with the official Swagger file is checked in test_sandbox_contract.py."""

from __future__ import annotations

import time

import httpx
from sandbox_support import wait_until

from segport.sandbox.server import Sandbox

#: For tests about something else than the 5 requests/s subscribe limit.
ROOMY = {"subscribe_rate": {"rate": 100, "burst": 100}}


def ready_list(client: httpx.Client, name: str = "Newsletter") -> int:
    """Create a list and wait until it accepts subscribers."""
    list_id = int(client.post("/api/lists", json={"name": name}).json()["listId"])
    probe = {"listId": list_id, "subscribers": []}
    wait_until(lambda: client.post("/api/lists/subscribe", json=probe).status_code == 200,
               every=0.05)
    return list_id


def test_lists_are_created_listed_and_names_may_repeat(iterable: httpx.Client) -> None:
    first = iterable.post("/api/lists", json={"name": "VIP", "description": "top"})
    second = iterable.post("/api/lists", json={"name": "VIP"})
    assert first.status_code == second.status_code == 200
    assert first.json()["listId"] != second.json()["listId"]
    lists = iterable.get("/api/lists").json()["lists"]
    assert [(x["name"], x["listType"]) for x in lists] == [("VIP", "Standard")] * 2
    assert lists[0]["description"] == "top" and isinstance(lists[0]["createdAt"], int)


def test_new_list_answers_invalid_list_id_for_a_moment(iterable: httpx.Client) -> None:
    created = time.monotonic()
    list_id = iterable.post("/api/lists", json={"name": "Fresh"}).json()["listId"]
    body = {"listId": list_id, "subscribers": [{"email": "a@example.com"}]}
    early = iterable.post("/api/lists/subscribe", json=body)
    assert early.status_code == 400
    assert early.json() == {"msg": f"error.lists.invalidListId({list_id})", "code": "Success",
                            "params": None}
    later = wait_until(lambda: (r := iterable.post("/api/lists/subscribe", json=body))
                       .status_code == 200 and r, timeout=3, every=0.05)
    assert time.monotonic() - created >= 0.3
    assert later.json()["successCount"] == 1


def test_subscribe_reports_per_user_problems_with_200(iterable: httpx.Client,
                                                      sandbox: Sandbox) -> None:
    sandbox.configure("iterable", ROOMY)
    list_id = ready_list(iterable)
    body = {"listId": list_id, "subscribers": [
        {"email": "Ann@Example.com", "dataFields": {"firstName": "Ann"}},
        {"email": "not-an-email"},
        {"email": "bob@example.com", "dataFields": "oops"},
        {"userId": "u-1"},
    ]}
    response = iterable.post("/api/lists/subscribe", json=body)
    assert response.status_code == 200
    result = response.json()
    assert (result["successCount"], result["failCount"]) == (1, 3)
    assert result["invalidEmails"] == ["not-an-email"]
    assert result["failedUpdates"]["invalidEmails"] == ["not-an-email"]
    assert result["failedUpdates"]["invalidDataEmails"] == ["bob@example.com"]
    assert result["failedUpdates"]["notFoundUserIds"] == ["u-1"]
    assert result["createdFields"] == ["firstName"]


def test_update_existing_only_and_unsubscribe_not_found(iterable: httpx.Client,
                                                         sandbox: Sandbox) -> None:
    sandbox.configure("iterable", ROOMY)
    list_id = ready_list(iterable)
    subscribe = {"listId": list_id, "subscribers": [{"email": "new@example.com"}],
                 "updateExistingUsersOnly": True}
    result = iterable.post("/api/lists/subscribe", json=subscribe).json()
    assert result["failedUpdates"]["notFoundEmails"] == ["new@example.com"]
    iterable.post("/api/lists/subscribe", json={"listId": list_id, "subscribers": [
        {"email": "ann@example.com", "dataFields": {"plan": "gold"}}]})
    gone = iterable.post("/api/lists/unsubscribe", json={
        "listId": list_id, "channelUnsubscribe": False,
        "subscribers": [{"email": "ann@example.com"}, {"email": "never@example.com"}]}).json()
    assert (gone["successCount"], gone["failCount"]) == (1, 1)
    assert gone["failedUpdates"]["notFoundEmails"] == ["never@example.com"]
    state = sandbox.state("iterable")
    assert state["lists"][0]["members"] == [] and state["channelUnsubscribed"] == []


def test_channel_unsubscribe_is_recorded_in_state(iterable: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("iterable", ROOMY)
    list_id = ready_list(iterable)
    people = {"listId": list_id, "subscribers": [{"email": "c@example.com"}]}
    iterable.post("/api/lists/subscribe", json=people)
    iterable.post("/api/lists/unsubscribe", json={**people, "channelUnsubscribe": True})
    assert sandbox.state("iterable")["channelUnsubscribed"] == ["c@example.com"]


def test_batch_limits_by_count_and_bytes(iterable: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("iterable", ROOMY)
    list_id = ready_list(iterable)
    subscribers = [{"email": f"p{i}@example.com"} for i in range(1001)]
    too_many = iterable.post("/api/lists/subscribe",
                             json={"listId": list_id, "subscribers": subscribers})
    assert too_many.status_code == 400 and too_many.json()["code"] == "BatchTooLarge"
    ok = iterable.post("/api/lists/subscribe",
                       json={"listId": list_id, "subscribers": subscribers[:1000]})
    assert ok.json()["successCount"] == 1000
    sandbox.configure("iterable", {"max_body_bytes": 2_000})
    fat = [{"email": "big@example.com", "dataFields": {"bio": "x" * 3_000}}]
    too_big = iterable.post("/api/lists/subscribe", json={"listId": list_id, "subscribers": fat})
    assert too_big.status_code == 400 and too_big.json()["code"] == "BatchTooLarge"


def test_bad_requests(iterable: httpx.Client) -> None:
    bad_json = iterable.post("/api/lists/subscribe", content=b"{nope",
                             headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "BadJsonBody"
    missing = iterable.post("/api/lists/subscribe", json={"listId": 999, "subscribers": []})
    assert missing.status_code == 400 and missing.json()["code"] == "BadParams"
    no_name = iterable.post("/api/lists", json={})
    assert no_name.status_code == 400 and no_name.json()["code"] == "BadParams"


def test_subscribe_rate_limit_is_shared_and_has_no_retry_after(iterable: httpx.Client,
                                                              sandbox: Sandbox) -> None:
    list_id = ready_list(iterable)
    # Burst 5 as documented; a slower refill so that six quick calls surely meet an empty bucket.
    sandbox.configure("iterable", {"subscribe_rate": {"rate": 2, "burst": 5}})
    body = {"listId": list_id, "subscribers": []}
    paths = ["/api/lists/subscribe", "/api/lists/unsubscribe"] * 3
    statuses = [iterable.post(path, json=body).status_code for path in paths]
    assert statuses[:5] == [200] * 5 and statuses[5] == 429
    limited = iterable.post("/api/lists/subscribe", json=body)
    assert limited.status_code == 429 and "retry-after" not in limited.headers
    payload = limited.json()
    assert payload["code"] == "RateLimitExceeded"
    assert payload["msg"] == "Exceeded rate limit for endpoint: /api/lists/subscribe"
    params = payload["params"]
    assert params["rateLimitLimit"] == 2 and params["rateLimitRemaining"] == 0
    assert 0 < params["rateLimitReset"] <= 0.5
    assert iterable.get("/api/lists").status_code == 200  # GET lists has its own bucket
    wait_until(lambda: iterable.post("/api/lists/subscribe", json=body).status_code == 200,
               timeout=3, every=0.05)


def test_keys_and_data_centres(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.configure("iterable", {"data_center": "eu",
                                   "keys": {"us-project-key": "us", "eu-project-key": "eu"}})
    base = sandbox.base_url("iterable")
    for key, status in [("us-project-key", 401), ("eu-project-key", 200), ("wrong", 401)]:
        response = http.get(f"{base}/api/lists", headers={"Api-Key": key})
        assert response.status_code == status, key
    refused = http.get(f"{base}/api/lists", headers={"Api-Key": "us-project-key"})
    assert refused.json() == {"msg": "Invalid API key", "code": "BadApiKey", "params": None}
    assert http.get(f"{base}/api/lists").status_code == 401


# --- list reads: getUsers and size -------------------------------------------------------------
#: For read tests about something else than the 5 requests/minute limits of getUsers and size.
ROOMY_READS = {**ROOMY, "get_users_rate": {"rate": 100, "burst": 100},
               "list_size_rate": {"rate": 100, "burst": 100}}


def members_of(client: httpx.Client, list_id: int) -> tuple[str, str]:
    """``(getUsers body, size body)`` of a list, both asserted 200 text/plain."""
    users = client.get("/api/lists/getUsers", params={"listId": list_id})
    size = client.get(f"/api/lists/{list_id}/size")
    for response in (users, size):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] == "text/plain"
    return users.text, size.text


def test_get_users_and_size_follow_subscribes_and_unsubscribes(iterable: httpx.Client,
                                                                sandbox: Sandbox) -> None:
    sandbox.configure("iterable", ROOMY_READS)
    list_id = ready_list(iterable)
    people = ["Ann@Example.com", "bob@example.com", "cy@example.com"]
    subscribe = {"listId": list_id, "subscribers": [{"email": e} for e in people]}
    assert iterable.post("/api/lists/subscribe", json=subscribe).json()["successCount"] == 3
    assert members_of(iterable, list_id) == ("Ann@Example.com\nbob@example.com\ncy@example.com\n",
                                             "3")
    again = {"listId": list_id, "subscribers": [{"email": "ann@example.com"}]}
    iterable.post("/api/lists/subscribe", json=again)  # already a member: no second line
    gone = {"listId": list_id, "subscribers": [{"email": "bob@example.com"}],
            "channelUnsubscribe": False}
    assert iterable.post("/api/lists/unsubscribe", json=gone).json()["successCount"] == 1
    assert members_of(iterable, list_id) == ("Ann@Example.com\ncy@example.com\n", "2")
    other = ready_list(iterable, "Other")
    assert members_of(iterable, other) == ("", "0")
    assert members_of(iterable, list_id)[1] == "2"  # lists are separate


def test_get_users_and_size_refuse_unknown_and_malformed_list_ids(iterable: httpx.Client,
                                                                  sandbox: Sandbox) -> None:
    sandbox.configure("iterable", ROOMY_READS)
    missing = iterable.get("/api/lists/getUsers", params={"listId": 424242})
    assert missing.status_code == 400
    assert missing.json() == {"msg": "List 424242 does not exist", "code": "BadParams",
                              "params": {"field": "listId"}}
    refused = [iterable.get("/api/lists/getUsers", params={"listId": "abc"}),
               iterable.get("/api/lists/getUsers", params={"listId": "1.5"}),
               iterable.get("/api/lists/getUsers"),
               iterable.get("/api/lists/424242/size"),
               iterable.get("/api/lists/abc/size")]
    assert [r.status_code for r in refused] == [400] * 5
    assert {r.json()["code"] for r in refused} == {"BadParams"}
    assert refused[3].json()["msg"] == "List 424242 does not exist"


def test_get_users_allows_five_per_minute_per_project(iterable: httpx.Client, sandbox: Sandbox,
                                                      http: httpx.Client) -> None:
    config = sandbox.configure("iterable", {"keys": {"second-project-key": "us"}})
    for name in ("get_users_rate", "list_size_rate"):  # documented: 5 requests/minute
        assert config[name]["burst"] == 5 and round(config[name]["rate"] * 60, 9) == 5
    list_id = int(iterable.post("/api/lists", json={"name": "Read me"}).json()["listId"])
    params = {"listId": list_id}
    statuses = [iterable.get("/api/lists/getUsers", params=params).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    limited = iterable.get("/api/lists/getUsers", params=params)
    assert limited.status_code == 429 and "retry-after" not in limited.headers
    body = limited.json()
    assert body["code"] == "RateLimitExceeded"
    assert body["msg"] == "Exceeded rate limit for endpoint: /api/lists/getUsers"
    assert body["params"]["rateLimitLimit"] == 5 and body["params"]["rateLimitRemaining"] == 0
    assert 1 < body["params"]["rateLimitReset"] <= 12  # one request back every 12 s, not 0.2 s
    # size has its own bucket, GET /api/lists another, and another project is not limited.
    sizes = [iterable.get(f"/api/lists/{list_id}/size").status_code for _ in range(6)]
    assert sizes == [200] * 5 + [429]
    assert iterable.get("/api/lists").status_code == 200
    other = http.get(f"{sandbox.base_url('iterable')}/api/lists/getUsers", params=params,
                     headers={"Api-Key": "second-project-key"})
    assert other.status_code == 400 and other.json()["code"] == "BadParams"  # not its list


def test_get_users_limit_is_configurable(iterable: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("iterable", {"get_users_rate": {"rate": 0.001, "burst": 2}})
    list_id = int(iterable.post("/api/lists", json={"name": "Tight"}).json()["listId"])
    statuses = [iterable.get("/api/lists/getUsers", params={"listId": list_id}).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
