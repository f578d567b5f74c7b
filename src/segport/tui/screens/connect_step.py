"""The connection wizard's last steps: Connect (live, in a worker), export user, Save."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Button, Checkbox, LoadingIndicator, Static

from segport.destinations.errors import (
    DestinationAuthError,
    DestinationConnectionError,
    DestinationError,
    DestinationTimeoutError,
    DestinationUnreachableError,
    WrongDataCenterError,
)
from segport.destinations.values import AccountInfo
from segport.errors import SegportError
from segport.manage.connect import connect_timeout, validate_key
from segport.privacy import PRIVACY_STATEMENT_VERSION
from segport.tui.screens.connection_steps import ConnectionForm, ConnectionStep, KeyStep

MAX_LISTS_SHOWN = 8


def explain(exc: Exception, label: str) -> tuple[str, str]:
    """(headline, what to do) for a failed Connect, one per kind of failure."""
    if isinstance(exc, WrongDataCenterError):
        return ("This key belongs to the other data centre",
                "Switch the data centre (button below, or on the API key step) and connect "
                "again.")
    if isinstance(exc, DestinationAuthError):
        return (f"{label} refused the key",
                "Check that you pasted the whole key, of the right account (and, for Iterable, "
                "of the right data centre). Go back to the API key to fix it.")
    if isinstance(exc, DestinationUnreachableError):
        return (f"Cannot reach {label}",
                "Check the network (VPN, proxy, firewall) and the base URL under Advanced on the "
                "API key step, then try again.")
    if isinstance(exc, DestinationTimeoutError):
        try:
            seconds = f"{connect_timeout():g} s"
        except SegportError:
            seconds = "the limit"
        return (f"{label} did not answer in time ({seconds})",
                "The platform or the network is slow. Try again; on a slow network set "
                "SEGPORT_CONNECT_TIMEOUT to more seconds.")
    if isinstance(exc, DestinationConnectionError):
        return (f"The connection to {label} broke", "Try again in a moment.")
    if isinstance(exc, DestinationError):
        return (f"{label} answered with an error", "Try again later, or check the key.")
    return ("Connect could not start", "Fix the setting named above and try again.")


def describe_account(account: AccountInfo, label: str) -> Content:
    """What the key sees, as lines."""
    lines = [Content.styled(f"✓ Connected to {label}.", "bold $success")]
    if account.account:
        lines.append(Content(f"Account: {account.account}"))
    if account.data_center:
        lines.append(Content(f"Data centre: {account.data_center.upper()}"))
    names = ", ".join(f"{x.name} ({x.id})" for x in account.lists[:MAX_LISTS_SHOWN])
    more = f", and {len(account.lists) - MAX_LISTS_SHOWN} more" if (
        len(account.lists) > MAX_LISTS_SHOWN) else ""
    lines.append(Content(f"Lists visible: {len(account.lists)}"
                         + (f" — {names}{more}" if names else "")))
    if account.scopes:
        lines.append(Content(f"Scopes: {', '.join(account.scopes)}"))
    lines.extend(Content.styled(f"⚠ {w}", "$warning") for w in account.warnings)
    return Content("\n").join(lines)


class ConnectStep(ConnectionStep):
    TITLE = "Connect"

    def __init__(self, form: ConnectionForm, *, id: str) -> None:
        super().__init__(form, id=id)
        self.state = "idle"  # busy, ok, failed
        self.error: Exception | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="connect-lead", classes="lead")
        yield LoadingIndicator(id="connect-busy")
        yield Static(id="connect-result")
        with Horizontal(classes="actions", id="connect-actions"):
            yield Button("Back to the API key", id="connect-back")
            yield Button("Try again", id="connect-retry", variant="primary")
            yield Button("Use the other data centre", id="connect-switch-dc")

    def entered(self) -> None:
        if self.form.account is not None and self.form.validated_for == self.form.fingerprint():
            self.state = "ok"
            self._show()
        else:
            self.start()

    def start(self) -> None:
        self.form.account, self.form.validated_for, self.error = None, None, None
        self.state = "busy"
        self._show()
        self.run_worker(self._connect(self.form.fingerprint()), exclusive=True,
                        exit_on_error=False, group="connect")

    async def _connect(self, fingerprint: int) -> None:
        try:
            account = await validate_key(self.form.draft(), self.form.key.strip())
        except (DestinationError, SegportError) as exc:
            if fingerprint == self.form.fingerprint():
                self.error, self.state = exc, "failed"
        else:
            if fingerprint == self.form.fingerprint():
                self.form.account, self.form.validated_for = account, fingerprint
                self.state = "ok"
        self._show()
        self.changed()
        self._focus_next_move()

    def _focus_next_move(self) -> None:
        """After Connect, Enter does the obvious thing: Next when it worked, else Try again."""
        self.screen.update_nav()  # type: ignore[attr-defined]  # Next enabled now, not later
        target = "#wizard-next" if self.state == "ok" else "#connect-retry"
        found = self.screen.query(target)
        if found and found.first().focusable:
            found.first().focus()

    def _show(self) -> None:
        label = self.form.label
        where = (f"{self.form.data_center.upper()} data centre" if self.form.type == "iterable"
                 else "")
        if self.form.base_url.strip():
            where = "the base URL set under Advanced"
        lead = {"busy": f"Checking the key with {label}" + (f" ({where})" if where else "") + "…",
                "ok": "The key works. This is what it can see:",
                "failed": "Connect failed."}.get(self.state, "")
        self.query_one("#connect-lead", Static).update(lead)
        self.query_one("#connect-busy").display = self.state == "busy"
        result = self.query_one("#connect-result", Static)
        if self.state == "ok" and self.form.account is not None:
            result.update(describe_account(self.form.account, label))
        elif self.state == "failed" and self.error is not None:
            headline, advice = explain(self.error, label)
            result.update(Content("\n").join([Content.styled(f"✗ {headline}", "bold $error"),
                                              Content(str(self.error)), Content(advice)]))
        else:
            result.update("")
        self.query_one("#connect-actions").display = self.state == "failed"
        other = self.query_one("#connect-switch-dc", Button)
        other.display = isinstance(self.error, WrongDataCenterError)
        if isinstance(self.error, WrongDataCenterError) and self.error.suggested:
            other.label = f"Use the {self.error.suggested.upper()} data centre"

    def problem(self) -> str | None:
        if self.state == "busy":
            return "Connecting…"
        if self.state == "failed":
            return "Connect failed: fix the key (Back) or try again."
        if self.form.account is None or self.form.validated_for != self.form.fingerprint():
            return "Connect first."
        return None

    @on(Button.Pressed, "#connect-retry")
    def _retry(self) -> None:
        self.start()
        self.changed()

    @on(Button.Pressed, "#connect-back")
    async def _back(self) -> None:
        await self.screen.go_to(KeyStep)  # type: ignore[attr-defined]

    @on(Button.Pressed, "#connect-switch-dc")
    def _switch(self) -> None:
        suggested = getattr(self.error, "suggested", "") or (
            "eu" if self.form.data_center == "us" else "us")
        self.screen.step_of(KeyStep).set_data_center(suggested)  # type: ignore[attr-defined]
        self.start()
        self.changed()


class ExportUserStep(ConnectionStep):
    TITLE = "Export user"
    FOCUS = "#conn-export-user"  # Space confirms at once

    def compose(self) -> ComposeResult:
        user = self.seg_app.ctx.user
        yield Static("Add yourself as export user", classes="lead")
        yield Static("Exports on this connection run under its export user: the identity shown "
                     "on every run record. The person saving the connection becomes its export "
                     "user.", classes="hint")
        yield Static(f"You are signed in to this computer as '{user}'.")
        yield Checkbox(f"Add me ({user}) as the export user", self.form.export_user_confirmed,
                       id="conn-export-user")

    def problem(self) -> str | None:
        if self.form.export_user_confirmed:
            return None
        return f"Confirm that exports on this connection run as '{self.seg_app.ctx.user}'."

    def sync(self) -> None:
        self.form.export_user_confirmed = self.query_one("#conn-export-user", Checkbox).value


class SaveConnectionStep(ConnectionStep):
    TITLE = "Save"
    NEXT_LABEL = "Save"

    def __init__(self, form: ConnectionForm, *, id: str) -> None:
        super().__init__(form, id=id)
        self.saving = False

    def compose(self) -> ComposeResult:
        yield Static("Check, then save", classes="lead")
        yield Static(id="save-summary")
        yield Static(id="save-error", classes="reason")

    def entered(self) -> None:
        form, app = self.form, self.seg_app
        rows = [
            ("Type", form.label),
            ("Display name", form.name),
            ("Who can use it", "Administrators and Contributors" if form.shared
             else "Administrators only"),
        ]
        if form.type == "iterable":
            rows.append(("Data centre", form.data_center.upper()))
        rows += [
            ("API host", form.base_url.strip() or "the platform's own"),
            ("API key", f"•••••••• (saved to {app.ctx.secrets.describe()})"),
            ("Data privacy", f"agreed by {app.ctx.user} (statement {PRIVACY_STATEMENT_VERSION})"),
            ("Export user", app.ctx.user),
            ("Connect", f"key checked: {len(form.account.lists) if form.account else 0} list(s) "
                        "visible"),
        ]
        width = max(len(k) for k, _ in rows)
        self.query_one("#save-summary", Static).update(
            "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows))

    def problem(self) -> str | None:
        return "Saving…" if self.saving else None

    def failed(self, message: str) -> None:
        self.saving = False
        self.query_one("#save-error", Static).update(message)
        self.changed()
