"""The Textual face: ``SegportApp``, built by ONE factory (:func:`make_app`) for CLI and tests."""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import Theme

from segport.access import Access, current_user
from segport.errors import SegportError
from segport.manage import Context
from segport.model import WorkspaceConfig
from segport.secrets import SecretStore, default_store
from segport.tui.commands import SegportCommands
from segport.tui.flows import WorkspaceFlows
from segport.tui.format import workspace_label
from segport.tui.settings import (
    DEFAULT_THEME,
    TuiSettings,
    load_settings,
    save_settings,
    user_themes_dir,
)
from segport.tui.textual_caches import RELEASE_EVERY_S, release_textual_caches
from segport.tui.themes import builtin_themes, user_themes
from segport.tui.widgets.wizard import wizard_keymap
from segport.tui.widgets.workers import ReportWorkerErrors
from segport.workspace import Workspace, resolve_location

if TYPE_CHECKING:
    from segport.sandbox.server import Sandbox
    from segport.tui.screens.home import HomeScreen

#: Profiles generated when the first-run screen creates the demo workspace.
DEMO_PROFILES = 150_000
#: Allocations between young garbage collections in the app's process (Python's default: 700).
GC_YOUNG = 20_000


class SegportApp(WorkspaceFlows, ReportWorkerErrors, App[int]):
    """segport's terminal app: home, wizards, command palette, themes, help."""

    TITLE = "segport"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {SegportCommands}
    #: Input cursors blink; tests and snapshots turn it off.
    CURSOR_BLINK: ClassVar[bool] = True
    #: Freeze the objects alive after start-up out of full garbage collections (``run_tui``).
    freeze_gc: bool = False
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("question_mark", "help", "Help", show=False, id="app.help-question-mark"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    def __init__(self, ctx: Context, *, settings: TuiSettings, themes: list[Theme],
                 sandbox: Sandbox | None = None, warnings: list[str] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.settings = settings
        self.sandbox = sandbox
        self.startup_warnings = list(warnings or [])
        self.workspace_label = workspace_label(ctx.workspace.root)
        self.demo_profiles = DEMO_PROFILES
        self.config: WorkspaceConfig | None = None
        self.home: HomeScreen | None = None
        self.load_error: str | None = None
        self._themes = themes
        for theme in themes:
            self.register_theme(theme)
        self.set_keymap(wizard_keymap(settings.keymap))

    # -- workspace state -------------------------------------------------------------------------
    def reload(self) -> WorkspaceConfig | None:
        """Read the workspace again; ``load_error`` says why when it cannot be read."""
        self.config, self.load_error = None, None
        if not self.ctx.workspace.exists:
            return None
        try:
            self.config = self.ctx.config()
        except SegportError as exc:
            self.load_error = str(exc)
        return self.config

    def access(self) -> Access | None:
        """The current user's permissions on the last config read (None: no workspace)."""
        return Access(self.ctx.user, self.config) if self.config is not None else None

    def admins_text(self) -> str:
        admins = self.config.team.admins if self.config else ()
        return ", ".join(admins) or "nobody yet"

    # -- start-up --------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.set_interval(RELEASE_EVERY_S, release_textual_caches, name="release-caches")
        wanted = self.settings.theme
        if wanted not in self.available_themes:
            self.startup_warnings.append(f"Theme '{wanted}' is not installed; using "
                                         f"{DEFAULT_THEME}.")
            wanted = DEFAULT_THEME
        self.theme = wanted
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        for warning in self.startup_warnings:
            self.notify(warning, severity="warning", timeout=10)
        self.reload()
        if self.ctx.workspace.exists:
            from segport.tui.screens.home import HomeScreen

            self.push_screen(HomeScreen())
        else:
            from segport.tui.screens.first_run import FirstRunScreen

            self.push_screen(FirstRunScreen())
        if self.freeze_gc:
            # Objects alive once the first screen is up (Textual's own, mostly) live as long as
            # the app: keep them out of the collector's full passes, which otherwise stall every
            # thread — the UI too — for hundreds of ms during a long run.
            self.call_after_refresh(gc.freeze)
            # Young collections every GC_YOUNG allocations, not 700: the short-lived objects of
            # a redraw die before one looks at them, instead of being promoted until a full
            # collection (0.2–0.3 s, nearly every second of a run; measured in
            # tests/perf/bench_tui_responsive.py) has to walk Textual's render caches.
            gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])

    def _remember_theme(self, theme: Theme) -> None:
        if theme.name == self.settings.theme:
            return
        self.settings.theme = theme.name
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.notify(f"Could not remember the theme: {exc}", severity="warning")

    def action_set_theme(self, name: str) -> None:
        """Switch theme (remembered in tui.toml)."""
        if name in self.available_themes:
            self.theme = name

    # -- help ------------------------------------------------------------------------------------
    def key_rows(self, screen: Screen[Any]) -> list[tuple[str, str, str]]:
        """(key, what it does, binding id) for the keys active on ``screen``."""
        rows: dict[str, tuple[str, str, str]] = {}
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.action in rows:
                continue
            description = ("Command palette" if binding.action == "command_palette"
                           else binding.description)
            rows[binding.action] = (self.get_key_display(binding), description,
                                    binding.id or "")
        # segport's own keys first (they have ids), then Textual's, each by what they do
        return sorted(rows.values(), key=lambda r: (not r[2], r[1].lower()))

    def action_help(self) -> None:
        from segport.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        screen = self.screen
        name = getattr(screen, "SCREEN_NAME", type(screen).__name__)
        self.push_screen(HelpScreen(name, screen.HELP or "", self.key_rows(screen)))


def make_app(workspace_path: str | os.PathLike[str] | None, *, user: str | None = None,
             secrets: SecretStore | None = None, sandbox: Sandbox | None = None) -> SegportApp:
    """The app on a workspace (``--workspace``, ``$SEGPORT_WORKSPACE`` or the default folder).

    ``user`` defaults to the OS user, ``secrets`` to the OS keyring (with the environment
    override); ``sandbox`` is an in-process sandbox (``segport demo``), if any.
    """
    ctx = Context(Workspace(resolve_location(workspace_path)), user=user or current_user(),
                  secrets=secrets if secrets is not None else default_store())
    settings, warnings = load_settings()
    themes = builtin_themes()
    mine, theme_warnings = user_themes(user_themes_dir())
    return SegportApp(ctx, settings=settings, themes=themes + mine, sandbox=sandbox,
                      warnings=warnings + theme_warnings)


def run_tui(workspace_path: str | os.PathLike[str] | None, *,
            sandbox: Sandbox | None = None) -> int:
    """Run the app in this terminal until the user quits; returns the exit code."""
    app = make_app(workspace_path, sandbox=sandbox)
    app.freeze_gc = True  # one app per process here (tests make many: they leave it off)
    app.run()
    return app.return_code or 0
