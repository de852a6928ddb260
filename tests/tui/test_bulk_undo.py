"""`u` after a bulk accept/reject repaints at once (bench/review.py measured 2.3 s on 20,000 samples: the
screen waited for the store's undo of every sample). The rows on hand and the status bar are undone as the key
is handled; the store's undo lands later and the screen is then checked against it (0 mismatches)."""

from __future__ import annotations

import threading

from studio.tui.app import StudioApp
from tests.tui.conftest import ready, screen_text, settle
from tests.tui.screencheck import COUNTS, mismatches, rows


async def test_undo_of_a_bulk_action_shows_at_once_then_matches_the_store(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f4", "home", "a")          # one accepted before the bulk action
        await settle(app, pilot)
        await pilot.press("X")
        await settle(app, pilot)
        await pilot.press("y")                        # reject all 12
        await settle(app, pilot)
        assert {r["status"] for r in rows(screen_text(app).splitlines())} == {"rejected"}

        screen = app.screen
        hold = threading.Event()
        screen.io.submit(hold.wait, 10)               # the session thread is busy (a long write): nothing lands
        await pilot.press("u")
        await pilot.pause()
        text = screen_text(app)
        shown = rows(text.splitlines())
        assert shown and {r["status"] for r in shown if r["id"] != 1} == {"pending"}, text
        assert [r["status"] for r in shown if r["id"] == 1] in ([], ["accepted"])
        counts = COUNTS.search(text)
        assert counts and (counts["accepted"], counts["rejected"], counts["pending"]) == ("1", "0", "11"), text

        hold.set()                                    # the store's undo lands: the screen is what it holds
        await settle(app, pilot)
        session = screen.session
        assert mismatches(screen_text(app).splitlines(), session.get, session.counts()["status"], session.labels,
                          screen.stream.current_id) == []
        assert session.counts()["status"]["rejected"] == 0


async def test_undo_after_a_later_key_is_not_taken_for_the_bulk_undo(seeded):
    """A verdict after the bulk action is the step `u` undoes: only that sample changes back."""
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f4", "X")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        await pilot.press("home", "a", "u")
        await settle(app, pilot)
        screen, session = app.screen, app.screen.session
        assert session.counts()["status"]["rejected"] == 12
        assert mismatches(screen_text(app).splitlines(), session.get, session.counts()["status"], session.labels,
                          screen.stream.current_id) == []
