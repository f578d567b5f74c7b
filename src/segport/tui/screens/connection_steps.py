"""The connection wizard's first steps: type, name and access, API key, privacy agreement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Collapsible, Input, Label, RadioButton, RadioSet, Static

from segport.destinations.values import AccountInfo
from segport.manage.connections import ConnectionDraft, check_base_url, check_key
from segport.manage.names import check_name
from segport.model import (
    DATA_CENTERS,
    DESTINATION_LABELS,
    DESTINATION_TYPES,
    DataCenter,
    DestinationType,
)
from segport.privacy import PRIVACY_STATEMENT, PRIVACY_STATEMENT_VERSION
from segport.tui.widgets.fields import CheckedBy, Field, NotTaken, SegInput
from segport.tui.widgets.wizard import WizardStep, pressed_index

if TYPE_CHECKING:
    from segport.tui.app import SegportApp

PLATFORM_NOTES = {
    "iterable": "Iterable: a static list per segment, named exactly like it, created and reused. "
                "Up to 1,000,000 profiles per export. US or EU data centre.",
    "sendgrid": "SendGrid Marketing Campaigns: an existing contact list. Up to 100,000 profiles "
                "in total.",
    "autopilot": "Autopilot: a list per segment, named after it (or an existing list). Up to "
                 "100,000 profiles in total.",
}


@dataclass
class ConnectionForm:
    """Everything typed in the connection wizard, kept across Back and Next."""

    type: DestinationType | None = None
    name: str = ""
    shared: bool = False
    key: str = field(default="", repr=False)
    data_center: DataCenter = "us"
    base_url: str = ""
    agreed: bool = False
    export_user_confirmed: bool = False
    account: AccountInfo | None = None
    validated_for: int | None = None

    @property
    def label(self) -> str:
        return DESTINATION_LABELS[self.type] if self.type else "the platform"

    def draft(self) -> ConnectionDraft:
        assert self.type is not None
        return ConnectionDraft(
            name=self.name, type=self.type, shared_with_contributors=self.shared,
            data_center=self.data_center if self.type == "iterable" else None,
            base_url=self.base_url.strip() or None,
        )

    def fingerprint(self) -> int:
        """Changes whenever something Connect depends on changes (the key included)."""
        dc = self.data_center if self.type == "iterable" else None
        return hash((self.type, self.key.strip(), dc, self.base_url.strip()))

    def touched(self) -> bool:
        return bool(self.type or self.name or self.key or self.base_url or self.agreed)


class ConnectionStep(WizardStep):
    """A step with the wizard's form."""

    def __init__(self, form: ConnectionForm, *, id: str) -> None:
        super().__init__(id=id)
        self.form = form

    @property
    def seg_app(self) -> SegportApp:
        return self.app  # type: ignore[return-value]


class TypeStep(ConnectionStep):
    TITLE = "Type"

    def compose(self) -> ComposeResult:
        yield Static("Which platform does this connection send profiles to?", classes="lead")
        with RadioSet(id="conn-type"):
            for kind in DESTINATION_TYPES:
                yield RadioButton(DESTINATION_LABELS[kind], kind == self.form.type, name=kind)
        yield Static("\n".join(PLATFORM_NOTES.values()), classes="hint")

    def problem(self) -> str | None:
        return None if self.form.type else "Pick the platform."

    def sync(self) -> None:
        index = pressed_index(self.query_one("#conn-type", RadioSet))
        self.form.type = DESTINATION_TYPES[index] if index is not None else None


