"""The workspace's vocabulary: plain, immutable dataclasses with no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DestinationType = Literal["iterable", "sendgrid", "autopilot"]
DESTINATION_TYPES: tuple[DestinationType, ...] = ("iterable", "sendgrid", "autopilot")
DESTINATION_LABELS: dict[str, str] = {
    "iterable": "Iterable",
    "sendgrid": "SendGrid",
    "autopilot": "Autopilot",
}

SourceKind = Literal["files", "sqlite", "postgres"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("files", "sqlite", "postgres")

ExportMode = Literal["upsert", "mirror"]
EXPORT_MODES: tuple[ExportMode, ...] = ("upsert", "mirror")

DataCenter = Literal["us", "eu"]
DATA_CENTERS: tuple[DataCenter, ...] = ("us", "eu")

FORMAT_VERSION = 1

#: Share of a list a mirror run may remove before the blast-radius guard refuses it.
DEFAULT_MAX_REMOVAL_SHARE = 0.10


@dataclass(frozen=True)
class Team:
    """Who may do what: OS user names, by role (product.md §1.1)."""

    admins: tuple[str, ...] = ()
    contributors: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceConfig:
    """Where profiles come from. Paths are relative to the workspace unless absolute."""

    kind: SourceKind
    key: str
    path: str | None = None
    url: str | None = None
    table: str | None = None


@dataclass(frozen=True)
class Segment:
    """A named set of profiles: a SQL boolean filter, or a members file."""

    name: str
    where: str | None = None
    members: str | None = None

    @property
    def definition(self) -> str:
        """A one-line description of how members are chosen."""
        if self.where is not None:
            return self.where
        return f"members file {self.members}"


@dataclass(frozen=True)
class PrivacyAgreement:
    """Who agreed to the data privacy and compliance statement, when, and to which text."""

    agreed_by: str
    agreed_at: str
    version: str


@dataclass(frozen=True)
class Connection:
    """A named link to one account on one platform. Its key lives in the OS keyring only."""

    name: str
    type: DestinationType
    export_user: str
    privacy: PrivacyAgreement
    created_by: str
    created_at: str
    shared_with_contributors: bool = False
    data_center: DataCenter | None = None
    base_url: str | None = None

    @property
    def label(self) -> str:
        """The name and the type together: how people recognise a connection."""
        return f"{self.name} ({DESTINATION_LABELS[self.type]})"


@dataclass(frozen=True)
class Export:
    """What to send where. ``connection`` is None when the export is detached (inactive)."""

    name: str
    connection_type: DestinationType
    segments: tuple[str, ...]
    mapping: dict[str, str]
    connection: str | None = None
    list_id: str | None = None
    mode: ExportMode = "upsert"
    schedule: bool = False
    max_removal_share: float = DEFAULT_MAX_REMOVAL_SHARE
    cap: int | None = None
    created_by: str = ""

    @property
    def active(self) -> bool:
        """Detached exports keep their settings but do not run."""
        return self.connection is not None


@dataclass(frozen=True)
class WorkspaceConfig:
    """Everything in ``segport.toml``."""

    team: Team = field(default_factory=Team)
    source: SourceConfig | None = None
    segments: dict[str, Segment] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    exports: dict[str, Export] = field(default_factory=dict)
    demo: bool = False
    format_version: int = FORMAT_VERSION

    def exports_using(self, connection: str) -> list[Export]:
        """Exports attached to the named connection."""
        return [e for e in self.exports.values() if e.connection == connection]

    def exports_with_segment(self, segment: str) -> list[Export]:
        """Exports that send the named segment."""
        return [e for e in self.exports.values() if segment in e.segments]
