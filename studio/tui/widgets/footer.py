"""The key footer, recomposed only when the keys it shows change.

Textual's Footer rebuilds every key widget whenever the screen's bindings signal fires: on each focus change
and each time the screen comes back from a dialog. That rebuild (a widget and a style update per key) is
most of what closing the filter dialog costs, for the same keys as before.
"""

from __future__ import annotations

from textual.widgets import Footer

from studio.tui.guard import guarded


@guarded
class KeyFooter(Footer):
    _shown: tuple | None = None

    def _signature(self) -> tuple:
        return tuple((binding.key, binding.description, enabled, tooltip, binding.action)
                     for (_node, binding, enabled, tooltip) in self.screen.active_bindings.values() if binding.show)

    def bindings_changed(self, screen) -> None:
        if self.is_attached and screen is self.screen and self._bindings_ready and screen.app.app_focus:
            shown = self._signature()
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)
