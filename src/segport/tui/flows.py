"""What the app does to the workspace: open the wizards, remove, share, detach, run."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from segport.errors import SegportError
from segport.manage.connections import remove_connection, set_sharing
from segport.manage.exports import detach_export, remove_export
from segport.model import DESTINATION_LABELS, Connection

if TYPE_CHECKING:
    from segport.tui.app import SegportApp
    from segport.tui.screens.export_wizard import ExportSaved


class WorkspaceFlows:
    """Mixin for :class:`SegportApp`: every flow re-checks permissions before it starts."""

    def refusal(self: SegportApp, what: str) -> str | None:
        """Why the current user may not do ``what`` (None: they may)."""
        access = self.access()
        if access is None:
            return "There is no workspace yet."
        if what in ("add connections", "remove connections", "share connections"):
            if not access.can_manage_connections():
                return f"Only administrators ({self.admins_text()}) may {what}."
        elif not access.can_read():
            return (f"You ('{self.ctx.user}') are not in this workspace's team; ask an "
                    f"administrator ({self.admins_text()}) to add you.")
        return None

    def refresh_home(self: SegportApp) -> None:
        self.reload()
        home = getattr(self, "home", None)
        if home is not None:
            home.refresh_data()

    def _refused(self: SegportApp, what: str) -> bool:
        self.reload()
        reason = self.refusal(what)
        if reason:
            self.notify(reason, title="Not allowed", severity="warning")
        return reason is not None

    # -- connections -----------------------------------------------------------------------------
    def action_add_connection(self: SegportApp) -> None:
        from segport.tui.screens.connection_wizard import ConnectionWizard

        if self._refused("add connections"):
            return

        def saved(connection: Connection | None) -> None:
            if connection is not None:
                self.notify(f"Connection '{connection.name}' "
                            f"({DESTINATION_LABELS[connection.type]}) saved; its key is in "
                            f"{self.ctx.secrets.describe()}.", title="Saved")
            self.refresh_home()

        self.push_screen(ConnectionWizard(), saved)

    def action_remove_connection(self: SegportApp, name: str) -> None:
        if not self._refused("remove connections"):
            self.run_worker(self._remove_connection(name), exit_on_error=False, group="flows")

    async def _remove_connection(self: SegportApp, name: str) -> None:
        from segport.tui.screens.modals import ConfirmModal

        assert self.config is not None
        conn = self.config.connections.get(name)
        if conn is None:
            self.notify(f"No connection named '{name}'.", severity="warning")
            return
        label = DESTINATION_LABELS[conn.type]
        users = [e.name for e in self.config.exports_using(name)]
        if users:
            detach = await self.push_screen_wait(ConfirmModal(
                f"Connection '{name}' is used by {len(users)} export(s)",
                f"Using it: {', '.join(users)}. To remove the connection, detach them first: "
                "a detached export keeps its settings, is inactive, and can be attached to "
                f"another {label} connection later.",
                confirm="Detach them", cancel="Keep everything"))
            if not detach:
                return
        remove = await self.push_screen_wait(ConfirmModal(
            f"Remove connection '{name}' ({label})?",
            "Its API key is deleted from the keyring and nothing can be exported through it "
            "any more. Add it again to use this account later.",
            confirm="Remove connection"))
        if not remove:
            return
        detached = await asyncio.to_thread(remove_connection, self.ctx, name,
                                           detach_exports=bool(users))
        extra = f" Detached: {', '.join(detached)}." if detached else ""
        self.notify(f"Connection '{name}' removed and its key deleted.{extra}", title="Removed")
        self.refresh_home()

    def action_toggle_sharing(self: SegportApp, name: str) -> None:
        if not self._refused("share connections"):
            self.run_worker(self._toggle_sharing(name), exit_on_error=False, group="flows")

    async def _toggle_sharing(self: SegportApp, name: str) -> None:
        assert self.config is not None
        conn = self.config.connections.get(name)
        if conn is None:
            return
        updated = await asyncio.to_thread(set_sharing, self.ctx, name,
                                          not conn.shared_with_contributors)
        who = ("administrators and contributors" if updated.shared_with_contributors
               else "administrators only")
        self.notify(f"'{name}' can now be used by {who}. Its exports keep working.")
        self.refresh_home()

    # -- exports ---------------------------------------------------------------------------------
    def action_add_export(self: SegportApp) -> None:
        from segport.tui.screens.export_wizard import ExportWizard

        if self._refused("add exports"):
            return

        def saved(result: ExportSaved | None) -> None:
            self.refresh_home()
            if result is not None and result.run_now:
                self.action_run_export(result.name)

        self.push_screen(ExportWizard(), saved)

    def action_run_export(self: SegportApp, name: str) -> None:
        """Run an export now: check it may run (key, attachment, permission), then open the
        run panel, which shows the run live; Home is refreshed when the panel closes."""
        from segport.tui.screens.run_panel import RunPanel

        if self._refused("run exports"):
            return
        access = self.access()
        export = access.config.exports.get(name) if access else None
        if export is None or access is None or not access.can_manage_export(export):
            self.notify(f"You may not run export '{name}'.", severity="warning")
            return
        if not export.active:
            self.notify(f"Export '{name}' is detached; attach it to a connection to run it.",
                        severity="warning")
            return
        if any(isinstance(screen, RunPanel) for screen in self.screen_stack):
            self.notify("A run is under way in the run panel; let it finish or cancel it "
                        "first.", severity="warning")
            return
        self.run_worker(self._start_run(name), exit_on_error=False, group="run-start",
                        exclusive=True)

    def action_plan_export(self: SegportApp, name: str) -> None:
        """Plan (dry run) an export: open the plan view, which plans it in a thread and shows
        what a run would do, sending nothing; its "Run now" opens the run panel."""
        from segport.tui.screens.plan_view import PlanView

        if self._refused("plan exports"):
            return
        access = self.access()
        export = access.config.exports.get(name) if access else None
        if export is None or access is None or not access.can_manage_export(export):
            self.notify(f"You may not plan export '{name}'.", severity="warning")
            return

        def closed(run_now: bool | None) -> None:
            if run_now:
                self.action_run_export(name)

        self.push_screen(PlanView(export), closed)

    async def _start_run(self: SegportApp, name: str) -> None:
        from segport.manage.running import prepare
        from segport.tui.screens.run_panel import RunPanel

        try:  # reads the keyring: off the event loop
            prepared = await asyncio.to_thread(prepare, self.ctx, name)
        except SegportError as exc:
            self.notify(str(exc), title=f"Cannot run '{name}'", severity="error", timeout=15)
            return
        if any(isinstance(screen, RunPanel) for screen in self.screen_stack):
            return

        def closed(_result: object) -> None:
            self.refresh_home()  # a run record exists now

        await self.push_screen(RunPanel(prepared), closed)

    def action_detach_export(self: SegportApp, name: str) -> None:
        if not self._refused("detach exports"):
            self.run_worker(self._export_change(name, "detach"), exit_on_error=False)

    def action_attach_export(self: SegportApp, name: str) -> None:
        """Attach a detached export to a connection of its type, picked in a modal."""
        if not self._refused("attach exports"):
            self.run_worker(self._attach_export(name), exit_on_error=False, group="flows")

    async def _attach_export(self: SegportApp, name: str) -> None:
        from segport.manage.exports import attach_export
        from segport.tui.screens.attach import AttachModal

        access = self.access()
        export = access.config.exports.get(name) if access else None
        if export is None or access is None or not access.can_manage_export(export):
            self.notify(f"You may not attach export '{name}'.", severity="warning")
            return
        if export.active:
            self.notify(f"Export '{name}' is already attached to '{export.connection}'.")
            return
        kind = export.connection_type
        label = DESTINATION_LABELS[kind]
        choices = [c.name for c in access.visible_connections() if c.type == kind]
        why_none = None
        if not choices:
            if not any(c.type == kind for c in access.config.connections.values()):
                why_none = f"There is no {label} connection in this workspace. " + (
                    f"Add one (Home → Connections → Add connection), then attach '{name}' to it."
                    if access.can_manage_connections() else
                    f"Ask an administrator ({self.admins_text()}) to add one and share it with "
                    "contributors.")
            else:
                why_none = (f"The {label} connections in this workspace are not shared with "
                            f"contributors. Ask an administrator ({self.admins_text()}) to "
                            "share one (\"Administrators and Contributors\").")
        picked = await self.push_screen_wait(AttachModal(name, label, choices, why_none))
        if not picked:
            return
        await asyncio.to_thread(attach_export, self.ctx, name, picked)
        self.notify(f"Export '{name}' is attached to '{picked}' and active again.",
                    title="Attached")
        self.refresh_home()

    def action_remove_export(self: SegportApp, name: str) -> None:
        if not self._refused("remove exports"):
            self.run_worker(self._export_change(name, "remove"), exit_on_error=False)

    async def _export_change(self: SegportApp, name: str, how: str) -> None:
        from segport.tui.screens.modals import ConfirmModal

        if how == "remove":
            question = (f"Remove export '{name}'?", "Its settings are deleted. Lists on the "
                        "platform are left as they are.", "Remove export")
        else:
            question = (f"Detach export '{name}'?", "It keeps its settings but becomes "
                        "inactive until it is attached to a connection of the same type.",
                        "Detach")
        if not await self.push_screen_wait(ConfirmModal(question[0], question[1],
                                                        confirm=question[2])):
            return
        change = remove_export if how == "remove" else detach_export
        await asyncio.to_thread(change, self.ctx, name)
        self.notify(f"Export '{name}' {'removed' if how == 'remove' else 'detached'}.")
        self.refresh_home()
