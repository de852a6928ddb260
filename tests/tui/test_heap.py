"""The studio keeps its long-lived heap out of the cyclic GC's passes (core.bulk.freeze_heap): once the session
is loaded and once its text index is built. A full collection walked those objects again and again, holding the
GIL 100-400 ms while a key's frame waited (bench/review.py on 100,000 samples). When the studio leaves, they are
given back to the collector (thaw_heap), so nothing stays frozen in the process."""

from __future__ import annotations

import gc

from studio.tui.app import StudioApp
from tests.tui.conftest import ready, settle
from tests.tui.test_review import reopen


async def test_the_loaded_session_is_frozen_out_of_gc_passes_and_thawed_when_the_studio_leaves(seeded):
    gc.unfreeze()
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        assert gc.get_freeze_count() > 0
        for _ in range(200):                       # the text index is built in the background, then frozen too
            if app.screen.session.text_index_ready:
                break
            await pilot.pause(0.02)
        assert app.screen.session.text_index_ready
        await pilot.press("f4", "home", "x", "j", "a")   # keys work as ever
        await settle(app, pilot)
        await pilot.press("ctrl+q")
    assert gc.get_freeze_count() == 0
    session = reopen(seeded)
    assert [session.get(i)["status"] for i in (1, 2)] == ["rejected", "accepted"]
    session.close()
