"""At 80×24 an open select list (and a pick list) stays inside its dialog and above the status bar
(issue 16 §4). Every Select of every dialog is opened, with long lists (9 tags, 20 versions, 15 models,
30 templates), and its region is checked against the dialog's inner region and the status bar's row; the
list is framed and each option (and the chosen value) takes one line. Every input's placeholder fits its
field, and no toast covers the key table (F1)."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual.geometry import Region
from textual.widgets import Input, OptionList, Select
from textual.widgets._select import SelectCurrent, SelectOverlay

from studio.tui.app import StudioApp
from studio.tui.widgets.statusbar import StatusBar
from tests.tui.conftest import ready, settle

SIZES = [(80, 24), (100, 30), (160, 48)]


@pytest.fixture
def crowded(seeded, monkeypatch):
    """Long lists for every select: 9 tag labels, 20 template versions, 15 models, 30 templates."""
    from studio.store import Store

    monkeypatch.setenv("STUDIO_MODELS", ",".join(f"openai/model-{i}" for i in range(15)))
    session = Store(seeded.sessions_dir).open("review")
    session.set_meta(labels=[f"label {i}" for i in range(1, 10)])
    text = (seeded.templates_dir / "support-madlib.prompt").read_text()
    for i in range(20):
        session.save_template_version("support-madlib", text + f"\n# v{i}\n")
    session.close()
    for i in range(30):
        (seeded.templates_dir / f"extra-{i:02d}.prompt").write_text(text.replace("support-madlib", f"extra-{i:02d}"))
    return seeded


def inside(inner: Region, outer: Region) -> bool:
    return outer.contains_region(inner)


def check(app, widget, what: str) -> None:
    dialog = next(a for a in widget.ancestors if "dialog" in a.classes)
    status = app.screen_stack[0].query_one(StatusBar).region
    region = widget.region
    assert region.height >= 3, f"{what}: the list has {region.height} rows"
    assert inside(region, dialog.content_region), f"{what}: {region} runs over its dialog {dialog.content_region}"
    assert region.bottom <= status.y, f"{what}: {region} runs over the status bar (row {status.y})"
    if isinstance(widget, SelectOverlay):
        edges = widget.styles.border
        assert all(kind not in ("", "none", "hidden") for kind, _ in (edges.top, edges.bottom, edges.left,
                                                                      edges.right)), f"{what}: the list has no frame"
        assert widget.virtual_size.height == widget.option_count, \
            f"{what}: {widget.option_count} options take {widget.virtual_size.height} lines (one wrapped)"
        chosen = widget.parent.query_one(SelectCurrent)
        assert chosen.region.height == 1, f"{what}: the chosen value takes {chosen.region.height} lines"


async def open_each_select(app, pilot, dialog: str) -> int:
    opened = 0
    for select in list(app.screen.query(Select)):
        select.focus()
        await pilot.pause()
        await pilot.press("space")           # opens the list, as a person does (enter applies the filter dialog)
        await pilot.pause(0.1)
        assert select.expanded, f"{dialog} #{select.id} did not open"
        check(app, select.query_one(SelectOverlay), f"{dialog} #{select.id}")
        await pilot.press("escape")          # closes the list, not the dialog
        await pilot.pause()
        opened += 1
    return opened


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key,dialog,selects", [("slash", "FilterScreen", 4), ("ctrl+g", "GenerateScreen", 2),
                                                ("ctrl+o", "ExportScreen", 2)])
async def test_every_open_select_stays_in_its_dialog_and_above_the_status_bar(crowded, size, key, dialog, selects):
    app = StudioApp(crowded)
    async with app.run_test(size=size) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press(key)
        await settle(app, pilot)
        assert type(app.screen).__name__ == dialog
        assert await open_each_select(app, pilot, dialog) == selects


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_pick_list_stays_in_its_dialog_and_above_the_status_bar(crowded, size):
    app = StudioApp(crowded)
    async with app.run_test(size=size) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f2", "ctrl+l")     # which template to edit: the shipped ones and 30 more
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PickScreen"
        check(app, app.screen.query_one(OptionList), "PickScreen")
        await pilot.press("end")              # the last one can be reached (the list scrolls)
        await pilot.pause()
        pick = app.screen.query_one(OptionList)
        assert pick.option_count > 30 and pick.highlighted == pick.option_count - 1


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("key,dialog", [("slash", "FilterScreen"), ("ctrl+g", "GenerateScreen"),
                                        ("ctrl+o", "ExportScreen"), ("n", "PromptScreen")])
async def test_every_placeholder_fits_its_field(crowded, size, key, dialog):
    """A placeholder says what a field takes: cut off, it says something else (`all (a name such as v2, or 4`)."""
    app = StudioApp(crowded)
    async with app.run_test(size=size) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press(key)
        await settle(app, pilot)
        assert type(app.screen).__name__ == dialog
        inputs = [i for i in app.screen.query(Input) if i.placeholder]
        assert inputs or dialog == "PromptScreen"
        for field in inputs:
            field.value = ""
        await pilot.pause()
        for field in inputs:
            width = field.content_region.width
            assert cell_len(field.placeholder) <= width, f"{dialog} #{field.id}: {field.placeholder!r} in {width}"


async def test_no_toast_covers_the_key_table(seeded):
    from textual.widgets._toast import Toast

    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        app.notify("generating from the unsaved text; ctrl+s saves it as a version", timeout=30)
        await pilot.pause(0.2)
        await pilot.press("f1")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "HelpScreen"
        assert not [t for t in app.screen.query(Toast) if t.region.area], "a toast is drawn over the key table"
        await pilot.press("escape")
        await pilot.pause(0.3)
        shown = [t for t in app.screen.query(Toast) if t.region.area]
        assert shown, "the notification is shown again when help closes"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_footer_ends_with_the_palette_key_not_a_fragment(seeded, size):
    """The docked palette key reaches the last column: nothing of the keys scrolled behind it shows there."""
    from textual.widgets._footer import FooterKey

    app = StudioApp(seeded)
    async with app.run_test(size=size) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        palette = next(k for k in app.screen.query(FooterKey) if k.has_class("-command-palette"))
        assert palette.region.right == size[0], palette.region
