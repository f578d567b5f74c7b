"""The command palette's segport commands: prefixed, and only what the user may do now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from segport.model import DESTINATION_LABELS

if TYPE_CHECKING:
    from segport.tui.app import SegportApp


@dataclass(frozen=True)
class PaletteCommand:
    """One entry of the palette."""

    name: str
    help: str
    run: Callable[[], object]


def segport_commands(app: SegportApp) -> list[PaletteCommand]:
    """The commands that make sense for this user on this workspace right now."""
    out: list[PaletteCommand] = []
    access = app.access()
    home = getattr(app, "home", None)
    if access is not None and access.can_read():
        config = access.config
        if access.can_manage_connections():
            out.append(PaletteCommand("connection: add", "Add a connection (wizard)",
                                      app.action_add_connection))
            for conn in config.connections.values():
                label = DESTINATION_LABELS[conn.type]
                out.append(PaletteCommand(f"connection: remove {conn.name}",
                                          f"Remove this {label} connection and its key",
                                          partial(app.action_remove_connection, conn.name)))
                verb = "unshare" if conn.shared_with_contributors else "share"
                out.append(PaletteCommand(f"connection: {verb} {conn.name}",
                                          "Change who can use this connection",
                                          partial(app.action_toggle_sharing, conn.name)))
        out.append(PaletteCommand("export: add", "Add an export (wizard)",
                                  app.action_add_export))
        for export in access.visible_exports():
            out.append(PaletteCommand(f"export: plan {export.name}",
                                      "Dry run: what a run would add, update and remove; "
                                      "nothing is sent",
                                      partial(app.action_plan_export, export.name)))
            if export.active:
                out.append(PaletteCommand(f"export: run {export.name}",
                                          f"Run now (to {export.connection})",
                                          partial(app.action_run_export, export.name)))
                out.append(PaletteCommand(f"export: detach {export.name}",
                                          "Make it inactive, keeping its settings",
                                          partial(app.action_detach_export, export.name)))
            else:
                label = DESTINATION_LABELS[export.connection_type]
                out.append(PaletteCommand(f"export: attach {export.name}",
                                          f"Attach it to a {label} connection (it is detached)",
                                          partial(app.action_attach_export, export.name)))
            out.append(PaletteCommand(f"export: remove {export.name}", "Remove this export",
                                      partial(app.action_remove_export, export.name)))
        if home is not None:
            for tab in ("connections", "exports", "segments", "runs"):
                out.append(PaletteCommand(f"go: {tab}", f"Show the {tab} tab",
                                          partial(home.show_tab, tab)))
    for name in sorted(app.available_themes):
        out.append(PaletteCommand(f"theme: {name}", "Switch to this theme (remembered)",
                                  partial(app.action_set_theme, name)))
    out.append(PaletteCommand("help: keys and screens", "What each key and screen does",
                              app.action_help))
    return out


class SegportCommands(Provider):
    """Palette provider for segport's own commands (Textual's stay available too)."""

    def _commands(self) -> list[PaletteCommand]:
        return segport_commands(self.app)  # type: ignore[arg-type]

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.name, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(score, matcher.highlight(command.name), command.run,
                          text=command.name, help=command.help)
