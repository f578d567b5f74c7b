"""A Footer that rebuilds only when the keys it shows change.

Textual's Footer recomposes (new widgets, new styles) on every bindings refresh, which a focus
change triggers too; wizards change focus at each step. This one compares what it would show.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class SegFooter(Footer):
    """Footer keys with their enabled state, rebuilt at most once per refresh and only on change."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[object, ...] | None = None
        self._pending = False

    def _signature(self) -> tuple[object, ...]:
        return tuple((b.key, b.description, b.action, enabled, tooltip)
                     for (_, b, enabled, tooltip) in self.screen.active_bindings.values()
                     if b.show or b.key == self.app.COMMAND_PALETTE_BINDING)

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._pending:
            return
        if self.is_attached and screen is self.screen:
            self._pending = True
            self.call_after_refresh(self._refresh_keys)

    async def _refresh_keys(self) -> None:
        self._pending = False
        if not self.is_attached or not self.is_mounted:
            return
        signature = self._signature()
        if signature != self._shown:
            self._shown = signature
            await self.recompose()
