"""The export wizard's first steps: connection, name, destination settings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, LoadingIndicator, RadioButton, RadioSet, Select, Static

from segport.destinations import make_destination
from segport.destinations.errors import DestinationError
from segport.errors import SegportError
from segport.manage.connect import connect_timeout
from segport.manage.names import check_name
from segport.model import DESTINATION_LABELS, Connection, Export, ExportMode
from segport.secrets import connection_entry
from segport.tui.widgets.fields import CheckedBy, Field, NotTaken, SegInput
from segport.tui.widgets.wizard import WizardStep, pressed_index

if TYPE_CHECKING:
    from segport.tui.app import SegportApp


@dataclass
class ExportForm:
    """Everything chosen in the export wizard, kept across Back and Next."""

    connection: Connection | None = None
    name: str = ""
    existing_list: bool = False  # Autopilot: an existing list instead of one per segment
    list_id: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    segments: list[str] = field(default_factory=list)
    mode: ExportMode = "upsert"
    schedule: bool = False

    @property
    def label(self) -> str:
        return DESTINATION_LABELS[self.connection.type] if self.connection else "the platform"

    def needs_list_id(self) -> bool:
        kind = self.connection.type if self.connection else None
        return kind == "sendgrid" or (kind == "autopilot" and self.existing_list)

    def export(self) -> Export:
        assert self.connection is not None
        return Export(name=self.name, connection_type=self.connection.type,
                      segments=tuple(self.segments), mapping=dict(self.mapping),
                      connection=self.connection.name,
                      list_id=self.list_id.strip() if self.needs_list_id() else None,
                      mode=self.mode, schedule=self.schedule)

    def touched(self) -> bool:
        return bool(self.connection or self.name or self.list_id or self.segments)


class ExportStep(WizardStep):
    """A step with the wizard's form."""

    def __init__(self, form: ExportForm, *, id: str) -> None:
        super().__init__(id=id)
        self.form = form

    @property
    def seg_app(self) -> SegportApp:
        return self.app  # type: ignore[return-value]


class PickConnectionStep(ExportStep):
    TITLE = "Connection"

    def compose(self) -> ComposeResult:
        app = self.seg_app
        access = app.access()
        self.usable = access.visible_connections() if access else []
        if self.usable:
            yield Static("Which connection does this export send to?", classes="lead")
            chosen = self.form.connection.name if self.form.connection else None
            with RadioSet(id="export-connection"):
                for conn in self.usable:
                    yield RadioButton(conn.label, conn.name == chosen, name=conn.name)
            yield Static("Only the connections you may use are listed.", classes="hint")
        else:
            yield Static("No connection is available to you", classes="lead")
            yield Static(self.why_none(), id="export-no-connection", classes="refusal")

    def why_none(self) -> str:
        app = self.seg_app
        config = app.config
        if config is None or not config.connections:
            if app.refusal("add connections") is None:
                return ("There are no connections in this workspace yet. Add one first (Home → "
                        "Connections → Add connection), then add the export.")
            return ("There are no connections in this workspace yet. An administrator "
                    f"({app.admins_text()}) must add one before exports can be set up.")
        return (f"This workspace has {len(config.connections)} connection(s), but none is "
                "shared with contributors, so you cannot export through any of them. Ask an "
                f"administrator ({app.admins_text()}) to share one (\"Administrators and "
                "Contributors\").")

    def problem(self) -> str | None:
        if not self.usable:
            return "No connection you may use."
        return None if self.form.connection else "Pick a connection."

    def sync(self) -> None:
        if self.usable:
            index = pressed_index(self.query_one("#export-connection", RadioSet))
            self.form.connection = self.usable[index] if index is not None else None


class ExportNameStep(ExportStep):
    TITLE = "Name"

    def compose(self) -> ComposeResult:
        taken = NotTaken(lambda: self.seg_app.config.exports if self.seg_app.config else (),
                         "export")
        self.name_field = Field(
            "Export name",
            SegInput(self.form.name, id="export-name", validators=[
                CheckedBy(lambda v: check_name(v, "export")), taken]),
            hint="Name it after what it sends and where, e.g. 'Newsletter to SendGrid'.")
        yield self.name_field

    def entered(self) -> None:
        self.query_one("#export-name", Input).placeholder = f"e.g. Newsletter to {self.form.label}"

    def problem(self) -> str | None:
        return self.name_field.problem()

    def sync(self) -> None:
        self.form.name = self.query_one("#export-name", Input).value


