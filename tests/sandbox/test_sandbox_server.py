"""The sandbox server and its ``/_sandbox`` endpoints: ports, start/stop in a thread and in an event
loop, signals, state/reset/config, per-account isolation, and no API key in any log."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess

import httpx
import pytest
from sandbox_support import wait_until

from clirunner import segport_binary
from segport.sandbox.config import IterableConfig
from segport.sandbox.defaults import DEMO_KEYS, account_id, base_url
from segport.sandbox.server import Sandbox


def free_triple() -> Sandbox:
    """A sandbox bound on three consecutive free ports N, N+1, N+2."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port > 65_000:
            continue
        sandbox = Sandbox(port=port)
        try:
            sandbox.bind()
        except OSError:
            continue
        return sandbox
    raise AssertionError("no three consecutive free ports")


def test_port_rule_and_description() -> None:
    sandbox = free_triple()
    n = sandbox.port
    assert [sandbox.port_of(k) for k in ("iterable", "sendgrid", "autopilot")] == [n, n + 1, n + 2]
    with sandbox:
        described = sandbox.describe()
        assert described["autopilot"] == {"base_url": base_url("autopilot", port=n),
                                          "api_key": DEMO_KEYS["autopilot"]}
        for kind in ("iterable", "sendgrid", "autopilot"):
            assert httpx.get(f"{sandbox.origin(kind)}/_sandbox/state").status_code == 200


def test_busy_port_is_reported_with_its_number() -> None:
    sandbox = free_triple()  # N, N+1, N+2 free a moment ago (another process may take N)
    port = sandbox.port
    sandbox.close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port + 1))
        busy.listen()
        with pytest.raises(OSError, match=f"127.0.0.1:{port + 1}"):
            Sandbox(port=port).bind()  # SendGrid's port (N+1) is taken


async def test_serve_forever_in_an_event_loop_with_start_up_config() -> None:
    import asyncio

    config = IterableConfig(data_center="eu", keys={"eu-key": "eu", "us-key": "us"})
    sandbox = Sandbox(port=0, iterable=config, kinds=["iterable"])
    ready = asyncio.Event()
    task = asyncio.create_task(sandbox.serve_forever(on_ready=lambda _: ready.set()))
    await asyncio.wait_for(ready.wait(), 5)
    async with httpx.AsyncClient(base_url=sandbox.base_url("iterable"), trust_env=False) as client:
        assert (await client.get("/api/lists", headers={"Api-Key": "eu-key"})).status_code == 200
        assert (await client.get("/api/lists", headers={"Api-Key": "us-key"})).status_code == 401
    sandbox.request_stop()
    await asyncio.wait_for(task, 5)


