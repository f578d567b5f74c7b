"""``setup_demo`` on a real folder: creates, refreshes idempotently, keeps the user's work,
refuses a real workspace, and survives a keyring that refuses."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from segport.demo import DEMO_CONNECTIONS, DEMO_SEGMENTS, setup_demo
from segport.errors import ConfigError, SecretStoreError
from segport.model import Connection, Export, PrivacyAgreement, Segment, WorkspaceConfig
from segport.privacy import PRIVACY_STATEMENT_VERSION
from segport.sandbox.defaults import DEMO_KEYS, base_url
from segport.secrets import MemoryStore, connection_entry, env_var_for
from segport.workspace import Workspace

PROFILES = 2_000


class RefusingStore(MemoryStore):
    """A secret store whose keyring is locked."""

    def set(self, entry: str, secret: str) -> None:
        raise SecretStoreError("The OS keyring refused to store a key (locked). Unlock it.")


def _rows(path: Path) -> int:
    with duckdb.connect(":memory:") as con:
        return con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]


def _file_id(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def test_creates_a_complete_demo_workspace(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "demo")
    store = MemoryStore()
    result = setup_demo(ws, profiles=PROFILES, secrets=store, user="ana")

    assert result.workspace == ws.root
    assert result.profiles == PROFILES and result.regenerated
    assert result.segments == tuple(DEMO_SEGMENTS)
    assert result.connections == tuple(DEMO_CONNECTIONS)
    assert result.warnings == ()
    assert _rows(ws.root / "profiles.parquet") == PROFILES
    assert stat.S_IMODE(ws.config_path.stat().st_mode) == 0o600
    assert ws.db_path.is_file()
    assert not [p for p in ws.root.iterdir() if p.name.endswith(".tmp")]

    config = ws.load()
    assert config.demo and "ana" in config.team.admins
    assert config.source is not None
    assert (config.source.kind, config.source.path, config.source.key) == (
        "files", "profiles.parquet", "profile_id")
    assert {n: s.where for n, s in config.segments.items()} == DEMO_SEGMENTS
    assert config.exports == {}
    assert set(config.connections) == set(DEMO_CONNECTIONS)
    for name, kind in DEMO_CONNECTIONS.items():
        c = config.connections[name]
        assert c.type == kind and c.base_url == base_url(kind)
        assert c.shared_with_contributors and c.export_user == "ana"
        assert c.data_center == ("us" if kind == "iterable" else None)
        assert c.privacy.agreed_by == "ana" and c.privacy.agreed_at
        assert c.privacy.version == PRIVACY_STATEMENT_VERSION
        assert store.get(connection_entry(name)) == DEMO_KEYS[kind]
    # Keys live in the secret store only.
    text = ws.config_path.read_text(encoding="utf-8")
    assert not any(key in text for key in DEMO_KEYS.values())


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "demo")
    setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="ana")
    toml = ws.config_path.read_bytes()
    data = _file_id(ws.root / "profiles.parquet")

    again = setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="ana",
                       now=lambda: "2031-01-01T00:00:00+00:00")
    assert not again.regenerated
    assert ws.config_path.read_bytes() == toml
    assert _file_id(ws.root / "profiles.parquet") == data


def test_another_count_regenerates_the_profiles(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "demo")
    setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="ana")
    result = setup_demo(ws, profiles=PROFILES + 500, secrets=MemoryStore(), user="ana")
    assert result.regenerated
    assert _rows(ws.root / "profiles.parquet") == PROFILES + 500


def test_a_damaged_profiles_file_is_regenerated(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "demo")
    setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="ana")
    (ws.root / "profiles.parquet").write_bytes(b"PAR1 truncated")
    assert setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="ana").regenerated
    assert _rows(ws.root / "profiles.parquet") == PROFILES


def test_a_refresh_keeps_the_users_work_and_resets_the_demo_parts(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "demo")
    setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="ana")
    own = Connection(
        name="Iterable – EU newsletter", type="iterable", export_user="ana",
        privacy=PrivacyAgreement("ana", "2026-01-02T03:04:05+00:00", PRIVACY_STATEMENT_VERSION),
        created_by="ana", created_at="2026-01-02T03:04:05+00:00", data_center="eu",
    )
    export = Export(name="Weekly VIPs", connection_type="sendgrid", segments=("VIP Europe",),
                    mapping={"email": "email", "first_name": "first_name"},
                    connection="SendGrid sandbox", list_id="list-1", created_by="bo")

    def add_users_work(config: WorkspaceConfig) -> WorkspaceConfig:
        segments = {**config.segments,
                    "Big in Berlin": Segment("Big in Berlin", where="city = 'Berlin'"),
                    "VIP Europe": Segment("VIP Europe", where="lifetime_value > 1")}
        sendgrid = replace(config.connections["SendGrid sandbox"], base_url="http://x.invalid")
        return replace(
            config,
            team=replace(config.team, contributors=("bo",)),
            segments=segments,
            connections={**config.connections, own.name: own, sendgrid.name: sendgrid},
            exports={export.name: export},
        )

    ws.update(add_users_work, creator="ana")
    result = setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="ana")
    assert not result.regenerated

    config = ws.load()
    assert config.team.contributors == ("bo",)
    assert config.segments["Big in Berlin"].where == "city = 'Berlin'"
    assert config.segments["VIP Europe"].where == DEMO_SEGMENTS["VIP Europe"]
    assert config.connections[own.name] == own
    assert config.connections["SendGrid sandbox"].base_url == base_url("sendgrid")
    assert config.exports == {export.name: export}


def test_another_user_becomes_admin_and_export_user(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "demo")
    setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="ana")
    setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="bo")
    config = ws.load()
    assert config.team.admins == ("ana", "bo")
    for c in (config.connections[name] for name in DEMO_CONNECTIONS):
        assert c.export_user == "bo" and c.privacy.agreed_by == "bo"


def test_refuses_a_workspace_that_is_not_a_demo(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "real")
    ws.update(lambda c: replace(c, segments={"All": Segment("All", where="true")}),
              creator="ana")
    before = ws.config_path.read_bytes()
    with pytest.raises(ConfigError, match="--workspace DIR"):
        setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="ana")
    assert ws.config_path.read_bytes() == before
    assert not (ws.root / "profiles.parquet").exists()


def test_refuses_to_overwrite_a_foreign_profiles_file(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "folder")
    ws.root.mkdir()
    (ws.root / "profiles.parquet").write_bytes(b"someone's data")
    with pytest.raises(ConfigError, match="--workspace DIR"):
        setup_demo(ws, profiles=PROFILES, secrets=MemoryStore(), user="ana")
    assert (ws.root / "profiles.parquet").read_bytes() == b"someone's data"
    assert not ws.exists


def test_a_refusing_keyring_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "demo")
    result = setup_demo(ws, profiles=PROFILES, secrets=RefusingStore(), user="ana")
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert "locked" in warning
    assert all(env_var_for(name) in warning for name in DEMO_CONNECTIONS)
    assert not any(key in warning for key in DEMO_KEYS.values())
    config = ws.load()
    assert config.demo and set(config.connections) == set(DEMO_CONNECTIONS)
    assert _rows(ws.root / "profiles.parquet") == PROFILES


def test_fewer_than_one_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        setup_demo(Workspace(tmp_path / "demo"), profiles=0, secrets=MemoryStore(), user="ana")
