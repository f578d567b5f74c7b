"""The secret store against a real Secret Service (gnome-keyring on a private D-Bus bus)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap

import keyring
import pytest
import secretstorage
from keyring.backends import SecretService as secret_service_backend

from fixtures.secret_service import SecretService
from segport.errors import SecretStoreError
from segport.secrets import (
    POSTGRES_ENTRY,
    SERVICE,
    EnvOverrideStore,
    KeyringStore,
    connection_entry,
    default_store,
    env_var_for,
)

pytestmark = pytest.mark.keyring

SECRET = "sk-live-4f1c9e0b7a5d2c83"


def stored_items(attributes: dict[str, str]) -> list[tuple[dict[str, str], str]]:
    """Items matching ``attributes``, read with secretstorage directly: (attributes, secret)."""
    with contextlib.closing(secretstorage.dbus_init()) as conn:
        return [
            (item.get_attributes(), item.get_secret().decode())
            for item in secretstorage.search_items(conn, attributes)
        ]


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this venv."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_keyring_reports_the_secret_service_backend(clean_keyring: SecretService) -> None:
    assert isinstance(keyring.get_keyring(), secret_service_backend.Keyring)
    assert "SecretService.Keyring" in KeyringStore().describe()
    assert "SecretService.Keyring" in default_store().describe()


def test_set_get_replace_delete_round_trip(clean_keyring: SecretService) -> None:
    store = KeyringStore()
    entry = connection_entry("iterable-main")
    assert store.get(entry) is None

    store.set(entry, SECRET)
    assert store.get(entry) == SECRET
    assert KeyringStore().get(entry) == SECRET  # a new store object reads the same keyring

    store.set(entry, "replacement")
    assert store.get(entry) == "replacement"
    assert clean_keyring.items() == {entry: "replacement"}  # replaced, not duplicated

    store.delete(entry)
    assert store.get(entry) is None
    assert clean_keyring.items() == {}


def test_item_lives_in_the_secret_service_under_service_segport(
    clean_keyring: SecretService,
) -> None:
    entry = connection_entry("SendGrid EU")
    KeyringStore().set(entry, SECRET)

    items = stored_items({"service": "segport", "username": entry})
    assert len(items) == 1
    attributes, secret = items[0]
    assert secret == SECRET
    assert attributes["service"] == SERVICE == "segport"
    assert attributes["username"] == entry

    with contextlib.closing(secretstorage.dbus_init()) as conn:
        collection = secretstorage.get_default_collection(conn)
        assert not collection.is_locked()
        assert [i.get_label() for i in collection.search_items({"username": entry})] == [
            f"Password for '{entry}' on 'segport'"
        ]


def test_entries_and_services_are_kept_apart(clean_keyring: SecretService) -> None:
    store = KeyringStore()
    store.set(connection_entry("a"), "key-a")
    store.set(POSTGRES_ENTRY, "pg-password")
    other = KeyringStore(service="segport-other")
    try:
        assert other.get(connection_entry("a")) is None
        other.set(connection_entry("a"), "other-a")
        assert store.get(connection_entry("a")) == "key-a"
        assert store.get(POSTGRES_ENTRY) == "pg-password"
        assert clean_keyring.items() == {
            connection_entry("a"): "key-a",
            POSTGRES_ENTRY: "pg-password",
        }
    finally:
        clean_keyring.delete_all("segport-other")


def test_delete_of_a_missing_entry_is_not_an_error(clean_keyring: SecretService) -> None:
    store = KeyringStore()
    store.delete(connection_entry("never-stored"))
    store.set(connection_entry("once"), SECRET)
    store.delete(connection_entry("once"))
    store.delete(connection_entry("once"))  # second delete: already gone
    assert store.get(connection_entry("once")) is None


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("autopilot", "SEGPORT_API_KEY_AUTOPILOT"),
        ("My Shop", "SEGPORT_API_KEY_MY_SHOP"),
        ("eu-west.2", "SEGPORT_API_KEY_EU_WEST_2"),
        ("Café Müller", "SEGPORT_API_KEY_CAF__M_LLER"),
    ],
)
def test_env_override_wins_for_reads_and_writes_go_to_the_keyring(
    clean_keyring: SecretService, monkeypatch: pytest.MonkeyPatch, name: str, variable: str
) -> None:
    assert env_var_for(name) == variable
    entry = connection_entry(name)
    store = EnvOverrideStore(KeyringStore())

    store.set(entry, "from-keyring")
    assert store.get(entry) == "from-keyring"

    monkeypatch.setenv(variable, "from-env")
    assert store.get(entry) == "from-env"
    assert default_store().get(entry) == "from-env"

    store.set(entry, "written")  # writes go to the keyring, the environment is untouched
    assert clean_keyring.items() == {entry: "written"}
    assert store.get(entry) == "from-env"

    store.delete(entry)  # deletes go to the keyring; the override still answers reads
    assert clean_keyring.items() == {}
    assert store.get(entry) == "from-env"

    monkeypatch.delenv(variable)
    assert store.get(entry) is None


def test_env_override_only_applies_to_connection_keys(
    clean_keyring: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = default_store()
    store.set(POSTGRES_ENTRY, "pg-from-keyring")
    monkeypatch.setenv("SEGPORT_API_KEY_SOURCE_POSTGRES", "nope")
    monkeypatch.setenv("SEGPORT_API_KEY_POSTGRES", "nope")
    assert store.get(POSTGRES_ENTRY) == "pg-from-keyring"


def test_a_subprocess_on_the_same_bus_sees_the_stored_key(clean_keyring: SecretService) -> None:
    entry = connection_entry("shared")
    KeyringStore().set(entry, SECRET)

    proc = run_python(
        f"""
        import keyring
        from segport.secrets import default_store
        print(type(keyring.get_keyring()).__module__)
        print(default_store().get({entry!r}))
        default_store().set({connection_entry("from-child")!r}, "child-secret")
        """,
        clean_keyring.subprocess_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["keyring.backends.SecretService", SECRET]
    assert KeyringStore().get(connection_entry("from-child")) == "child-secret"


def test_a_locked_keyring_is_a_clear_error(clean_keyring: SecretService) -> None:
    store = KeyringStore()
    store.set(connection_entry("locked"), SECRET)
    with clean_keyring.locked():
        for call in (
            lambda: store.get(connection_entry("locked")),
            lambda: store.set(connection_entry("locked"), SECRET),
            lambda: store.delete(connection_entry("locked")),
        ):
            with pytest.raises(SecretStoreError, match="Unlock your keyring") as info:
                call()
            assert SECRET not in str(info.value)
    assert store.get(connection_entry("locked")) == SECRET  # unlocked again, nothing lost


def test_bus_gone_after_detection_is_a_clear_error(
    clean_keyring: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backend was chosen while the bus was up; then the bus is unreachable."""
    assert isinstance(keyring.get_keyring(), secret_service_backend.Keyring)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    with pytest.raises(SecretStoreError) as info:
        KeyringStore().set(connection_entry("Gone Away"), SECRET)
    message = str(info.value)
    assert "SEGPORT_API_KEY_GONE_AWAY" in message
    assert "gnome-keyring" in message
    assert SECRET not in message


