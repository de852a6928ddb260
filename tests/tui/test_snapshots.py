"""Snapshots of the main screen (80×24 and 160×48) and the help screen; deterministic: fixed samples, no clocks."""

from __future__ import annotations

import pytest

from studio.tui.app import StudioApp
from tests.tui.conftest import ready, settle  # noqa: F401 (varied is a fixture)


async def reviewed(pilot) -> None:
    """A few decisions made, so every state shows: accepted, rejected with tags, pending."""
    app = pilot.app
    await ready(app, pilot)
    await settle(app, pilot)
    await pilot.press("home", "space", "x", "1", "3", "j", "space")
    await pilot.press("k")
    await settle(app, pilot)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen(seeded, snap_compare, size):
    assert snap_compare(StudioApp(seeded), terminal_size=size, run_before=reviewed)


def test_help_screen(seeded, snap_compare):
    async def open_help(pilot) -> None:
        await reviewed(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(StudioApp(seeded), terminal_size=(80, 24), run_before=open_help)


async def reading(pilot) -> None:
    """The review layout on a long output (scrolled once), then on a flagged sample's row below it."""
    app = pilot.app
    await ready(app, pilot)
    await settle(app, pilot)
    await pilot.press("home", "x", "1", "k")  # reject #1 with a tag; stay on it
    await pilot.press("J")
    await settle(app, pilot)


@pytest.mark.parametrize("no_color", [False, True], ids=["color", "NO_COLOR"])
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_review_layout(varied, snap_compare, size, no_color, monkeypatch):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(StudioApp(varied), terminal_size=size, run_before=reading)


def test_review_layout_flagged_sample(varied, snap_compare):
    async def flagged(pilot) -> None:
        await ready(pilot.app, pilot)
        await settle(pilot.app, pilot)
        await pilot.press("home", "j", "j")
        await settle(pilot.app, pilot)

    assert snap_compare(StudioApp(varied), terminal_size=(80, 24), run_before=flagged)


@pytest.fixture
def timeline(ws):
    """A session with a history (two versions over two sittings, a planted bad value, costs)."""
    from studio.store import Store
    from tests.analysis.timeline import timeline_samples

    session = Store(ws.sessions_dir).create("timeline")
    session.add_samples(timeline_samples())
    session.close()
    return ws


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_analysis_screen_with_pictures(timeline, snap_compare, size):
    async def open_analysis(pilot) -> None:
        app = pilot.app
        await ready(app, pilot)
        await pilot.press("f6")
        for _ in range(400):
            await app.workers.wait_for_complete()
            await pilot.pause(0.02)
            if "report ·" in str(app.screen.query_one("#analysis-state").render()):
                break
        await pilot.pause()

    assert snap_compare(StudioApp(timeline, "timeline"), terminal_size=size, run_before=open_analysis)


def test_filter_dialog_with_the_flag_list_open(seeded, snap_compare):
    """80×24: the open list is framed, inside the dialog, one line per flag (they wrapped, unframed, over the
    fields below and read as more fields)."""
    async def flag_list(pilot) -> None:
        await reviewed(pilot)
        await pilot.press("slash")
        await pilot.pause()
        pilot.app.screen.query_one("#flag").focus()
        await pilot.press("space")                 # opens the list (enter applies the filter)
        await pilot.pause(0.1)

    assert snap_compare(StudioApp(seeded), terminal_size=(80, 24), run_before=flag_list)


def test_export_dialog_with_flagged_samples(flagged, snap_compare):
    """80×24: the flagged field (leave out / keep all / only one flag, as `studio export` takes them) beside the
    checkboxes, and the preview saying how many flagged samples are left out and how to keep them."""
    async def export_dialog(pilot) -> None:
        from textual.widgets import Input

        app = pilot.app
        await ready(app, pilot)
        await pilot.press("ctrl+o")
        app.screen.query_one("#path", Input).value = "exports/flags"     # not the test's temporary folder
        app.screen.query_one("#flagged").focus()                          # no blinking text cursor
        for _ in range(3):
            await pilot.pause(0.4)                                        # past the re-plan debounce
            await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(StudioApp(flagged, "flags"), terminal_size=(80, 24), run_before=export_dialog)
