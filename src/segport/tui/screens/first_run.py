"""No workspace yet: explain, then create the demo workspace or quit with what to type."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Header, LoadingIndicator, Static

from segport.demo import setup_demo
from segport.tui.widgets.footer import SegFooter
from segport.tui.widgets.workers import ReportWorkerErrors

if TYPE_CHECKING:
    from segport.tui.app import SegportApp

QUIT_MESSAGE = """No workspace was created. To start with your own profiles:
  segport --workspace {where} source set files PATH/profiles.csv   (or sqlite / postgres)
  segport --workspace {where} segments add NAME --where "SQL filter"
then run 'segport' again. Or try everything on sample data first: segport demo"""


class FirstRunScreen(ReportWorkerErrors, Screen[None]):
    """Shown when the workspace folder holds no segport.toml."""

    SCREEN_NAME = "Welcome"
    HELP = ("There is no workspace here yet. Create the demo workspace (sample profiles, "
            "segments and sandbox connections), or quit and set your own profile source.")
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("d", "create_demo", "Create demo workspace", id="first-run.demo"),
        Binding("q", "quit_with_help", "Quit", id="first-run.quit"),
    ]

    @property
    def seg_app(self) -> SegportApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        where = self.seg_app.workspace_label
        yield Header()
        with Vertical(id="first-run", classes="panel"):
            yield Static("Welcome to segport", classes="dialog-title")
            yield Static(
                f"There is no workspace in {where} yet. A workspace holds where your customer "
                "profiles come from, the segments you define over them, the connections to "
                "Iterable, SendGrid or Autopilot accounts, and the exports that send segments "
                "there. API keys never go into it: they live in your OS keyring.",
                classes="dialog-body",
            )
            yield Static(
                "The demo workspace has sample profiles, six segments and connections to the "
                "sandbox: local emulators of the three platforms (start them with 'segport "
                "sandbox', or use 'segport demo', which starts them for you). Nothing leaves "
                "this machine.",
                classes="dialog-body",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create the demo workspace", id="create-demo", variant="primary")
                yield Button("Quit and set up my own", id="quit")
            yield LoadingIndicator(id="first-run-busy")
            yield Static("", id="first-run-status", classes="hint")
        yield SegFooter()

    def on_mount(self) -> None:
        self.query_one("#first-run-busy").display = False
        self.query_one("#create-demo", Button).focus()

    @on(Button.Pressed, "#create-demo")
    def action_create_demo(self) -> None:
        if self.query_one("#create-demo", Button).disabled:
            return
        self.query_one("#create-demo", Button).disabled = True
        self.query_one("#first-run-busy").display = True
        self.query_one("#first-run-status", Static).update(
            f"Generating {self.seg_app.demo_profiles:,} sample profiles…")
        self._create_demo()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _create_demo(self) -> None:
        app = self.seg_app
        try:
            result = setup_demo(app.ctx.workspace, profiles=app.demo_profiles,
                                secrets=app.ctx.secrets, user=app.ctx.user)
        finally:
            app.call_from_thread(self._idle)
        app.call_from_thread(self._created, list(result.warnings))

    def _idle(self) -> None:
        self.query_one("#first-run-busy").display = False
        self.query_one("#create-demo", Button).disabled = False
        self.query_one("#first-run-status", Static).update("")

    def _created(self, warnings: list[str]) -> None:
        from segport.tui.screens.home import HomeScreen

        app = self.seg_app
        for warning in warnings:
            app.notify(warning, severity="warning", timeout=15)
        app.notify("Demo workspace created. Start the sandbox ('segport sandbox') before "
                   "running exports.", title="Ready")
        app.reload()
        app.switch_screen(HomeScreen())

    @on(Button.Pressed, "#quit")
    def action_quit_with_help(self) -> None:
        where = self.seg_app.workspace_label
        self.app.exit(0, message=QUIT_MESSAGE.format(where=where))