STORE_CALL = """
import sys
from segport.errors import SegportError
from segport.secrets import KeyringStore
store = KeyringStore()
try:
    {call}
except SegportError as exc:
    print(type(exc).__name__, exc, sep=": ")
    sys.exit(exc.exit_code)
print("no error")
"""

CALLS = {
    "set": f"store.set('connection:shop', {SECRET!r})",
    "get": "store.get('connection:shop')",
    "delete": "store.delete('connection:shop')",
}

NO_KEYRING_ENVS = {
    "fail-backend": {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
    "bus-nowhere": {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"},
    "secretservice-forced-bus-nowhere": {
        "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
        "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent",
    },
}


@pytest.mark.parametrize("operation", sorted(CALLS))
@pytest.mark.parametrize("setting", sorted(NO_KEYRING_ENVS))
def test_no_usable_keyring_is_a_clear_error_without_the_secret(
    clean_keyring: SecretService, setting: str, operation: str
) -> None:
    proc = run_python(
        STORE_CALL.format(call=CALLS[operation]),
        clean_keyring.subprocess_env(**NO_KEYRING_ENVS[setting]),
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == SecretStoreError.exit_code == 2, output
    assert proc.stderr == ""  # no traceback, no warning
    assert proc.stdout.startswith("SecretStoreError: No usable OS keyring was found")
    assert "apt-get install gnome-keyring" in proc.stdout
    assert "SEGPORT_API_KEY_SHOP" in proc.stdout
    assert SECRET not in output
    assert clean_keyring.items() == {}  # nothing reached the real keyring
