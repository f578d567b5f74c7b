"""Setting up a CLI test's workspace in-process, through the domain calls the CLI makes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from clirunner import Cli
from segport.manage import Context
from segport.manage.catalog import add_segment, set_source
from segport.manage.connections import ConnectionDraft, add_connection
from segport.model import Segment, SourceConfig, Team
from segport.workspace import Workspace

PROFILES = """profile_id,email,first_name,last_name,country,lifetime_value
P1,ana@example.com,Ana,Álvarez,ES,900
P2,BO@Example.com ,Bo,Berg,SE,120
P3,not-an-email,Cy,Chen,US,40
P4,dee@example.com,Dée,Dupont,FR,3000
P5,,Eve,Evans,US,10
"""



def prepare(cli: Cli, profiles_csv: Path) -> Cli:
    """A workspace administered by 'ana' (contributor 'bo') with the CSV source and segments.

    Built in-process through the same domain calls the CLI makes, so each test pays for
    the subprocesses it is about, not for the set-up (the CLI's own paths are tested apart).
    """
    ana = Context(Workspace(cli.workspace), user="ana")
    set_source(ana, SourceConfig(kind="files", key="", path=str(profiles_csv)))
    ana.update(lambda c: replace(c, team=Team(admins=("ana",), contributors=("bo",))))
    add_segment(ana, Segment("Big spenders", where="lifetime_value > 500"))
    add_segment(Context(Workspace(cli.workspace), user="bo"), Segment("Everyone", where="true"))
    return cli


KEY = "SG.exports-test-key-11"
CONNECTIONS = [("SG shared", "sendgrid", True), ("SG private", "sendgrid", False),
               ("Iterable", "iterable", True), ("Autopilot", "autopilot", True)]


def with_connections(cli: Cli) -> Cli:
    ana = Context(Workspace(cli.workspace), user="ana")
    for name, type_, shared in CONNECTIONS:
        draft = ConnectionDraft(name=name, type=type_, shared_with_contributors=shared)
        add_connection(ana, draft, KEY, agreed=True)
    return cli
