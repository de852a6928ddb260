"""Keys typed ahead of a dialog land in it.

A person types `/router` in one go. The keys reach the samples list before the `/` has opened the
filter dialog; by the time they bubble up unhandled the dialog is on top, and Textual drops them (they
match none of the dialog's bindings). Keys that arrive while the new dialog has no focused field yet are
lost too (they go to the dialog screen itself). `TypeAhead` holds both kinds and replays them, in order,
to the dialog's field as soon as it has focus (or after HOLD_LIMIT seconds to the dialog as it is, so a
dialog without a field never swallows keys). While keys are held, later keys wait behind them.
A replayed key is never held again, so it cannot loop.
"""

from __future__ import annotations

import time

from textual import events
from textual.screen import ModalScreen

HOLD_LIMIT = 0.5     # seconds a key waits for a dialog's field before it goes to the dialog as it is
POLL = 0.01          # seconds between looks at whether the dialog's field has focus


def _replayed(event: events.Key) -> bool:
    """A held key sent again: never held a second time. (A marker, not a subclass: Textual picks
    handlers by the event's class name.)"""
    return getattr(event, "_replayed", False)


class TypeAhead:
    """Mixin for the App (before `App` in the bases): holds keys typed ahead of a dialog's field."""

    async def on_event(self, event: events.Event) -> None:
        # a fresh key while the dialog on top has no focused field yet (or while earlier keys wait)
        if isinstance(event, events.Key) and not event.is_forwarded and not _replayed(event) \
                and (self._held_keys() or self._dialog_without_focus()):
            self._hold(event)
            return
        if isinstance(event, events.Key) and not event.is_forwarded:
            event._typed_on = self.screen  # type: ignore[attr-defined]  # the screen it was sent into
        await super().on_event(event)  # type: ignore[misc]

    def _on_key(self, event: events.Key) -> None:
        # A key typed before a dialog opened, bubbling up from the screen below it: it was meant for the
        # dialog. (Textual calls every class's `_on_key` along the MRO, this one first; prevent_default
        # stops App._on_key from also looking the key up in the dialog's bindings.)
        if not _replayed(event) and isinstance(self.screen, ModalScreen) \
                and self._from_below(event):  # type: ignore[attr-defined]
            self._hold(event)
            event.prevent_default()

    # -- holding and replaying ------------------------------------------------------------------------
    def _held_keys(self) -> list[events.Key]:
        return self.__dict__.setdefault("_held", [])

    def _dialog_without_focus(self) -> bool:
        screen = self.screen  # type: ignore[attr-defined]
        return isinstance(screen, ModalScreen) and screen.focused is None

    def _from_below(self, event: events.Key) -> bool:
        """The key was sent into another screen than the dialog now on top (it opened meanwhile)."""
        typed_on = getattr(event, "_typed_on", None)
        return typed_on is not None and typed_on is not self.screen  # type: ignore[attr-defined]

    def _hold(self, event: events.Key) -> None:
        held = self._held_keys()
        if not held:
            self.__dict__["_held_since"] = time.monotonic()
            self.set_timer(POLL, self._release)  # type: ignore[attr-defined]
        key = events.Key(event.key, event.character)  # a fresh event (the held one was already dispatched)
        key._replayed = True  # type: ignore[attr-defined]
        held.append(key)

    async def _release(self) -> None:
        waited = time.monotonic() - self.__dict__.get("_held_since", 0.0)
        if self._dialog_without_focus() and waited < HOLD_LIMIT:
            self.set_timer(POLL, self._release)  # type: ignore[attr-defined]
            return
        held, self.__dict__["_held"] = self._held_keys(), []
        for key in held:                           # in order, each as a key the person typed just now
            key._typed_on = self.screen  # type: ignore[attr-defined,misc]
            await super().on_event(key)  # type: ignore[misc]

    def keys_held(self) -> int:
        """How many typed keys wait for a dialog's field (tests)."""
        return len(self._held_keys())
