"""``segport.toml`` ⇄ model: decoding validates every key and names it in the error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from segport.errors import ConfigError
from segport.model import (
    DATA_CENTERS,
    DESTINATION_TYPES,
    EXPORT_MODES,
    FORMAT_VERSION,
    SOURCE_KINDS,
    Connection,
    Export,
    PrivacyAgreement,
    Segment,
    SourceConfig,
    Team,
    WorkspaceConfig,
)

T = TypeVar("T")


def new_config(creator: str) -> WorkspaceConfig:
    """A fresh workspace: its creator is its only admin."""
    return WorkspaceConfig(team=Team(admins=(creator,)))


class _Reader:
    """Typed access to one TOML table, with errors that say file, key and problem."""

    def __init__(self, file: str, where: str, table: Any) -> None:
        self.file, self.where = file, where
        if not isinstance(table, Mapping):
            self.fail(None, f"must be a table, got {_kind(table)}")
        self.table: Mapping[str, Any] = table

    def fail(self, key: str | None, problem: str) -> NoReturn:
        place = f"{self.where}.{key}" if key and self.where else (key or self.where or "top level")
        raise ConfigError(f"{self.file}: {place}: {problem}")

    def get(self, key: str, kind: type[T], default: Any = ..., *, check: Callable[[T], str | None]
            | None = None) -> T:
        if key not in self.table:
            if default is ...:
                self.fail(key, "is required but missing")
            return default  # type: ignore[no-any-return]
        value = self.table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(key, f"must be {_name(kind)}, got {_kind(value)} {value!r}")
        if check is not None and (problem := check(value)):
            self.fail(key, problem)
        return value  # type: ignore[no-any-return]

    def strings(self, key: str, default: Any = ...) -> tuple[str, ...]:
        values = self.get(key, list, default)
        for i, v in enumerate(values):
            if not isinstance(v, str):
                self.fail(f"{key}[{i}]", f"must be a string, got {_kind(v)} {v!r}")
        return tuple(values)

    def choice(self, key: str, choices: tuple[str, ...], default: Any = ...) -> Any:
        return self.get(key, str, default, check=lambda v: None if v in choices else
                        f"must be one of {', '.join(choices)}, got {v!r}")

    def sub(self, key: str) -> _Reader:
        return _Reader(self.file, f"{self.where}.{key}" if self.where else key, self.table[key])

    def named(self, key: str) -> dict[str, _Reader]:
        if key not in self.table:
            return {}
        outer = self.sub(key)
        return {name: _Reader(self.file, f'{key}."{name}"', value)
                for name, value in outer.table.items()}


def _name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            list: "a list", dict: "a table"}.get(kind, kind.__name__)


def _kind(value: Any) -> str:
    return {str: "string", int: "integer", float: "number", bool: "boolean", list: "list",
            dict: "table"}.get(type(value), type(value).__name__)


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _share(value: float) -> str | None:
    return None if 0.0 <= value <= 1.0 else f"must be between 0 and 1, got {value}"


def _positive(value: int) -> str | None:
    return None if value > 0 else f"must be a positive integer, got {value}"


def decode(data: Mapping[str, Any], file: str) -> WorkspaceConfig:
    """Validate and convert parsed TOML into a :class:`WorkspaceConfig`."""
    top = _Reader(file, "", data)
    version = top.get("format_version", int, FORMAT_VERSION)
    if version > FORMAT_VERSION:
        top.fail("format_version", f"is {version}, but this segport reads up to "
                                   f"{FORMAT_VERSION}; upgrade segport")
    team = Team()
    if "team" in data:
        t = top.sub("team")
        team = Team(admins=t.strings("admins", ()), contributors=t.strings("contributors", ()))
    source = _decode_source(top.sub("source")) if "source" in data else None
    segments = {n: _decode_segment(n, r) for n, r in top.named("segments").items()}
    connections = {n: _decode_connection(n, r) for n, r in top.named("connections").items()}
    exports = {n: _decode_export(n, r) for n, r in top.named("exports").items()}
    return WorkspaceConfig(team=team, source=source, segments=segments,
                           connections=connections, exports=exports,
                           demo=top.get("demo", bool, False), format_version=FORMAT_VERSION)


def _decode_source(r: _Reader) -> SourceConfig:
    kind = r.choice("kind", SOURCE_KINDS)
    key = r.get("key", str, check=_non_empty)
    if kind == "postgres":
        url = r.get("url", str, check=_non_empty)
        return SourceConfig(kind=kind, key=key, url=url, table=r.get("table", str,
                                                                      check=_non_empty))
    path = r.get("path", str, check=_non_empty)
    table = r.get("table", str, check=_non_empty) if kind == "sqlite" else None
    return SourceConfig(kind=kind, key=key, path=path, table=table)


def _decode_segment(name: str, r: _Reader) -> Segment:
    where = r.get("where", str, None, check=_non_empty)
    members = r.get("members", str, None, check=_non_empty)
    if (where is None) == (members is None):
        r.fail(None, "needs exactly one of 'where' (a SQL filter) or 'members' (a file)")
    return Segment(name=name, where=where, members=members)


def _decode_connection(name: str, r: _Reader) -> Connection:
    for forbidden in ("api_key", "key", "password", "secret", "token"):
        if forbidden in r.table:
            r.fail(forbidden, "keys never belong in the workspace file; remove it and store "
                              "the key with 'segport connections add' (it goes to the OS keyring)")
    if "privacy" not in r.table:
        r.fail("privacy", "is required: the record of who agreed to the data privacy statement")
    p = r.sub("privacy")
    ctype = r.choice("type", DESTINATION_TYPES)
    return Connection(
        name=name,
        type=ctype,
        export_user=r.get("export_user", str, check=_non_empty),
        privacy=PrivacyAgreement(agreed_by=p.get("agreed_by", str, check=_non_empty),
                                 agreed_at=p.get("agreed_at", str, check=_non_empty),
                                 version=p.get("version", str, check=_non_empty)),
        created_by=r.get("created_by", str, ""),
        created_at=r.get("created_at", str, ""),
        shared_with_contributors=r.get("shared_with_contributors", bool, False),
        data_center=r.choice("data_center", DATA_CENTERS, "us" if ctype == "iterable" else None),
        base_url=r.get("base_url", str, None, check=_non_empty),
    )


def _decode_export(name: str, r: _Reader) -> Export:
    segments = r.strings("segments")
    if not segments:
        r.fail("segments", "must name at least one segment")
    if "mapping" not in r.table:
        r.fail("mapping", 'is required (at least email = "<column>")')
    mapping_r = r.sub("mapping")
    mapping = {k: mapping_r.get(k, str, check=_non_empty) for k in mapping_r.table}
    if "email" not in mapping:
        mapping_r.fail("email", "is required: the profile column holding the email address")
    return Export(
        name=name,
        connection_type=r.choice("connection_type", DESTINATION_TYPES),
        segments=segments,
        mapping=mapping,
        connection=r.get("connection", str, None, check=_non_empty),
        list_id=r.get("list_id", str, None, check=_non_empty),
        mode=r.choice("mode", EXPORT_MODES, "upsert"),
        schedule=r.get("schedule", bool, False),
        max_removal_share=r.get("max_removal_share", float, 0.10, check=_share),
        cap=r.get("cap", int, None, check=_positive),
        created_by=r.get("created_by", str, ""),
    )


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def encode(config: WorkspaceConfig) -> dict[str, Any]:
    """Convert a :class:`WorkspaceConfig` into TOML-ready data (no secrets exist to leak)."""
    out: dict[str, Any] = {"format_version": FORMAT_VERSION}
    if config.demo:
        out["demo"] = True
    out["team"] = {"admins": list(config.team.admins),
                   "contributors": list(config.team.contributors)}
    if config.source is not None:
        s = config.source
        out["source"] = _drop_none({"kind": s.kind, "path": s.path, "url": s.url,
                                    "table": s.table, "key": s.key})
    out["segments"] = {n: _drop_none({"where": s.where, "members": s.members})
                       for n, s in config.segments.items()}
    out["connections"] = {
        n: _drop_none({
            "type": c.type, "shared_with_contributors": c.shared_with_contributors,
            "export_user": c.export_user, "data_center": c.data_center, "base_url": c.base_url,
            "created_by": c.created_by, "created_at": c.created_at,
            "privacy": {"agreed_by": c.privacy.agreed_by, "agreed_at": c.privacy.agreed_at,
                        "version": c.privacy.version},
        })
        for n, c in config.connections.items()
    }
    out["exports"] = {
        n: _drop_none({
            "connection": e.connection, "connection_type": e.connection_type,
            "segments": list(e.segments), "list_id": e.list_id, "mode": e.mode,
            "schedule": e.schedule, "max_removal_share": e.max_removal_share, "cap": e.cap,
            "created_by": e.created_by or None, "mapping": dict(e.mapping),
        })
        for n, e in config.exports.items()
    }
    return out
