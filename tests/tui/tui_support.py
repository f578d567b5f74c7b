"""Helpers for the TUI tests: small workspaces built in-process, the app, waiting, screen text."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from segport.engine.ledger import Ledger
from segport.engine.records import ApiCall
from segport.manage import Context
from segport.manage.catalog import add_segment, set_source
from segport.manage.connections import ConnectionDraft, add_connection
from segport.manage.exports import add_export
from segport.model import DestinationType, Export, Segment, SourceConfig, Team
from segport.secrets import MemoryStore, SecretStore
from segport.tui.app import SegportApp, make_app
from segport.workspace import Workspace

#: Column names chosen to exercise the suggestions (e_mail, given_name, zip …).
PROFILES = """profile_id,e_mail,given_name,surname,country_code,region,town,zip,lifetime_value
P1,ana@example.com,Ana,Álvarez,ES,Madrid,Madrid,28001,900
P2,bo@example.com,Bo,Berg,SE,Stockholm,Stockholm,11122,120
P3,cy@example.com,Cy,Chen,US,CA,San Diego,92101,40
P4,dee@example.com,Dée,Dupont,FR,IDF,Paris,75001,3000
P5,eve@example.com,Eve,Evans,US,WA,Seattle,98101,10
"""
#: 300 profiles for plan and run screens: every third a big spender (lifetime_value 900); one
#: invalid email and one duplicate (by case).
PROFILES_300 = (PROFILES.split("\n", 1)[0] + "\n" + "".join(
    f"P{i},p{i}@example.com,Ann,Lee,US,CA,LA,90001,{900 if i % 3 == 0 else 10}\n"
    for i in range(1, 299)) + "P299,not-an-email,X,Y,US,CA,LA,90001,10\n"
    "P300,P1@Example.com,X,Y,US,CA,LA,90001,10\n")
#: The Iterable connection those screens' workspaces use.
SANDBOX_CONNECTION = "Iterable – sandbox"

KEY = "test-key-1234567890"  # a placeholder for connections built in-process (never validated)


#: Where built workspaces are kept for reuse (set per session by conftest); None: no reuse.
TEMPLATES: Path | None = None
_built: dict[str, tuple[Path, dict[str, str]]] = {}


def build_workspace(
    root: Path,
    *,
    secrets: SecretStore | None = None,
    connections: dict[str, tuple[DestinationType, bool]] | None = None,
    base_urls: dict[str, str] | None = None,
    keys: dict[str, str] | None = None,
    exports: list[Export] | None = None,
    profiles: str = PROFILES,
) -> Workspace:
    """A workspace administered by 'ana' (contributor 'bo'): a CSV source, two segments, and the
    given connections (name → (type, shared with contributors)) and exports.

    Built through the domain calls once per distinct set-up, then copied (with its keys).
    """
    secrets = secrets if secrets is not None else MemoryStore()
    spec = repr((connections, base_urls, keys, exports, hash(profiles)))
    if TEMPLATES is None or spec not in _built:
        template = TEMPLATES / f"t{len(_built)}" if TEMPLATES is not None else root
        store = MemoryStore()
        _build(template, store, connections, base_urls, keys, exports, profiles)
        if TEMPLATES is None:
            _replay(store._data, secrets)
            return Workspace(root)
        _built[spec] = (template, dict(store._data))
    template, entries = _built[spec]
    shutil.copytree(template, root)
    _replay(entries, secrets)
    return Workspace(root)


def _replay(entries: dict[str, str], secrets: SecretStore) -> None:
    for entry, value in entries.items():
        secrets.set(entry, value)


def _build(root: Path, secrets: SecretStore,
           connections: dict[str, tuple[DestinationType, bool]] | None,
           base_urls: dict[str, str] | None, keys: dict[str, str] | None,
           exports: list[Export] | None, profiles: str) -> None:
    workspace = Workspace(root)
    root.mkdir(parents=True)
    csv = root.parent / f"{root.name}-profiles.csv"
    csv.write_text(profiles, encoding="utf-8")
    ana = Context(workspace, user="ana", secrets=secrets)
    set_source(ana, SourceConfig(kind="files", key="profile_id", path=str(csv)))
    ana.update(lambda c: replace(c, team=Team(admins=("ana",), contributors=("bo",))))
    add_segment(ana, Segment("Big spenders", where="lifetime_value > 500"))
    add_segment(ana, Segment("Everyone", where="true"))
    for name, (kind, shared) in (connections or {}).items():
        draft = ConnectionDraft(name=name, type=kind, shared_with_contributors=shared,
                                base_url=(base_urls or {}).get(name))
        add_connection(ana, draft, (keys or {}).get(name, KEY), agreed=True)
    for export in exports or []:
        add_export(ana, export)


def app_for(root: Path, *, user: str = "ana", secrets: SecretStore | None = None,
            sandbox: object | None = None) -> SegportApp:
    """The app as the CLI builds it (same factory), with animations off."""
    app = make_app(root, user=user, secrets=secrets if secrets is not None else MemoryStore(),
                   sandbox=sandbox)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


async def wait_for(pilot: Pilot[object], condition: Callable[[], object],
                   timeout: float = 10.0, what: str = "condition") -> None:
    """Pause the pilot until ``condition()`` is true (never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{screen_text(pilot.app)}")
        await pilot.pause(0.02)


async def settle(pilot: Pilot[object]) -> None:
    """Let the member counts arrive, workers finish and the screen repaint."""
    home = getattr(pilot.app, "home", None)
    while home is not None and (home.counting or home.reading_runs):
        await pilot.pause(0.01)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def screen_text(app: object) -> str:
    """What the terminal shows, as plain text."""
    strips = app.screen._compositor.render_strips()  # type: ignore[attr-defined]
    return "\n".join(strip.text.rstrip() for strip in strips)


def footer_text(app: object) -> str:
    """The footer's keys as shown (the screen's last line, spaces squeezed): ``^n Next ...``."""
    return " ".join(screen_text(app).splitlines()[-1].split())


async def type_into(pilot: Pilot[object], selector: str, text: str) -> None:
    """Focus an input and type ``text`` key by key."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    await pilot.pause()
    await pilot.press(*text)


def segment_rows(root: Path) -> dict[str, object]:
    return Workspace(root).load().segments  # type: ignore[return-value]


async def fill(pilot: Pilot[object], selector: str, text: str) -> None:
    """Set an input's value as a paste would (one Changed event), then let it settle."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.value = text
    await pilot.pause()


def record_run(root: Path, export: str, *, outcome: str = "succeeded", who: str = "ana",
               connection: str | None = "Iterable – EU newsletter",
               connection_type: str | None = "iterable",
               started: str = "2025-03-04T09:15:00.000+00:00",
               finished: str | None = "2025-03-04T09:15:03.250+00:00",
               duration: float | None = 3.25, counts: dict[str, int] | None = None,
               segments: dict[str, dict[str, int]] | None = None, detail: str | None = None,
               rejected_file: str | None = None, calls: tuple[ApiCall, ...] = ()) -> int:
    """A run record written as the engine writes one (start, API calls, finish); its id."""
    with Ledger.open(Workspace(root).db_path) as ledger:
        run_id = ledger.start_run(export, who, connection, "ana", started, connection_type)
        if calls:
            ledger.log_calls(run_id, calls)
        ledger.finish_run(run_id, outcome, counts or {}, detail=detail,
                          rejected_file=rejected_file, finished_at=finished,
                          segments=segments or {}, duration=duration)
    return run_id
