"""Connections from the command line: the key lands in the real OS keyring and nowhere else."""

from __future__ import annotations

import tomllib
from collections.abc import Callable

import pytest

from clirunner import Cli, Result
from segport.sandbox.server import Sandbox
from segport.secrets import KeyringStore, connection_entry

KEY = "SG.cli-test-key-7f3a9c"
SG_URL = ""


@pytest.fixture(autouse=True)
def sendgrid_account(sandbox: Sandbox, allow_key: Callable[[str, str], None]) -> None:
    """The sandbox's SendGrid accepts KEY and SG.other for these tests."""
    global SG_URL
    SG_URL = sandbox.base_url("sendgrid")
    allow_key("sendgrid", KEY)
    allow_key("sendgrid", "SG.other")


def add(cli: Cli, name: str = "SendGrid – US list", *extra: str, user: str = "ana",
        key: str = KEY) -> Result:
    return cli("connections", "add", "--type", "sendgrid", "--name", name, "--agree-privacy",
               "--base-url", SG_URL + "/", *extra, user=user, stdin=key + "\n")


def test_add_connects_then_stores_key_in_keyring_and_settings_in_workspace(ready: Cli) -> None:
    r = add(ready, "SendGrid – US list")
    assert r.code == 0, r.output
    assert "Connected: 0 list(s) visible, scopes: marketing." in r.stderr  # what the key sees
    assert "SecretService" in r.stderr  # says where the key went
    assert KeyringStore().get(connection_entry("SendGrid – US list")) == KEY
    config = tomllib.loads((ready.workspace / "segport.toml").read_text())
    saved = config["connections"]["SendGrid – US list"]
    assert saved["type"] == "sendgrid"
    assert saved["base_url"] == SG_URL
    assert saved["export_user"] == "ana"
    assert saved["shared_with_contributors"] is False
    assert saved["privacy"]["agreed_by"] == "ana" and saved["privacy"]["version"]


def test_no_agreement_no_connection(ready: Cli) -> None:
    r = ready("connections", "add", "--type", "iterable", "--name", "It", user="ana",
              stdin=KEY)
    assert r.code == 2
    assert "data privacy" in r.stderr and "--agree-privacy" in r.stderr
    assert ready("connections", "list", "--json", user="ana").json() == []
    assert KeyringStore().get(connection_entry("It")) is None


def test_bad_inputs_are_refused_and_nothing_saved(ready: Cli) -> None:
    assert "API key is empty" in add(ready, "Empty", key="").stderr
    assert "only" in ready("connections", "add", "--type", "autopilot", "--name", "A",
                           "--agree-privacy", "--data-center", "eu", user="ana",
                           stdin=KEY).stderr
    r = ready("connections", "add", "--type", "sendgrid", "--name", "Bad URL",
              "--agree-privacy", "--base-url", "ftp://x", user="ana", stdin=KEY)
    assert r.code == 2 and "not an http(s) URL" in r.stderr
    assert ready("connections", "list", "--json", user="ana").json() == []
    assert add(ready, "Dup").code == 0
    r = add(ready, "Dup", key="SG.other")
    assert r.code == 2 and "already exists" in r.stderr
    assert KeyringStore().get(connection_entry("Dup")) == KEY


def test_contributor_sees_name_and_type_of_shared_connections_only(ready: Cli) -> None:
    assert add(ready, "Shared", "--share-with-contributors").code == 0
    assert add(ready, "Private").code == 0
    admin_view = ready("connections", "list", "--json", user="ana").json()
    assert {c["name"] for c in admin_view} == {"Shared", "Private"}
    assert all("export_user" in c for c in admin_view)
    contributor_view = ready("connections", "list", "--json", user="bo").json()
    assert contributor_view == [{"name": "Shared", "type": "sendgrid"}]


def test_contributor_may_not_add_or_remove_connections(ready: Cli) -> None:
    r = add(ready, "Mine", user="bo")
    assert r.code == 4
    assert "only administrators of this workspace (ana) may add connections" in r.stderr
    assert KeyringStore().get(connection_entry("Mine")) is None
    assert add(ready, "Theirs", "--share-with-contributors").code == 0
    r = ready("connections", "remove", "Theirs", user="bo")
    assert r.code == 4 and "(ana)" in r.stderr
    assert KeyringStore().get(connection_entry("Theirs")) == KEY


