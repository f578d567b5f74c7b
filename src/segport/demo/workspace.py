"""Create or refresh the demo workspace: sample profiles, segments and sandbox connections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from segport.demo.profiles import DEMO_SEED, generate_profiles, is_current, read_metadata
from segport.demo.segments import DEMO_SEGMENTS
from segport.errors import ConfigError, SecretStoreError
from segport.model import (
    Connection,
    DestinationType,
    PrivacyAgreement,
    Segment,
    SourceConfig,
    Team,
    WorkspaceConfig,
)
from segport.privacy import PRIVACY_STATEMENT_VERSION
from segport.sandbox.defaults import DEFAULT_PORT, DEMO_KEYS, base_url
from segport.secrets import SecretStore, connection_entry, env_var_for
from segport.workspace import Workspace

PROFILES_FILE = "profiles.parquet"
PROFILE_KEY = "profile_id"

#: Connection name → platform, for the sandbox emulators (default ports unless told otherwise).
DEMO_CONNECTIONS: dict[str, DestinationType] = {
    "Iterable sandbox": "iterable",
    "SendGrid sandbox": "sendgrid",
    "Autopilot sandbox": "autopilot",
}


@dataclass(frozen=True)
class DemoResult:
    """What :func:`setup_demo` did, for the CLI to report."""

    workspace: Path  #: the workspace folder
    profiles: int  #: rows in profiles.parquet
    segments: tuple[str, ...]  #: the demo segments (the user's own are not listed)
    connections: tuple[str, ...]  #: the sandbox connections
    warnings: tuple[str, ...]  #: things to tell the user (e.g. keys not stored)
    regenerated: bool  #: whether profiles.parquet was (re)written


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _refuse(workspace: Workspace) -> ConfigError:
    return ConfigError(
        f"{workspace.root} holds a workspace that is not a demo workspace; 'segport demo' never "
        "touches it. Pass --workspace DIR to create the demo workspace in another folder."
    )


def _demo_connection(name: str, kind: DestinationType, user: str, old: Connection | None,
                     now: str, sandbox_port: int) -> Connection:
    """The default demo connection; an unchanged agreement keeps its original timestamps."""
    privacy = PrivacyAgreement(agreed_by=user, agreed_at=now, version=PRIVACY_STATEMENT_VERSION)
    created_by, created_at = user, now
    if (old is not None and old.type == kind and old.privacy.agreed_by == user
            and old.privacy.version == PRIVACY_STATEMENT_VERSION):
        privacy = old.privacy
        created_by, created_at = old.created_by or user, old.created_at or now
    return Connection(
        name=name,
        type=kind,
        export_user=user,
        privacy=privacy,
        created_by=created_by,
        created_at=created_at,
        shared_with_contributors=True,
        data_center="us" if kind == "iterable" else None,
        base_url=base_url(kind, port=sandbox_port),
    )


def _demo_config(current: WorkspaceConfig, user: str, now: str,
                 sandbox_port: int) -> WorkspaceConfig:
    """``current`` with the demo parts reset to their defaults and everything else kept."""
    admins = current.team.admins if user in current.team.admins else (*current.team.admins, user)
    segments = {name: Segment(name=name, where=where) for name, where in DEMO_SEGMENTS.items()}
    segments.update({n: s for n, s in current.segments.items() if n not in segments})
    connections = {
        name: _demo_connection(name, kind, user, current.connections.get(name), now, sandbox_port)
        for name, kind in DEMO_CONNECTIONS.items()
    }
    connections.update({n: c for n, c in current.connections.items() if n not in connections})
    return replace(
        current,
        demo=True,
        team=Team(admins=admins, contributors=current.team.contributors),
        source=SourceConfig(kind="files", key=PROFILE_KEY, path=PROFILES_FILE),
        segments=segments,
        connections=connections,
    )


def _store_keys(secrets: SecretStore) -> list[str]:
    """Put each sandbox connection's demo key in ``secrets``; a warning if the store refuses."""
    failed: list[str] = []
    problem = ""
    for name, kind in DEMO_CONNECTIONS.items():
        try:
            secrets.set(connection_entry(name), DEMO_KEYS[kind])
        except SecretStoreError as exc:
            failed.append(name)
            problem = str(exc)
    if not failed:
        return []
    env = ", ".join(env_var_for(name) for name in failed)
    return [
        f"The sandbox keys of {', '.join(failed)} were not stored: {problem} Everything else "
        "in the demo is ready. To run exports on these connections, fix that and run "
        f"'segport demo' again, or set {env} to the keys 'segport sandbox --json' prints."
    ]


def setup_demo(
    workspace: Workspace,
    *,
    profiles: int,
    secrets: SecretStore,
    user: str,
    now: Callable[[], str] = _now,
    sandbox_port: int = DEFAULT_PORT,
) -> DemoResult:
    """Create or refresh (idempotently) the demo workspace in ``workspace``.

    Regenerates ``profiles.parquet`` only when it is missing or was made for another count;
    resets the demo source, segments and connections to their defaults while keeping anything
    else the user added; stores the sandbox keys (a refusing keyring becomes a warning).
    Refuses a folder that holds a workspace which is not a demo workspace. The sandbox
    connections point at the emulators on ``sandbox_port`` (Iterable), +1 (SendGrid) and
    +2 (Autopilot), as ``segport sandbox --port`` serves them.
    """
    if profiles < 1:
        raise ConfigError(f"--profiles must be at least 1, got {profiles}.")
    if workspace.exists and not workspace.load().demo:
        raise _refuse(workspace)
    data = workspace.resolve_path(PROFILES_FILE)
    if not workspace.exists and data.exists() and read_metadata(data) is None:
        raise ConfigError(
            f"{data} exists and is not segport's sample data; 'segport demo' will not overwrite "
            "it. Pass --workspace DIR to create the demo workspace in another folder."
        )
    workspace.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    regenerated = not is_current(data, profiles, DEMO_SEED)
    if regenerated:
        generate_profiles(data, profiles, DEMO_SEED)

    def change(current: WorkspaceConfig) -> WorkspaceConfig:
        if workspace.exists and not current.demo:  # re-checked under the lock
            raise _refuse(workspace)
        return _demo_config(current, user, now(), sandbox_port)

    workspace.update(change, creator=user)
    warnings = _store_keys(secrets)
    return DemoResult(
        workspace=workspace.root,
        profiles=profiles,
        segments=tuple(DEMO_SEGMENTS),
        connections=tuple(DEMO_CONNECTIONS),
        warnings=tuple(warnings),
        regenerated=regenerated,
    )
