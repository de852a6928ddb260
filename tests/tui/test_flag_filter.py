"""Issue 13 §1: flagged samples (cut-off, filtered, refusal, preview) are filterable from the filter dialog (`/`),
and the stream title says which flag filter is on."""

from __future__ import annotations

import pytest
from textual.widgets import Select

from studio.store import Store
from studio.tui.app import StudioApp
from tests.tui.conftest import make_samples, ready, screen_text, settle

FLAGGED = {2: "cut-off", 5: "cut-off", 7: "filtered", 9: "refusal", 11: "preview"}  # 1-based sample ids


@pytest.fixture
def flagged(ws):
    store = Store(ws.sessions_dir)
    session = store.create("review")
    version = session.save_template_version("support-madlib",
                                            (ws.templates_dir / "support-madlib.prompt").read_text())
    samples = make_samples(12, version=version)
    for sid, flag in FLAGGED.items():
        samples[sid - 1]["flag"] = flag
    session.add_samples(samples)
    session.close()
    return ws


async def choose_flag(app, pilot, downs: int) -> None:
    """Open `/`, open the flag list (space), pick its entry `downs` below "any" (enter), apply with enter on the
    closed list, as the dialog's title says."""
    await pilot.press("slash")
    await settle(app, pilot)
    select = app.screen.query_one("#flag", Select)
    select.focus()
    await pilot.press("space", "home", *["down"] * downs, "enter")
    await settle(app, pilot)
    assert type(app.screen).__name__ == "FilterScreen" and not select.expanded   # enter in the list picked
    await pilot.press("enter")                                                    # enter on the list applies
    await settle(app, pilot)
    assert type(app.screen).__name__ == "MainScreen"


async def test_the_filter_dialog_filters_by_flag_and_by_no_flag(flagged):
    app = StudioApp(flagged)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await choose_flag(app, pilot, 2)  # any, clean (no flag), cut-off
        assert app.screen.filters == {"flag": "cut-off"}
        assert sorted(app.screen.stream.ids) == [2, 5]
        assert "filter flag=cut-off" in screen_text(app)
        await pilot.press("slash")
        await settle(app, pilot)
        assert app.screen.query_one("#flag", Select).value == "cut-off"  # the dialog shows the filter in force
        await pilot.press("escape")
        await choose_flag(app, pilot, 1)
        assert app.screen.filters == {"flag": ""}
        assert sorted(app.screen.stream.ids) == [i for i in range(1, 13) if i not in FLAGGED]
        assert "filter flag=clean" in screen_text(app)
        await choose_flag(app, pilot, 0)  # any: no flag filter
        assert app.screen.filters == {} and len(app.screen.stream.ids) == 12


async def test_every_flag_is_offered_with_its_meaning(flagged):
    from studio.core.record import FLAGS

    app = StudioApp(flagged)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        select = app.screen.query_one("#flag", Select)
        offered = {value: str(label) for label, value in select._options if value is not Select.NULL}
        assert set(offered) == {"", *FLAGS}
        for flag, why in FLAGS.items():
            assert why in offered[flag]


async def test_a_flagged_row_shows_its_flag_and_takes_a_verdict_but_a_preview_does_not(flagged):
    app = StudioApp(flagged)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        assert "⚑preview" in screen_text(app) and "⚑refusal" in screen_text(app)  # the newest rows
        await pilot.press("home", "j", "a")  # #2, cut off: accepted knowingly, no question asked
        await settle(app, pilot)
        await pilot.press("end", "k", "a")  # #11, a preview: no verdict
        await settle(app, pilot)
        await pilot.press("ctrl+q")
    session = Store(flagged.sessions_dir).open("review")
    try:
        assert session.get(2)["status"] == "accepted" and session.get(2)["flag"] == "cut-off"
        assert session.get(11)["status"] == "pending"
        assert session.ids(status="accepted") == [2]
    finally:
        session.close()


async def test_enter_on_a_closed_list_applies_the_filter_and_in_an_open_list_picks(flagged):
    """The dialog's title says enter applies: on a closed list too (a tryout's enter opened the list again);
    in the open list enter picks the entry and the dialog stays; on a button it presses the button."""
    app = StudioApp(flagged)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        status = app.screen.query_one("#status", Select)
        status.focus()
        await pilot.press("space", "home", "down", "enter")     # any, then the first status: picked
        await settle(app, pilot)
        assert type(app.screen).__name__ == "FilterScreen" and not status.expanded and status.value == "pending"
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "MainScreen" and app.screen.filters == {"status": "pending"}
        await pilot.press("slash")
        await settle(app, pilot)
        app.screen.query_one("#clear").focus()
        await pilot.press("enter")                               # a button: enter presses it
        await settle(app, pilot)
        assert type(app.screen).__name__ == "MainScreen" and app.screen.filters == {}
        assert not [n for n in app._notifications if "Unexpected" in (n.title or "")]