def test_cli_prints_json_and_stops_on_sigint() -> None:
    sandbox = free_triple()
    port = sandbox.port
    sandbox.close()
    process = subprocess.Popen(
        [segport_binary(), "sandbox", "--port", str(port), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["sendgrid"] == {"base_url": f"http://127.0.0.1:{port + 1}",
                                     "api_key": DEMO_KEYS["sendgrid"]}
        headers = {"Api-Key": DEMO_KEYS["iterable"]}
        assert httpx.get(f"{first['iterable']['base_url']}/api/lists",
                         headers=headers).status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
        assert DEMO_KEYS["iterable"] not in process.stderr.read()  # type: ignore[union-attr]
    finally:
        process.kill()


def test_reset_clears_data_and_restores_config_but_keeps_accounts(
        sandbox: Sandbox, iterable: httpx.Client) -> None:
    sandbox.configure("iterable", {"keys": {"extra": "us"}, "max_subscribers": 3})
    iterable.post("/api/lists", json={"name": "Soon gone"})
    sandbox.reset(keep_config=True)
    state = sandbox.state("iterable")
    assert state["lists"] == [] and state["requests"] == {}
    extra = httpx.get(f"{sandbox.base_url('iterable')}/api/lists", headers={"Api-Key": "extra"})
    assert extra.status_code == 200  # the patched key still opens its account
    assert sandbox.configure("iterable", {})["max_subscribers"] == 3
    sandbox.reset()
    assert sandbox.configure("iterable", {})["max_subscribers"] == 1_000
    assert iterable.get("/api/lists").status_code == 200  # the demo account always opens


def test_state_counts_requests_by_template_and_status(sandbox: Sandbox,
                                                     sendgrid: httpx.Client) -> None:
    sandbox.configure("sendgrid", {"job_pending_seconds": 0})
    job = sendgrid.put("/v3/marketing/contacts", json={"contacts": [{"email": "a@example.com"}]})
    sendgrid.get(f"/v3/marketing/contacts/imports/{job.json()['job_id']}")
    sendgrid.get("/v3/marketing/contacts/imports/unknown")
    sendgrid.get("/v3/nothing-here")
    assert sandbox.state("sendgrid")["requests"] == {
        "GET /v3/marketing/contacts/imports/{id} 200": 1,
        "GET /v3/marketing/contacts/imports/{id} 404": 1,
        "GET /v3/nothing-here 404": 1,
        "PUT /v3/marketing/contacts 202": 1,
    }


def test_config_endpoint_patches_validates_and_never_echoes_keys(sandbox: Sandbox) -> None:
    config = sandbox.configure("sendgrid", {"keys": {"SG.secret-key": ["marketing.read"]},
                                            "contacts_rate": {"rate": 1}})
    text = json.dumps(config)
    assert "SG.secret-key" not in text and DEMO_KEYS["sendgrid"] not in text
    assert account_id("SG.secret-key") in config["keys"]
    assert config["contacts_rate"] == {"rate": 1.0, "burst": 3.0}
    url = f"{sandbox.origin('sendgrid')}/_sandbox/config"
    bad = [{"no_such_limit": 1}, {"max_contacts": "many"}, {"faults": {"seed": None, "nope": 1}},
           {"faults": {"error_rate": 0.8, "reset_rate": 0.5}}, {"reset_header": "sometimes"},
           {"default_rate": {"rate": 0}}, {"faults": {"error_statuses": [404]}}]
    for patch in bad:
        response = httpx.post(url, json=patch)
        assert response.status_code == 400 and response.json()["error"]
    assert httpx.get(url).json()["faults"]["seed"] == 0  # a refused patch changes nothing


def test_defaults_are_the_documented_limits(sandbox: Sandbox) -> None:
    iterable = sandbox.configure("iterable", {})
    assert (iterable["max_subscribers"], iterable["max_body_bytes"]) == (1_000, 4 * 1024 * 1024)
    assert iterable["subscribe_rate"] == {"rate": 5, "burst": 5}
    assert iterable["lists_rate"]["rate"] == 100
    sendgrid = sandbox.configure("sendgrid", {})
    assert (sendgrid["max_contacts"], sendgrid["max_body_bytes"]) == (30_000, 6 * 1024 * 1024)
    assert (sendgrid["max_lists"], sendgrid["max_search_emails"]) == (1_000, 100)
    assert sendgrid["contacts_rate"]["rate"] == 3 and sendgrid["default_rate"]["rate"] == 10
    assert (sendgrid["job_pending_seconds"], sendgrid["job_contacts_per_second"]) == (0.5, 20_000)
    autopilot = sandbox.configure("autopilot", {})
    assert autopilot["max_contacts"] == 100 and autopilot["rate"]["rate"] == 5


def test_accounts_are_isolated(sandbox: Sandbox, sendgrid: httpx.Client) -> None:
    sandbox.configure("sendgrid", {"keys": {"SG.other": ["marketing.read"]}})
    other = {"Authorization": "Bearer SG.other"}
    base = sandbox.base_url("sendgrid")
    sendgrid.post("/v3/marketing/lists", json={"name": "Demo's"})
    assert httpx.get(f"{base}/v3/marketing/lists", headers=other).json()["result"] == []
    httpx.post(f"{base}/v3/marketing/lists", json={"name": "Other's"}, headers=other)
    assert [x["name"] for x in sandbox.state("sendgrid")["lists"]] == ["Demo's"]
    mine = sandbox.state("sendgrid", account=account_id("SG.other"))
    assert [x["name"] for x in mine["lists"]] == ["Other's"]
    assert mine["requests"] == {"GET /v3/marketing/lists 200": 1,
                                "POST /v3/marketing/lists 201": 1}
    by_header = httpx.get(f"{sandbox.origin('sendgrid')}/_sandbox/state", headers=other).json()
    assert by_header == mine


def test_no_api_key_reaches_a_log(sandbox: Sandbox, caplog: pytest.LogCaptureFixture,
                                  iterable: httpx.Client, autopilot: httpx.Client) -> None:
    sandbox.configure("autopilot", {"faults": {"error_rate": 1, "max_faults": 1}})
    with caplog.at_level(logging.DEBUG):
        iterable.get("/api/lists")
        iterable.get("/api/lists", headers={"Api-Key": "a-wrong-key-123"})
        autopilot.get("/lists")
        wait_until(lambda: sandbox.state("autopilot")["requests"])
    assert any("GET /api/lists 200" in r.getMessage() for r in caplog.records)
    for secret in (DEMO_KEYS["iterable"], DEMO_KEYS["autopilot"], "a-wrong-key-123"):
        assert secret not in caplog.text
    assert not [r for r in caplog.records if r.name == "uvicorn.access"]
