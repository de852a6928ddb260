"""Keys typed in one burst land in the order they were typed (issue 16 §4: "a character typed right after
Backspace in an input is not lost").

Textual hands a printable key straight to the focused field, but a key that a binding handles (backspace,
←, home, tab, enter) first bubbles up to the app and only then runs its action: a character typed right
after it was already in the field, so backspace ate it. `studio.tui.typeahead.TypeAhead` sends a key on only
once the one before it is done. Each test types a burst the way a terminal delivers it (every key queued at
once, `burst`), into every kind of field the studio has.
"""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input

from studio.tui.app import StudioApp
from tests.tui.conftest import ready, settle

CHARS = {"space": " ", "backspace": "\x7f", "enter": "\r", "tab": "\t", "escape": "\x1b"}


async def burst(app, pilot, *keys: str) -> None:
    """Queue every key at once, as a terminal delivers a fast typist's (or a paste's) keys, then let them land."""
    for key in keys:
        char = key if len(key) == 1 else CHARS.get(key)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
    for _ in range(40):
        await pilot.pause(0.02)
        if not app.keys_held():
            break
    await pilot.pause(0.05)


# (keys typed into a field holding "abc", cursor at the end) -> the field's value
EDITS = [
    (("backspace", "d"), "abd"),
    (("backspace", "backspace", "x", "y"), "axy"),
    (("backspace", "d", "backspace", "e"), "abe"),
    (("left", "d"), "abdc"),
    (("home", "d"), "dabc"),
    (("home", "delete", "z"), "zbc"),
    (("ctrl+u", "q"), "q"),
    (("ctrl+w", "w"), "w"),
]


async def _open(app, pilot, how: str):
    """Open the dialog kind `how` and return its field holding "abc" with the cursor at the end."""
    if how == "filter":
        await pilot.press("slash")
        field = "#text"
    elif how == "note":
        await pilot.press("n")
        field = "#prompt-input"
    elif how == "value filter":
        await pilot.press("slash")
        field = "#value"
    elif how.startswith("generate "):
        await pilot.press("ctrl+g")
        field = "#" + how.split()[1]
    elif how.startswith("export "):
        await pilot.press("ctrl+o")
        field = "#" + how.split()[1]
    await pilot.pause(0.1)
    await settle(app, pilot)
    return await _fill(app, pilot, field, "abc")


async def _fill(app, pilot, field: str, text: str) -> Input:
    """Focus `field` (its select-on-focus done), put `text` in it, cursor at the end."""
    box = app.screen.query_one(field, Input)
    box.focus()
    await pilot.pause()
    box.value = text
    box.cursor_position = len(text)
    await pilot.pause()
    return box


FIELDS = ["filter", "value filter", "note", "generate model-text", "generate api-base", "export statuses",
          "export tags", "export templates", "export licence", "export path"]


@pytest.mark.parametrize("how", FIELDS)
async def test_a_burst_after_backspace_lands_in_order_in_every_field(seeded, how):
    app = StudioApp(seeded)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        for keys, want in EDITS:
            box = await _open_or_reuse(app, pilot, how)
            await burst(app, pilot, *keys)
            assert box.value == want, f"{how}: {keys} on 'abc' gave {box.value!r}"


async def _open_or_reuse(app, pilot, how):
    from textual.screen import ModalScreen

    if isinstance(app.screen, ModalScreen):
        field = {"filter": "#text", "value filter": "#value", "note": "#prompt-input"}.get(how) \
            or "#" + how.split()[1]
        return await _fill(app, pilot, field, "abc")
    return await _open(app, pilot, how)


async def test_numbers_typed_in_a_burst_after_backspace_land_in_order_in_the_generate_form(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        for field in ("#count", "#seed", "#concurrency", "#answers"):
            box = await _fill(app, pilot, field, "12")
            await burst(app, pilot, "backspace", "5", "left", "3")
            assert box.value == "135", f"{field}: {box.value!r}"


async def test_a_burst_opening_a_dialog_then_editing_lands_in_order(seeded):
    """`/abc⌫d⏎` typed in one go from the samples list: the filter is text=abd."""
    app = StudioApp(seeded)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await burst(app, pilot, "slash", *"custo", "backspace", "o", "m", "e", "r", "space", "3", "enter")
        await settle(app, pilot)
        assert app.screen.filters == {"text": "customer 3"}


async def test_tab_then_a_character_goes_to_the_next_field(seeded):
    """tab is a binding too (focus the next field): the character after it belongs to the next field."""
    app = StudioApp(seeded)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        app.screen.query_one("#count", Input).value = ""
        await pilot.pause()
        await burst(app, pilot, "4", "tab", "tab", "9")   # count, strategy (a select), seed
        assert app.screen.query_one("#count", Input).value == "4"
        assert app.screen.query_one("#seed", Input).value.endswith("9")


async def test_a_burst_in_the_editor_lands_in_order(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f2")
        await pilot.pause()
        area = app.screen.query_one("#template-text")
        area.move_cursor((0, 0))
        await burst(app, pilot, *"xyz", "backspace", "w", "left", "v", "home", "u")
        assert area.document.lines[0].startswith("uxyvw")
