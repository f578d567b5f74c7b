"""Connections from the command line: the key lands in the real OS keyring and nowhere else."""

from __future__ import annotations

import tomllib

from clirunner import Cli, Result
from segport.secrets import KeyringStore, connection_entry

KEY = "SG.cli-test-key-7f3a9c"


def add(cli: Cli, name: str = "SendGrid – US list", *extra: str, user: str = "ana",
        key: str = KEY) -> Result:
    return cli("connections", "add", "--type", "sendgrid", "--name", name, "--agree-privacy",
               *extra, user=user, stdin=key + "\n")


def test_add_stores_key_in_keyring_and_settings_in_workspace(ready: Cli) -> None:
    r = add(ready, "SendGrid – US list", "--base-url", "http://127.0.0.1:8702/")
    assert r.code == 0, r.output
    assert "SecretService" in r.stderr  # says where the key went
    assert KeyringStore().get(connection_entry("SendGrid – US list")) == KEY
    config = tomllib.loads((ready.workspace / "segport.toml").read_text())
    saved = config["connections"]["SendGrid – US list"]
    assert saved["type"] == "sendgrid"
    assert saved["base_url"] == "http://127.0.0.1:8702"
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
    r = add(ready, "Bad URL", "--base-url", "ftp://x")
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
