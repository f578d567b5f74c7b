"""The key of a connection appears nowhere but the OS keyring: not in files, output or argv."""

from __future__ import annotations

from collections.abc import Callable

from clirunner import Cli, Result
from segport.sandbox.server import Sandbox
from segport.secrets import KeyringStore, connection_entry

KEY = "SG.LEAK-CANARY-5b1e0f7d2c9a4e86"


def test_key_is_in_the_keyring_and_nowhere_else(
        ready: Cli, sandbox: Sandbox, allow_key: Callable[[str, str], None]) -> None:
    allow_key("sendgrid", KEY)
    url = sandbox.base_url("sendgrid")
    outputs = []

    def run(*args: str, user: str = "ana", stdin: str | None = None) -> Result:
        r = ready(*args, user=user, stdin=stdin)
        outputs.append(r.output)
        return r

    assert run("connections", "add", "--type", "sendgrid", "--name", "Canary", "--base-url", url,
               "--agree-privacy", "--share-with-contributors", stdin=KEY).code == 0
    # The same key again (refused, duplicate), a wrong invocation and every read command.
    run("connections", "add", "--type", "sendgrid", "--name", "Canary", "--agree-privacy",
        stdin=KEY)
    run("connections", "add", "--type", "sendgrid", "--name", "Canary 2", user="bo", stdin=KEY)
    run("connections", "test", "Canary")
    run("connections", "test", "Canary", "--json", user="bo")
    run("connections", "list")
    run("connections", "list", "--json")
    run("connections", "list", "--json", user="bo")
    run("exports", "add", "--name", "E", "--connection", "Canary", "--segment", "Everyone",
        "--map", "email=email", "--list-id", "l")
    run("exports", "list", "--json")
    run("source", "show", "--json")
    run("segments", "list")
    assert KeyringStore().get(connection_entry("Canary")) == KEY
    for text in outputs:
        assert KEY not in text
    for path in ready.workspace.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    run("connections", "remove", "Canary", "--detach-exports")
    assert KeyringStore().get(connection_entry("Canary")) is None
