"""Reviewing samples with keys: verdicts, tags, notes, undo, detail, filters, bulk; decisions persist."""

from __future__ import annotations

from studio.store import Store
from studio.tui.app import StudioApp
from tests.tui.conftest import ready, screen_text, settle


def reopen(ws):
    return Store(ws.sessions_dir).open("review", read_only=True)


async def test_studio_opens_the_most_recent_session_with_its_samples(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        text = screen_text(app)
        assert "studio · review" in text
        assert "12 shown" in text
        assert "· pending" in text  # state as glyph + word, not colour


async def test_accept_and_next_reject_tag_note_persist_after_quit(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("home")
        await pilot.press("space", "space")  # accept 1 and 2, land on 3
        await pilot.press("x", "1", "3")  # reject 3, tag it with labels 1 and 3
        await pilot.press("n")
        await pilot.press(*"too formal", "enter")
        await settle(app, pilot)
        assert "✗ rejected" in screen_text(app)
        await pilot.press("ctrl+q")
    session = reopen(seeded)
    labels = session.labels
    assert [session.get(i)["status"] for i in (1, 2, 3, 4)] == ["accepted", "accepted", "rejected", "pending"]
    assert session.get(3)["tags"] == [labels[0], labels[2]]
    assert session.get(3)["note"] == "too formal"
    session.close()


async def test_undo_reverts_the_last_decision(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("home", "a", "j", "x", "u")
        await settle(app, pilot)
        screen = app.screen
        assert screen.stream.rows[2]["status"] == "pending"
        assert screen.stream.current_id == 2
        await pilot.press("ctrl+q")
    session = reopen(seeded)
    assert session.get(1)["status"] == "accepted" and session.get(2)["status"] == "pending"
    session.close()


async def test_detail_view_shows_prompt_output_and_slots(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("home", "enter")
        await settle(app, pilot)
        text = screen_text(app)
        assert "sample #1" in text and "── prompt" in text and "customer: customer 0" in text
        await pilot.press("escape")
        assert "sample #1" not in screen_text(app)


async def test_filter_by_status_then_bulk_accept_asks_first(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("home", "x", "j", "x")  # samples 1, 2 rejected
        await settle(app, pilot)
        app.screen.filters = {"status": "pending"}
        app.screen._reload_ids()
        await settle(app, pilot)
        assert len(app.screen.stream.ids) == 10
        await pilot.press("A")
        assert "as accepted?" in screen_text(app)
        await pilot.press("n")  # declined: nothing changes
        await settle(app, pilot)
        await pilot.press("A", "y")
        await settle(app, pilot)
        await pilot.press("ctrl+q")
    session = reopen(seeded)
    assert session.counts()["status"].get("accepted") == 10
    assert session.counts()["status"].get("rejected") == 2
    session.close()


async def test_filter_dialog_applies_text_filter(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("slash")
        await pilot.press(*"Pebble", "enter")
        await settle(app, pilot)
        assert len(app.screen.stream.ids) == 4
        assert "filter text=Pebble" in screen_text(app)


async def test_tag_labels_are_editable(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("L", "ctrl+u")
        await pilot.press(*"too-wordy, one-sided", "enter")
        await pilot.press("home", "2")
        await settle(app, pilot)
        assert "2[x]one-sided" in screen_text(app)
        await pilot.press("9")  # no label 9 now: a warning, not a crash
        await pilot.press("ctrl+q")
    session = reopen(seeded)
    assert session.labels == ["too-wordy", "one-sided"]
    assert session.get(1)["tags"] == ["one-sided"]
    session.close()


async def test_new_samples_append_without_moving_a_reader(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        stream = app.screen.stream
        await pilot.press("home")
        stream.append_ids([13, 14])
        assert stream.current_id == 1  # reading sample 1: stays there
        await pilot.press("end")
        stream.append_ids([15])
        assert stream.current_id == 15  # at the newest: follows


async def test_generate_in_render_mode_streams_samples_then_tag_and_keep(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        assert type(app.screen).__name__ == "GenerateScreen"
        await pilot.press(*"5", "enter")
        await settle(app, pilot)
        screen = app.screen
        assert len(screen.stream.ids) == 5
        assert screen.status.run.get("done") == 5
        assert "idle 0/5/0" in screen_text(app)  # in flight / done / failed, compact at 80 columns
        await pilot.press("home", "space", "x")
        await settle(app, pilot)
        await pilot.press("ctrl+q")
    session = Store(ws.sessions_dir).open("demo", read_only=True)
    assert [session.get(i)["status"] for i in (1, 2, 3)] == ["accepted", "rejected", "pending"]
    assert session.get(1)["template"] == "support-madlib" and session.get(1)["model"] == "render"
    session.close()