class NameStep(ConnectionStep):
    TITLE = "Name and access"

    def compose(self) -> ComposeResult:
        existing = NotTaken(lambda: self.seg_app.config.connections if self.seg_app.config
                            else (), "connection")
        self.name_field = Field(
            "Display name",
            SegInput(self.form.name, id="conn-name", validators=[
                CheckedBy(lambda v: check_name(v, "connection")), existing]),
            hint="Name it after its purpose and target, e.g. 'Iterable – EU newsletter': people "
                 "recognise a connection by its name and type together.",
        )
        yield self.name_field
        yield Label("Who can use this connection", classes="field-label")
        with RadioSet(id="conn-sharing"):
            yield RadioButton("Administrators only", not self.form.shared)
            yield RadioButton("Administrators and Contributors", self.form.shared)
        yield Static("Contributors see only the name and type of a connection shared with them, "
                     "and can create, edit and run exports on it; they never see or change its "
                     "key or settings. You can change this later without breaking exports.",
                     classes="hint")

    def entered(self) -> None:
        self.query_one("#conn-name", Input).placeholder = (
            f"e.g. {self.form.label} – EU newsletter")

    def problem(self) -> str | None:
        return self.name_field.problem()

    def sync(self) -> None:
        self.form.name = self.query_one("#conn-name", Input).value
        self.form.shared = pressed_index(self.query_one("#conn-sharing", RadioSet)) == 1


class KeyStep(ConnectionStep):
    TITLE = "API key"

    def compose(self) -> ComposeResult:
        self.key_field = Field(
            "API key", SegInput(self.form.key, id="conn-key", password=True,
                                validators=[CheckedBy(check_key)]),
            hint="Paste the key of the platform account. It goes to your OS keyring and nowhere "
                 "else: never into the workspace, a log or a run record.")
        yield self.key_field
        with Vertical(id="dc-box"):
            yield Label("Data centre", classes="field-label")
            with RadioSet(id="conn-dc"):
                yield RadioButton("US (api.iterable.com)", self.form.data_center == "us")
                yield RadioButton("EU (api.eu.iterable.com)", self.form.data_center == "eu")
            yield Static("Use the data centre of the Iterable project the key belongs to.",
                         classes="hint")
        self.url_field = Field(
            "Base URL", SegInput(self.form.base_url, id="conn-base-url",
                                 placeholder="the platform's own API host",
                                 valid_empty=True, validators=[CheckedBy(check_base_url)]),
            hint="Only for another API host, such as the local sandbox (segport sandbox).")
        with Collapsible(title="Advanced", id="conn-advanced",
                         collapsed=not self.form.base_url):
            yield self.url_field

    def entered(self) -> None:
        self.key_field.query_one(Label).update(f"{self.form.label} API key")
        self.query_one("#dc-box").display = self.form.type == "iterable"
        sandbox = self.seg_app.sandbox
        url_input = self.query_one("#conn-base-url", Input)
        if sandbox is not None and self.form.type is not None:
            ours = {sandbox.base_url(kind) for kind in DESTINATION_TYPES}
            if not url_input.value or url_input.value in ours:
                url_input.value = sandbox.base_url(self.form.type)
                self.query_one(Collapsible).collapsed = False

    def problem(self) -> str | None:
        return self.key_field.problem() or self.url_field.problem()

    def sync(self) -> None:
        self.form.key = self.query_one("#conn-key", Input).value
        self.form.base_url = self.query_one("#conn-base-url", Input).value
        index = pressed_index(self.query_one("#conn-dc", RadioSet))
        self.form.data_center = DATA_CENTERS[index or 0]

    def set_data_center(self, dc: DataCenter) -> None:
        """Switch the data centre (Connect suggests it when the key belongs to the other)."""
        self.form.data_center = dc
        if self.is_mounted:  # else it is built from the draft when shown
            buttons = list(self.query_one("#conn-dc", RadioSet).query(RadioButton))
            buttons[DATA_CENTERS.index(dc)].value = True


class PrivacyStep(ConnectionStep):
    TITLE = "Data privacy"
    FOCUS = "#conn-agree"  # Space agrees at once

    def compose(self) -> ComposeResult:
        yield Static("Data privacy and compliance", classes="lead")
        yield Static(PRIVACY_STATEMENT, classes="statement")
        yield Static(f"Statement version {PRIVACY_STATEMENT_VERSION}. Your agreement is recorded "
                     f"with your user name ({self.seg_app.ctx.user}) and the time.",
                     classes="hint")
        yield Checkbox("I agree", self.form.agreed, id="conn-agree")

    def problem(self) -> str | None:
        return None if self.form.agreed else ("Select 'I agree' to continue: no agreement, no "
                                              "connection.")

    def sync(self) -> None:
        self.form.agreed = self.query_one("#conn-agree", Checkbox).value
