"""The studio's fast paths give the true answer (issue 16, "Done means": every key's frame in 50 ms).

A text filter is answered from the studio's word index (studio.store.textindex), a bulk action changes the
rows on hand and the counts before the store writes them, and the filter dialog is kept between opens: each
is checked here against the store read afresh, and the list against the filter's own definition (a
case-insensitive substring of a sample's text, computed here from the samples), for needles of every kind
and after samples arrive, notes change and undo — so a fast wrong answer fails.
"""

from __future__ import annotations

import threading

from studio.tui.app import StudioApp
from studio.tui.messages import SamplesAdded
from tests.store.test_text_index import reference
from tests.tui.conftest import make_samples, ready, screen_text, settle
from tests.tui.screencheck import mismatches
from tests.tui.test_review_random import _long


async def _indexed(app, pilot):
    screen = app.screen
    for _ in range(300):
        if screen.session._text is not None:
            return screen
        await pilot.pause(0.02)
    raise AssertionError("the studio never built its text index")


async def _filter(app, pilot, text: str) -> None:
    await pilot.press("slash")
    await pilot.pause()
    await pilot.press("ctrl+u", *text, "enter")
    await settle(app, pilot)


async def _same(app, pilot, screen, text: str, what: str) -> None:
    session = screen.session
    text = text.strip()                   # as the dialog applies it
    assert (screen.filters.get("text") or "") == text
    want = reference(session, text)
    assert screen.stream.ids == want, f"{what}: text={text!r} shows {screen.stream.ids[:20]}…, the samples " \
                                      f"holding it are {want[:20]}…"
    lines = screen_text(app).splitlines()
    shown = f"{len(want):,} shown · filter text={text}" if text else f"{len(want):,} shown · all"
    assert any(shown in line for line in lines), f"{what}: no {shown!r} on screen"
    assert not mismatches(lines, session.get, session.counts()["status"], session.labels, screen.stream.current_id)


NEEDLES = ["pebble", "PEBBLE WATCH", "customer 4", "customer 4,", "ebble wat", "nimbus", " router", "router.",
           "is customer", "nothing at all", "Aria", "you're", "customer 1"]


async def test_text_filters_show_exactly_the_matching_samples_as_they_change(ws):
    app = StudioApp(_long(ws))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        screen = await _indexed(app, pilot)
        for text in NEEDLES:
            await _filter(app, pilot, text)
            await _same(app, pilot, screen, text, "built")
        # samples arrive (the word only in them), a note is written with a key, then undone
        ids = screen.session.add_samples([{**s, "output": f"A Quokka reply {i}"} for i, s in
                                          enumerate(make_samples(3, start=500))])
        screen.post_message(SamplesAdded(ids))
        await settle(app, pilot)
        await _filter(app, pilot, "quokka")
        await _same(app, pilot, screen, "quokka", "after new samples")
        await _filter(app, pilot, "")
        await pilot.press("home", "n", "ctrl+u", *"Wombat noted", "enter")
        await settle(app, pilot)
        await _filter(app, pilot, "wombat")
        await _same(app, pilot, screen, "wombat", "after a note")
        assert len(screen.stream.ids) == 1
        await pilot.press("u")
        await settle(app, pilot)
        await _filter(app, pilot, "wombat")
        await _same(app, pilot, screen, "wombat", "after the note's undo")
        assert screen.stream.ids == [] and "no sample matches the filter" in screen_text(app)
        await _filter(app, pilot, "")
        await _same(app, pilot, screen, "", "cleared")
        await pilot.press("ctrl+q")


async def test_the_kept_filter_dialog_shows_the_filter_in_force_each_time(ws):
    """The dialog is composed once and filled again at each open: what it shows is what is applied."""
    app = StudioApp(_long(ws))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        screen = app.screen
        for text in ("Pebble", "", "Aria phone"):
            await _filter(app, pilot, text)
            await pilot.press("slash")
            await pilot.pause()
            dialog = app.screen
            assert type(dialog).__name__ == "FilterScreen"
            assert dialog.query_one("#text").value == text
            assert dialog.query_one("#text").cursor_position == len(text)
            assert dialog.query_one("#text").has_focus
            await pilot.press("escape")
            await settle(app, pilot)
            assert screen.filters == ({"text": text} if text else {})
        # a status picked, then a reopen shows it, and clearing clears it
        screen.filters = {"status": "pending", "text": "watch"}
        await pilot.press("slash")
        await pilot.pause()
        assert app.screen.query_one("#status").value == "pending"
        await pilot.press("ctrl+u", "enter")
        await settle(app, pilot)
        assert screen.filters == {"status": "pending"}
        assert screen.stream.ids == screen.session.ids(status="pending")
        await pilot.press("ctrl+q")


async def test_a_bulk_action_shows_its_result_at_once_and_the_store_follows(ws):
    app = StudioApp(_long(ws))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        screen = app.screen
        await pilot.press("home", "x", "j", "a")
        await settle(app, pilot)
        await _filter(app, pilot, "pebble")
        await pilot.press("A")
        await settle(app, pilot)
        await pilot.press("y")
        await pilot.pause()
        # the frame after y: every row shown and the counts as they will be, before the write may have run
        shown = {sid: screen.stream.rows[sid]["status"] for sid in screen.stream.ids if sid in screen.stream.rows}
        assert set(shown.values()) == {"accepted"}, shown
        expect = dict(screen.counts)
        await settle(app, pilot)
        session = screen.session
        assert {session.get(sid)["status"] for sid in screen.stream.ids} == {"accepted"}
        counts = session.counts()["status"]
        assert {k: v for k, v in counts.items() if v} == {k: v for k, v in expect.items() if v}
        lines = screen_text(app).splitlines()
        assert not mismatches(lines, session.get, counts, session.labels, screen.stream.current_id)
        await pilot.press("ctrl+q")


async def test_a_filter_read_at_once_never_misses_a_write_still_queued(ws):
    """A filter's list is read in the key's own frame only when the store has every write asked for: a reject
    still queued must be in a status=rejected list, a tag in a tag list, a note in a text list."""
    app = StudioApp(_long(ws))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        screen = await _indexed(app, pilot)
        label = screen.labels[0]
        for keys, filters in ((["home", "x"], {"status": "rejected"}), (["j", "1"], {"tag": label}),
                              (["j", "a"], {"status": "accepted"})):
            gate = threading.Event()
            screen.io.submit(gate.wait, 10)       # the session thread busy: the key's write waits in the queue
            await pilot.press(*keys)
            sid = screen.stream.current_id
            screen.filters = filters
            screen._reload_ids()                  # as the filter dialog's enter does
            gate.set()
            await settle(app, pilot)
            assert sid in screen.stream.ids, f"#{sid} missing from the {filters} list after {keys}"
            assert screen.stream.ids == screen.session.ids(**filters)
            screen.filters = {}
            screen._reload_ids()
            await settle(app, pilot)
        await pilot.press("ctrl+q")
