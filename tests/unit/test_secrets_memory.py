"""Secret store logic that needs no keyring: env-var names, MemoryStore, the env override."""

from __future__ import annotations

import pytest

from segport.secrets import (
    ENV_PREFIX,
    POSTGRES_ENTRY,
    EnvOverrideStore,
    KeyringStore,
    MemoryStore,
    SecretStore,
    connection_entry,
    default_store,
    env_var_for,
)


@pytest.mark.parametrize(
    ("connection", "variable"),
    [
        ("iterable", "SEGPORT_API_KEY_ITERABLE"),
        ("SendGrid", "SEGPORT_API_KEY_SENDGRID"),
        ("my shop", "SEGPORT_API_KEY_MY_SHOP"),
        ("eu-west-2", "SEGPORT_API_KEY_EU_WEST_2"),
        ("a.b/c:d", "SEGPORT_API_KEY_A_B_C_D"),
        ("café", "SEGPORT_API_KEY_CAF_"),
        ("Straße", "SEGPORT_API_KEY_STRA_E"),  # one "_" per character, never "SS"
        ("ınbox", "SEGPORT_API_KEY__NBOX"),  # dotless i is not an ASCII I
        ("ﬁnance", "SEGPORT_API_KEY__NANCE"),  # a ligature does not grow into "FI"
        ("日本", "SEGPORT_API_KEY___"),
        ("x1", "SEGPORT_API_KEY_X1"),
    ],
)
def test_env_var_for_maps_every_other_character_to_underscore(
    connection: str, variable: str
) -> None:
    assert env_var_for(connection) == variable
    assert variable.startswith(ENV_PREFIX)


def test_connection_entry() -> None:
    assert connection_entry("My Shop") == "connection:My Shop"
    assert POSTGRES_ENTRY == "source:postgres"


def test_memory_store_round_trip_and_isolation() -> None:
    store = MemoryStore()
    assert isinstance(store, SecretStore)
    assert store.get("connection:a") is None
    store.set("connection:a", "one")
    store.set("connection:a", "two")
    store.set("connection:b", "bee")
    assert store.get("connection:a") == "two"
    assert store.get("connection:b") == "bee"
    assert MemoryStore().get("connection:a") is None  # no state shared between instances
    store.delete("connection:a")
    store.delete("connection:a")  # absent: no error
    store.delete("connection:never")
    assert store.get("connection:a") is None
    assert store.get("connection:b") == "bee"
    assert "memory" in store.describe()


def test_env_override_reads_the_variable_first() -> None:
    inner = MemoryStore()
    inner.set("connection:My Shop", "from-inner")
    environ = {"SEGPORT_API_KEY_MY_SHOP": "from-env"}
    store = EnvOverrideStore(inner, environ)
    assert store.get("connection:My Shop") == "from-env"
    del environ["SEGPORT_API_KEY_MY_SHOP"]  # the mapping is read at each call
    assert store.get("connection:My Shop") == "from-inner"


def test_env_override_ignores_empty_values_and_other_entries() -> None:
    inner = MemoryStore()
    inner.set("connection:shop", "from-inner")
    inner.set(POSTGRES_ENTRY, "pg")
    environ = {
        "SEGPORT_API_KEY_SHOP": "",
        "SEGPORT_API_KEY_SOURCE_POSTGRES": "nope",
        "SEGPORT_API_KEY_POSTGRES": "nope",
    }
    store = EnvOverrideStore(inner, environ)
    assert store.get("connection:shop") == "from-inner"
    assert store.get(POSTGRES_ENTRY) == "pg"
    assert store.get("connection:other") is None


def test_env_override_writes_and_deletes_go_to_the_inner_store() -> None:
    inner = MemoryStore()
    environ = {"SEGPORT_API_KEY_SHOP": "from-env"}
    store = EnvOverrideStore(inner, environ)
    store.set("connection:shop", "written")
    assert inner.get("connection:shop") == "written"
    assert environ == {"SEGPORT_API_KEY_SHOP": "from-env"}
    assert store.get("connection:shop") == "from-env"
    store.delete("connection:shop")
    assert inner.get("connection:shop") is None
    assert environ == {"SEGPORT_API_KEY_SHOP": "from-env"}
    assert store.get("connection:shop") == "from-env"


def test_env_override_defaults_to_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = EnvOverrideStore(MemoryStore())
    assert store.get("connection:eu-west") is None
    monkeypatch.setenv("SEGPORT_API_KEY_EU_WEST", "from-os-env")
    assert store.get("connection:eu-west") == "from-os-env"
    assert "memory" in store.describe()
    assert "SEGPORT_API_KEY_" in store.describe()


def test_default_store_is_the_keyring_behind_the_env_override() -> None:
    store = default_store()
    assert isinstance(store, EnvOverrideStore)
    assert isinstance(store.inner, KeyringStore)
    assert store.inner.service == "segport"
