"""Keys land where, and in the order, they were typed.

Two ways Textual loses or reorders a burst of keys (a fast typist, a paste, a terminal over SSH delivering
several keys in one read), both fixed here, in the App:

1. A key that a binding handles (backspace, ←, home, tab, enter, `/`) is handed to the focused widget, bubbles
   up through its containers and the screen, and only when it reaches the app does its action run. A printable
   key goes straight into the field. So `abc⌫d` typed in one go put `d` in before the backspace ran, and the
   backspace then ate the `d` (issue 16 §4); `4⇥9` put the 9 in the count, not the next field. `TypeAhead` sends
   a key on only once the one before it is done (stopped by a widget, or back at the app with its binding run).
2. A person types `/router` in one go. Until the filter dialog has a focused field, keys that reach it go to the
   dialog screen itself and are dropped (they match none of its bindings). Such keys are held and replayed, in
   order, to the field as soon as it has focus (or after HOLD_LIMIT seconds to the dialog as it is, so a dialog
   without a field never swallows keys).

3. A key whose outcome the screen cannot know until the store answers (`u` moves the cursor to the sample the
   store undid; `X` asks about the samples that will change): the screen calls `hold_keys_for_store()` and
   keys typed after it wait until it calls `keys_go_on()` (or STORE_LIMIT passes), so `x u a j j` in one burst
   acts as typed slowly: `a` on the undone sample, both `j`s after the cursor went back to it.

While keys are held, later keys wait behind them. A replayed key is never held again, so it cannot loop.
"""

from __future__ import annotations

import time

from textual import events
from textual.screen import ModalScreen

HOLD_LIMIT = 0.5     # seconds a key waits for a dialog's field before it goes to the dialog as it is
# A key is done when a widget stopped it or it bubbled back with its binding run; it is lost when the widget it
# was sent to went away first. Only a key lost some other way waits this long before the next goes on. (It
# was 0.3 s for every key: on a loaded machine a key's widget took longer than that, the next key went on
# before it, and a burst ended otherwise than typed slowly: the flake of tests/tui/test_review_random.py.)
IN_FLIGHT_LIMIT = 5.0
STORE_LIMIT = 5.0    # seconds keys wait for a store answer the screen asked them to wait for (a failed job)
POLL = 0.005         # seconds between looks at whether the key before is done / the dialog's field has focus


def _replayed(event: events.Key) -> bool:
    """A held key sent again: never held a second time. (A marker, not a subclass: Textual picks
    handlers by the event's class name.)"""
    return getattr(event, "_replayed", False)


class TypeAhead:
    """Mixin for the App (before `App` in the bases): one key at a time, and keys typed ahead of a dialog's
    field held for it."""

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, events.Key):
            await super().on_event(event)  # type: ignore[misc]
            return
        self.last_key_at = time.monotonic()      # background work (the text index build) yields to keys
        if event.is_forwarded:                   # a key bubbling back up: its bindings run now, then it is done
            await super().on_event(event)  # type: ignore[misc]
            self._done(event)
            return
        if not _replayed(event) and (self._held_keys() or self._busy() or self._dialog_without_focus()):
            self._hold(event)                    # a fresh key while another is being handled (or waits)
            return
        await self._send(event)

    async def _send(self, event: events.Key) -> None:
        event._typed_on = self.screen  # type: ignore[attr-defined]  # the screen it was sent into
        # From nobody, as the terminal's keys are: Textual stops a message one step early when it bubbles back
        # to its sender, which would read as "a widget took it" (keys sent by Pilot or replayed are the app's).
        event.set_sender(None)  # type: ignore[arg-type]
        target = self.focused or self.screen  # type: ignore[attr-defined]  # where App.on_event sends it
        self.__dict__["_in_flight"] = (event, time.monotonic(), target)
        await super().on_event(event)  # type: ignore[misc]
        if not event.is_forwarded:               # handled here (a priority binding): done
            self._done(event)

    def _on_key(self, event: events.Key) -> None:
        # A key typed before a dialog opened, bubbling up from the screen below it: it was meant for the
        # dialog. (Textual calls every class's `_on_key` along the MRO, this one first; prevent_default
        # stops App._on_key from also looking the key up in the dialog's bindings.)
        if not _replayed(event) and isinstance(self.screen, ModalScreen) \
                and self._from_below(event):  # type: ignore[attr-defined]
            self._hold(event)
            event.prevent_default()

    # -- one key at a time ---------------------------------------------------------------------------
    def hold_keys_for_store(self) -> None:
        """Keys typed from now on wait until `keys_go_on()`: the screen waits for the store's answer to the key
        just handled."""
        self.__dict__["_store_wait"] = time.monotonic()

    def keys_go_on(self) -> None:
        self.__dict__["_store_wait"] = None
        if self._held_keys():
            self.call_next(self._release)  # type: ignore[attr-defined]

    def _busy(self) -> bool:
        """The key sent before is still on its way (in a widget's queue, or bubbling up to its binding), or the
        screen waits for the store's answer to it."""
        waiting = self.__dict__.get("_store_wait")
        if waiting is not None:
            if time.monotonic() - waiting < STORE_LIMIT:
                return True
            self.__dict__["_store_wait"] = None
        flight = self.__dict__.get("_in_flight")
        if flight is None:
            return False
        key, since, target = flight
        gone = not target.is_attached           # removed before the key came back: it never will
        if key._stop_propagation or gone or time.monotonic() - since > IN_FLIGHT_LIMIT:
            self.__dict__["_in_flight"] = None   # a widget took it (a character into a field), or it was lost
            return False
        return True

    def _done(self, event: events.Key) -> None:
        flight = self.__dict__.get("_in_flight")
        if flight is not None and flight[0] is event:
            self.__dict__["_in_flight"] = None
            if self._held_keys():
                self.call_next(self._release)  # type: ignore[attr-defined]

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
        """Send the first held key once the key before it is done and the dialog (if one opened) has its field
        focused; then the next, one at a time. Looks again every POLL seconds while keys wait."""
        held = self._held_keys()
        while held:
            waited = time.monotonic() - self.__dict__.get("_held_since", 0.0)
            if self._busy() or (self._dialog_without_focus() and waited < HOLD_LIMIT):
                if not self.__dict__.get("_release_due"):
                    self.__dict__["_release_due"] = True
                    self.set_timer(POLL, self._release_timer)  # type: ignore[attr-defined]
                return
            key = held.pop(0)
            self.__dict__["_held_since"] = time.monotonic()   # HOLD_LIMIT counts from the last key sent
            await self._send(key)                 # in order, each as a key the person typed just now

    async def _release_timer(self) -> None:
        self.__dict__["_release_due"] = False
        await self._release()

    def keys_held(self) -> int:
        """How many typed keys wait for a dialog's field or for the key before them (tests)."""
        return len(self._held_keys())
