"""segport.toml decoding: every mistake names the file, the key and the problem."""

from __future__ import annotations

import tomllib

import pytest
import tomli_w

from segport import codec
from segport.errors import ConfigError
from segport.model import (
    Connection,
    Export,
    PrivacyAgreement,
    Segment,
    SourceConfig,
    Team,
    WorkspaceConfig,
)

FILE = "/ws/segport.toml"


def sample() -> WorkspaceConfig:
    conn = Connection(
        name="Iterable – EU newsletter", type="iterable", export_user="ana",
        privacy=PrivacyAgreement("ana", "2026-11-22T10:00:00+00:00", "2026-11"),
        created_by="ana", created_at="2026-11-22T10:00:00+00:00", data_center="eu",
        shared_with_contributors=True, base_url="http://127.0.0.1:8701",
    )
    export = Export(name="Weekly", connection_type="iterable", segments=("VIP", "Lapsed"),
                    mapping={"email": "email", "first_name": "first_name"},
                    connection=conn.name, mode="mirror", schedule=True, cap=2_000_000)
    return WorkspaceConfig(
        team=Team(admins=("ana",), contributors=("bo",)),
        source=SourceConfig(kind="files", key="profile_id", path="profiles.parquet"),
        segments={"VIP": Segment("VIP", where="ltv > 500"),
                  "Lapsed": Segment("Lapsed", members="/tmp/m.csv")},
        connections={conn.name: conn}, exports={export.name: export}, demo=True,
    )


def test_round_trip_through_toml_text() -> None:
    config = sample()
    text = tomli_w.dumps(codec.encode(config))
    assert codec.decode(tomllib.loads(text), FILE) == config


def test_no_secret_field_is_ever_written() -> None:
    text = tomli_w.dumps(codec.encode(sample()))
    for word in ("api_key", "password", "secret", "token"):
        assert word not in text


def decode_error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        codec.decode(tomllib.loads(text), FILE)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[source]\nkind = "excel"\nkey = "id"\npath = "x"',
         "source.kind: must be one of files, sqlite, postgres, got 'excel'"),
        ('[source]\nkind = "files"\npath = "x"', "source.key: is required but missing"),
        ('[source]\nkind = "sqlite"\nkey = "id"\npath = "x.db"', "source.table: is required"),
        ("[team]\nadmins = \"ana\"", "team.admins: must be a list, got string 'ana'"),
        ("[team]\nadmins = [1]", "team.admins[0]: must be a string, got integer 1"),
        ('[segments.VIP]\nwhere = "a"\nmembers = "b"', 'segments."VIP": needs exactly one'),
        ('[segments.VIP]\nwhere = ""', 'segments."VIP".where: must not be empty'),
        ('[connections.X]\ntype = "mailchimp"\nexport_user = "a"\n'
         '[connections.X.privacy]\nagreed_by="a"\nagreed_at="t"\nversion="1"',
         "connections.\"X\".type: must be one of iterable, sendgrid, autopilot"),
        ('[connections.X]\ntype = "sendgrid"\nexport_user = "a"\napi_key = "SG.x"',
         'connections."X".api_key: keys never belong in the workspace file'),
        ('[connections.X]\ntype = "sendgrid"\nexport_user = "a"',
         'connections."X".privacy: is required'),
        ('[exports.E]\nconnection_type = "sendgrid"\nsegments = []\n[exports.E.mapping]\nemail="e"',
         'exports."E".segments: must name at least one segment'),
        ('[exports.E]\nconnection_type = "sendgrid"\nsegments = ["S"]\n'
         '[exports.E.mapping]\nfirst_name="f"', 'exports."E".mapping.email: is required'),
        ('[exports.E]\nconnection_type = "sendgrid"\nsegments = ["S"]\nmode = "sync"\n'
         '[exports.E.mapping]\nemail="e"', "mode: must be one of upsert, mirror, got 'sync'"),
        ('[exports.E]\nconnection_type = "sendgrid"\nsegments = ["S"]\nmax_removal_share = 2\n'
         '[exports.E.mapping]\nemail="e"', "max_removal_share: must be between 0 and 1"),
        ("format_version = 99", "format_version: is 99, but this segport reads up to 1"),
        ("segments = 3", "segments: must be a table, got integer"),
    ],
)
def test_mistakes_name_file_key_and_problem(text: str, expected: str) -> None:
    message = decode_error(text)
    assert message.startswith(f"{FILE}: ")
    assert expected in message


def test_defaults_fill_optional_keys() -> None:
    config = codec.decode(tomllib.loads(
        '[exports.E]\nconnection_type = "iterable"\nsegments = ["S"]\n[exports.E.mapping]\n'
        'email = "mail"'), FILE)
    export = config.exports["E"]
    assert (export.mode, export.schedule, export.max_removal_share, export.active) == (
        "upsert", False, 0.10, False)