class DestinationStep(ExportStep):
    TITLE = "Destination"

    def __init__(self, form: ExportForm, *, id: str) -> None:
        super().__init__(form, id=id)
        self._fetched_for: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="dest-lead", classes="lead")
        with RadioSet(id="dest-autopilot"):
            yield RadioButton("A list per segment, named after it (created when missing)",
                              not self.form.existing_list)
            yield RadioButton("An existing list", self.form.existing_list)
        with Vertical(id="dest-lists"):
            yield LoadingIndicator(id="dest-busy")
            yield Select[str]([], id="dest-list-select", prompt="Pick a list of the account")
            yield Static(id="dest-status", classes="hint")
            yield Field("…or type the list ID", SegInput(self.form.list_id, id="dest-list-id"))

    def entered(self) -> None:
        kind = self.form.connection.type if self.form.connection else None
        lead = {
            "iterable": "Iterable needs no list here: for each segment, a static list named "
                        "exactly like the segment is created in Iterable on the first run and "
                        "reused on later runs.",
            "sendgrid": "Which SendGrid contact list receives the contacts? Pick one of the "
                        "account's lists (fetched live), or type its ID.",
            "autopilot": "Autopilot: by default each segment goes to a list named after it, "
                         "created when missing and reused later. Or send to an existing list.",
        }.get(kind or "", "")
        self.query_one("#dest-lead", Static).update(lead)
        self.query_one("#dest-autopilot").display = kind == "autopilot"
        self._show_lists()

    def _show_lists(self) -> None:
        show = self.form.needs_list_id()
        self.query_one("#dest-lists").display = show
        conn = self.form.connection
        if show and conn is not None and self._fetched_for != conn.name:
            self._fetched_for = conn.name
            self.query_one("#dest-list-select", Select).set_options([])
            self.run_worker(self._fetch(conn), exclusive=True, exit_on_error=False,
                            group="lists")

    async def _fetch(self, conn: Connection) -> None:
        busy, status = self.query_one("#dest-busy"), self.query_one("#dest-status", Static)
        busy.display = True
        status.update(f"Fetching the lists of '{conn.name}'…")
        try:
            key = await asyncio.to_thread(self.seg_app.ctx.secrets.get, connection_entry(conn.name))
            if not key:
                raise SegportError(f"No key for '{conn.name}' in "
                                   f"{self.seg_app.ctx.secrets.describe()}.")
            async with make_destination(conn.type, key, conn.base_url, conn.data_center,
                                        timeout=connect_timeout()) as dest:
                lists = await dest.lists()
        except (DestinationError, SegportError) as exc:
            status.update(f"Could not fetch the lists: {exc} Type the list ID instead.")
            self._fetched_for = None
        else:
            options = [(f"{x.name} ({x.id})" + (f", {x.size:,} contacts" if x.size else ""), x.id)
                       for x in lists]
            self.query_one("#dest-list-select", Select).set_options(options)
            status.update(f"{len(lists)} list(s) in the account." if lists else
                          "The account has no lists yet; create one on the platform, or type "
                          "an ID.")
        finally:
            busy.display = False

    def problem(self) -> str | None:
        if self.form.needs_list_id() and not self.form.list_id.strip():
            return "Pick a list or type its ID."
        return None

    def sync(self) -> None:
        self.form.existing_list = pressed_index(self.query_one("#dest-autopilot", RadioSet)) == 1
        self.form.list_id = self.query_one("#dest-list-id", Input).value

    @on(RadioSet.Changed, "#dest-autopilot")
    def _autopilot(self) -> None:
        self.sync()
        self._show_lists()

    @on(Select.Changed, "#dest-list-select")
    def _picked(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.query_one("#dest-list-id", Input).value = str(event.value)

