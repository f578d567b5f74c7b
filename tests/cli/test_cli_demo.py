"""`segport demo --setup-only`: a ready workspace, idempotent, with sandbox connections."""

from __future__ import annotations

from clirunner import Cli
from segport.sandbox.defaults import DEMO_KEYS
from segport.secrets import KeyringStore, connection_entry


def test_demo_setup_then_explore_and_cap_warning(cli: Cli) -> None:
    r = cli("demo", "--setup-only")
    assert r.code == 0, r.output
    assert "150,000 profiles" in r.stderr
    segments = {s["name"]: s["members"] for s in cli("segments", "list", "--json").json()}
    assert len(segments) >= 5
    assert max(segments.values()) > 100_000
    assert min(segments.values()) < 5_000
    connections = cli("connections", "list", "--json").json()
    assert {c["type"] for c in connections} == {"iterable", "sendgrid", "autopilot"}
    for c in connections:
        assert c["base_url"].startswith("http://127.0.0.1:870")
        assert KeyringStore().get(connection_entry(c["name"])) == DEMO_KEYS[c["type"]]
    shown = cli("source", "show", "--json").json()
    assert shown["rows"] == 150_000
    big = max(segments, key=segments.__getitem__)
    sendgrid = next(c["name"] for c in connections if c["type"] == "sendgrid")
    r = cli("exports", "add", "--name", "All subscribers", "--connection", sendgrid,
            "--segment", big, "--map", "email=email", "--map", "first_name=first_name",
            "--list-id", "demo-list")
    assert r.code == 0, r.output
    assert "above SendGrid's documented limit of 100,000 profiles in total" in r.stderr
    again = cli("demo", "--setup-only")
    assert again.code == 0, again.output
    assert "(kept)" in again.stderr
    assert [e["name"] for e in cli("exports", "list", "--json").json()] == ["All subscribers"]


def test_demo_refuses_a_real_workspace(cli: Cli, profiles_csv) -> None:
    assert cli("source", "set", "files", str(profiles_csv)).code == 0
    r = cli("demo", "--setup-only", "--profiles", "100")
    assert r.code == 2 and "--workspace" in r.stderr


def test_demo_sandbox_port_moves_the_demo_connections(cli: Cli) -> None:
    """`--sandbox-port N`: the demo connections point at N, N+1, N+2 (as `segport sandbox
    --port N` serves them); a refresh without it puts them back on the default ports. (The
    in-process sandbox listening on N is driven in tests/tui/test_tui_tmux_demo.py.)"""
    r = cli("demo", "--setup-only", "--profiles", "100", "--sandbox-port", "18801")
    assert r.code == 0, r.output
    urls = {c["type"]: c["base_url"] for c in cli("connections", "list", "--json").json()}
    assert urls == {"iterable": "http://127.0.0.1:18801", "sendgrid": "http://127.0.0.1:18802",
                    "autopilot": "http://127.0.0.1:18803/v1"}
    assert cli("demo", "--setup-only", "--profiles", "100").code == 0
    urls = {c["type"]: c["base_url"] for c in cli("connections", "list", "--json").json()}
    assert urls["iterable"] == "http://127.0.0.1:8701"
    refused = cli("demo", "--setup-only", "--sandbox-port", "65534")
    assert refused.code == 2 and "--sandbox-port" in refused.stderr
