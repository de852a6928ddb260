"""The key footer, recomposed only when the keys it shows change.

Textual's Footer rebuilds every key widget whenever the screen's bindings signal fires: on each focus change
and each time the screen comes back from a dialog. That rebuild (a widget and a style update per key) is
most of what closing the filter dialog costs, for the same keys as before.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

from studio.tui.guard import guarded


@guarded
class KeyFooter(Footer):
    _shown: tuple | None = None

    def _signature(self) -> tuple:
        return tuple((binding.key, binding.description, enabled, tooltip, binding.action)
                     for (_node, binding, enabled, tooltip) in self.screen.active_bindings.values() if binding.show)

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._signature()
        yield from super().compose()

    def bindings_changed(self, screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        if not screen.is_active:  # under a dialog (whose keys are not these): looked at again when it is back
            self._bindings_ready = True
            return
        if self._bindings_ready and screen.app.app_focus and self._signature() == self._shown:
            return
        super().bindings_changed(screen)