def test_outsider_is_refused_everything(ready: Cli) -> None:
    r = ready("connections", "list", user="eve")
    assert r.code == 4 and "not in this workspace's [team]" in r.stderr


def test_remove_deletes_key_and_respects_exports(ready: Cli) -> None:
    assert add(ready, "SG").code == 0
    r = ready("exports", "add", "--name", "Weekly", "--connection", "SG", "--segment",
              "Big spenders", "--map", "email=email", "--list-id", "abc", user="ana")
    assert r.code == 0, r.output
    r = ready("connections", "remove", "SG", user="ana")
    assert r.code == 2 and "Weekly" in r.stderr and "--detach-exports" in r.stderr
    assert KeyringStore().get(connection_entry("SG")) == KEY
    r = ready("connections", "remove", "SG", "--detach-exports", user="ana")
    assert r.code == 0, r.output
    assert KeyringStore().get(connection_entry("SG")) is None
    exports = ready("exports", "list", "--json", user="ana").json()
    assert exports[0]["name"] == "Weekly" and exports[0]["connection"] is None
    assert exports[0]["active"] is False and exports[0]["segments"] == ["Big spenders"]


def test_connect_refuses_a_wrong_key_and_saves_nothing(ready: Cli) -> None:
    r = add(ready, "Wrong", key="SG.not-a-key-of-this-account")
    assert r.code == 2, r.output
    assert "SendGrid" in r.stderr and "key" in r.stderr.lower()
    assert "SG.not-a-key-of-this-account" not in r.output
    assert ready("connections", "list", "--json", user="ana").json() == []
    assert KeyringStore().get(connection_entry("Wrong")) is None


def test_connect_names_an_unreachable_host(ready: Cli, sandbox: Sandbox) -> None:
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    r = ready("connections", "add", "--type", "autopilot", "--name", "Nowhere", "--agree-privacy",
              "--base-url", closed, user="ana", stdin=KEY)
    assert r.code == 2, r.output
    assert "127.0.0.1:9" in r.stderr and "Start it with 'segport sandbox'" in r.stderr
    assert ready("connections", "list", "--json", user="ana").json() == []


def test_connect_times_out_clearly(ready: Cli, sandbox: Sandbox,
                                   allow_key: Callable[[str, str], None]) -> None:
    allow_key("autopilot", "ap-test-key")
    sandbox.configure("autopilot", {"faults": {"timeout_rate": 1.0, "hang_seconds": 30}})
    r = ready("connections", "add", "--type", "autopilot", "--name", "Slow", "--agree-privacy",
              "--base-url", sandbox.base_url("autopilot"), user="ana", stdin="ap-test-key",
              env={"SEGPORT_CONNECT_TIMEOUT": "1"})
    assert r.code == 2, r.output
    assert "time" in r.stderr.lower()
    assert ready("connections", "list", "--json", user="ana").json() == []


def test_connect_detects_the_other_data_centre(ready: Cli, sandbox: Sandbox,
                                               allow_key: Callable[[str, str], None]) -> None:
    sandbox.configure("iterable", {"keys": {"eu-project-key": "eu"}})
    r = ready("connections", "add", "--type", "iterable", "--name", "It", "--agree-privacy",
              "--base-url", sandbox.base_url("iterable"), user="ana", stdin="eu-project-key")
    assert r.code == 2, r.output
    assert "EU" in r.stderr or "data centre" in r.stderr
    assert "eu-project-key" not in r.output


def test_connections_test_reports_what_the_key_sees(ready: Cli) -> None:
    assert add(ready, "SG", "--share-with-contributors").code == 0
    admin = ready("connections", "test", "SG", "--json", user="ana").json()
    assert admin["ok"] is True and "marketing.read" in admin["scopes"]
    contributor = ready("connections", "test", "SG", "--json", user="bo").json()
    assert contributor == {"name": "SG", "type": "sendgrid", "ok": True}
    r = ready("connections", "test", "SG", user="ana", env={"SEGPORT_API_KEY_SG": "SG.revoked"})
    assert r.code == 2 and "SG.revoked" not in r.output
