"""Fault injection on the real wire: 5xx, dropped connections (RST, FIN, truncated body), hangs,
late answers after the work is done, 429 storms with each platform's body/headers, latency; and
the token bucket itself."""

from __future__ import annotations

import time

import httpx
import pytest
from sandbox_support import wait_until

from segport.sandbox.config import RateLimit
from segport.sandbox.limits import BucketSet, TokenBucket
from segport.sandbox.server import Sandbox

ROOMY_AUTOPILOT = {"rate": {"rate": 100, "burst": 100}}


def test_error_statuses_follow_the_seed(iterable: httpx.Client, sandbox: Sandbox) -> None:
    faults = {"faults": {"seed": 7, "error_rate": 0.5}}

    def run() -> list[int]:
        sandbox.configure("iterable", faults)
        return [iterable.get("/api/lists").status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert set(first) - {200} and set(first) <= {200, 500, 502, 503}
    state = sandbox.state("iterable")["requests"]
    assert sum(state.values()) == 40 and state["GET /api/lists 200"] == 2 * first.count(200)


def test_error_bodies_are_the_platforms_own(sendgrid: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("sendgrid", {"faults": {"error_rate": 1, "error_statuses": [500]}})
    failed = sendgrid.get("/v3/scopes")
    assert failed.status_code == 500 and failed.json()["errors"][0]["message"]
    assert "x-ratelimit-remaining" in failed.headers
    sandbox.configure("sendgrid", {"faults": {"error_rate": 1, "error_statuses": [503]}})
    gateway = sendgrid.get("/v3/scopes")
    assert gateway.status_code == 503 and gateway.headers["content-type"].startswith("text/html")


def test_max_faults_and_only(iterable: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("iterable", {"faults": {"error_rate": 1, "max_faults": 2,
                                              "only": ["GET /api/lists"]}})
    assert iterable.post("/api/lists", json={"name": "untouched"}).status_code == 200
    statuses = [iterable.get("/api/lists").status_code for _ in range(4)]
    assert statuses[:2] != [200, 200] and statuses[2:] == [200, 200]


@pytest.mark.parametrize(("style", "error"), [
    ("rst", httpx.ReadError),
    ("fin", httpx.RemoteProtocolError),
    ("truncate", httpx.RemoteProtocolError),
])
def test_connection_drops(style: str, error: type[Exception], autopilot: httpx.Client,
                          sandbox: Sandbox) -> None:
    sandbox.configure("autopilot", {"faults": {"reset_rate": 1, "reset_style": style,
                                               "max_faults": 1}})
    with pytest.raises(error):
        autopilot.post("/list", json={"name": "dropped"})
    assert autopilot.get("/lists").json() == {"lists": []}  # work not done; client recovers
    assert sandbox.state("autopilot")["requests"]["POST /v1/list reset"] == 1


def test_timeout_leaves_the_work_undone(autopilot: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("autopilot", {**ROOMY_AUTOPILOT,
                                    "faults": {"timeout_rate": 1, "max_faults": 1,
                                               "hang_seconds": 10}})
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        autopilot.post("/list", json={"name": "slow"}, timeout=0.3)
    assert time.monotonic() - started < 2
    wait_until(lambda: sandbox.state("autopilot")["requests"].get("POST /v1/list timeout"))
    assert autopilot.get("/lists").json() == {"lists": []}


def test_late_answer_after_the_work_is_done(autopilot: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("autopilot", {**ROOMY_AUTOPILOT,
                                    "faults": {"late_rate": 1, "max_faults": 1,
                                               "only": ["POST /v1/contacts"]}})
    list_id = autopilot.post("/list", json={"name": "Late"}).json()["list_id"]
    body = {"contacts": [{"Email": "late@example.com", "_autopilot_list": list_id}]}
    with pytest.raises(httpx.ReadTimeout):
        autopilot.post("/contacts", json=body, timeout=0.3)
    members = sandbox.state("autopilot")["lists"][0]["members"]
    assert [m["email"] for m in members] == ["late@example.com"]
    retried = autopilot.post("/contacts", json=body)  # idempotent by email
    assert retried.status_code == 200
    assert len(sandbox.state("autopilot")["lists"][0]["members"]) == 1


def test_late_answer_arrives_when_the_client_waits(autopilot: httpx.Client,
                                                   sandbox: Sandbox) -> None:
    sandbox.configure("autopilot", {"faults": {"late_rate": 1, "hang_seconds": 0.3}})
    started = time.monotonic()
    assert autopilot.get("/lists").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_storms_answer_429_in_each_platforms_own_way(sandbox: Sandbox, iterable: httpx.Client,
                                                     sendgrid: httpx.Client,
                                                     autopilot: httpx.Client) -> None:
    for kind in ("iterable", "sendgrid", "autopilot"):
        sandbox.configure(kind, {"faults": {"storm_seconds": 0.6}})
    started = time.monotonic()
    it = iterable.get("/api/lists")
    assert it.status_code == 429 and "retry-after" not in it.headers
    assert it.json()["code"] == "RateLimitExceeded"
    assert 0 < it.json()["params"]["rateLimitReset"] <= 0.6
    sg = sendgrid.get("/v3/marketing/lists")
    assert sg.status_code == 429 and sg.json()["errors"][0]["message"] == "too many requests"
    assert sg.headers["x-ratelimit-remaining"] == "0"
    assert int(sg.headers["x-ratelimit-reset"]) >= int(time.time())
    ap = autopilot.get("/lists")
    assert ap.status_code == 429 and ap.json()["error"] == "Too Many Requests"
    assert "x-ratelimit-limit" not in ap.headers
    wait_until(lambda: iterable.get("/api/lists").status_code == 200, timeout=3, every=0.05)
    assert time.monotonic() - started >= 0.5
    assert sandbox.state("iterable")["requests"]["GET /api/lists 429"] >= 1


def test_latency_is_added(iterable: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure("iterable", {"faults": {"latency": 0.25}})
    started = time.monotonic()
    assert iterable.get("/api/lists").status_code == 200
    assert time.monotonic() - started >= 0.25


def test_sandbox_endpoints_are_never_faulted(sandbox: Sandbox) -> None:
    sandbox.configure("sendgrid", {"faults": {"error_rate": 1, "reset_rate": 0}})
    assert sandbox.state("sendgrid")["lists"] == []


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_rate_and_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=5, burst=5, clock=clock)
    assert [bucket.try_acquire() for _ in range(6)] == [True] * 5 + [False]
    assert bucket.remaining() == 0 and bucket.wait_time() == pytest.approx(0.2)
    clock.now += 0.1
    assert not bucket.try_acquire() and bucket.wait_time() == pytest.approx(0.1)
    clock.now += 0.1
    assert bucket.try_acquire()
    clock.now += 10
    assert bucket.remaining() == 5 and bucket.time_to_full() == 0
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)


def test_bucket_set_is_per_account_and_group() -> None:
    clock = FakeClock()
    buckets = BucketSet(lambda group: RateLimit(1, 2 if group == "a" else 1), clock)
    assert buckets.get("acct1", "a") is buckets.get("acct1", "a")
    assert buckets.get("acct1", "a") is not buckets.get("acct2", "a")
    assert buckets.get("acct1", "b").burst == 1
    buckets.get("acct1", "a").try_acquire()
    buckets.clear()
    assert buckets.get("acct1", "a").remaining() == 2
