"""The workspace file: located by rule, written atomically under a lock, never clobbered."""

from __future__ import annotations

import multiprocessing
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from segport.errors import ConfigError
from segport.model import Segment, WorkspaceConfig
from segport.workspace import Workspace, resolve_location


def test_location_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGPORT_WORKSPACE", str(tmp_path / "env"))
    assert resolve_location(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_location(None) == tmp_path / "env"
    monkeypatch.delenv("SEGPORT_WORKSPACE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_location(None) == tmp_path / "xdg" / "segport"


def add_segment(name: str):  # type: ignore[no-untyped-def]
    def change(config: WorkspaceConfig) -> WorkspaceConfig:
        return replace(config, segments={**config.segments, name: Segment(name, where="true")})
    return change


def test_first_write_makes_creator_admin_with_private_files(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    config = ws.update(add_segment("A"), creator="ana")
    assert config.team.admins == ("ana",)
    assert stat.S_IMODE(ws.config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(ws.db_path.stat().st_mode) == 0o600
    assert ws.load() == config
    assert not [p for p in ws.root.iterdir() if p.name.endswith(".tmp")]


def test_missing_workspace_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="segport demo --setup-only"):
        Workspace(tmp_path / "none").load()


@pytest.mark.parametrize("content", [b"[team\nadmins=", b"\xff\xfe\x00garbage", b"demo = 3"])
def test_corrupt_file_is_reported_and_never_overwritten(tmp_path: Path, content: bytes) -> None:
    ws = Workspace(tmp_path)
    ws.config_path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        ws.update(add_segment("A"), creator="ana")
    assert str(ws.config_path) in str(info.value)
    assert ws.config_path.read_bytes() == content


def test_team_less_workspace_belongs_to_the_file_owner(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.config_path.write_text("format_version = 1\n")
    import pwd

    assert ws.load().team.admins == (pwd.getpwuid(os.getuid()).pw_name,)


def _writer(root: str, prefix: str, n: int) -> None:
    ws = Workspace(root)
    for i in range(n):
        ws.update(add_segment(f"{prefix}{i}"), creator="ana")


def test_two_processes_never_lose_each_others_writes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), p, 25)) for p in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    names = set(Workspace(tmp_path).load().segments)
    assert names == {f"{p}{i}" for p in "ab" for i in range(25)}
