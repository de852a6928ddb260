"""Reading what you judge (issue 16 §1): at 80×24 the selected sample's text is on screen with the review
keys, a long output scrolls inside its pane, the prompt is one key away, the detail screen takes every
review key, structured samples show indented JSON, a flagged sample says so on its first line."""

from __future__ import annotations

from studio.tui.app import StudioApp
from tests.tui.conftest import ready, screen_text, settle


async def shows(app, pilot, *texts: str) -> str:
    """The screen once every text is on it (a re-laid-out dialog can take a frame or two), or as it is."""
    await settle(app, pilot)
    for _ in range(50):
        text = screen_text(app)
        if all(t in text for t in texts):
            break
        await pilot.pause(0.02)
    return text


async def test_the_selected_output_is_readable_at_80x24_and_scrolls_in_its_pane(varied):
    app = StudioApp(varied)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("home")
        await settle(app, pilot)
        text = screen_text(app)
        assert "paragraph 0: the answer goes on" in text      # the output itself, not just tags and slots
        assert "paragraph 39" not in text
        assert "output 1–" in text and "of 40" in text          # where you are in it, and how to move
        for _ in range(8):
            await pilot.press("J")
        await pilot.pause()
        text = screen_text(app)
        assert "paragraph 39: the answer goes on" in text and "paragraph 2:" not in text
        await pilot.press("K")
        await pilot.pause()
        assert "paragraph 39:" not in screen_text(app)
        await pilot.press("p")                                  # the prompt, one key away
        await pilot.pause()
        text = screen_text(app)
        assert "user: Hi, this is customer 0." in text and "prompt p output" in text
        await pilot.press("x")                                  # review keys still work while reading
        await settle(app, pilot)
        assert app.screen.session.get(1)["status"] == "rejected"
        await pilot.press("j")                                  # the next sample starts at its top
        await pilot.pause()
        assert "#2 · pending" in screen_text(app)


async def test_structured_flagged_failed_and_markup_samples_read_right(varied):
    app = StudioApp(varied)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("home", "j")
        await settle(app, pilot)
        text = screen_text(app)
        assert '"category": "verbosity",' in text and '"severity": "high"' in text   # indented JSON
        await pilot.press("j")
        await pilot.pause()
        first = next(line for line in screen_text(app).splitlines() if "#3 " in line)
        assert "⚑ cut-off" in first                             # the flag on the first line
        assert "⚑cut-off" in screen_text(app)                   # and on its row
        await pilot.press("j")
        await pilot.pause()
        assert "error: HTTP 500 from the provider" in screen_text(app)
        await pilot.press("j")
        await pilot.pause()
        assert "[bold]not markup[/bold] [link=x]y[/link]" in screen_text(app)


async def test_the_detail_screen_takes_every_review_key(varied):
    app = StudioApp(varied)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("home", "enter")
        await settle(app, pilot)
        assert "sample #1" in screen_text(app)
        await pilot.press("x", "1", "2")                        # reject and tag #1 from the detail screen
        text = await shows(app, pilot, "sample #1  ✗ rejected", "1[x]", "2[x]")
        assert "sample #1  ✗ rejected" in text and "1[x]" in text and "2[x]" in text
        await pilot.press("j")                                  # next sample, still in the detail screen
        assert "sample #2" in await shows(app, pilot, "sample #2")
        await pilot.press("space")                              # accept #2 and go on to #3
        text = await shows(app, pilot, "sample #3", "⚑ cut-off")
        assert "sample #3" in text and "⚑ cut-off" in text
        await pilot.press("k", "u")                             # back to #2, undo its accept
        assert "sample #2  · pending" in await shows(app, pilot, "sample #2  · pending")
        await pilot.press("n", *"cut", "enter")                 # a note from the detail screen
        assert "note: cut" in await shows(app, pilot, "note: cut")
        await pilot.press("escape")
        await settle(app, pilot)
        session = app.screen.session
        labels = session.labels
        assert session.get(1)["status"] == "rejected" and session.get(1)["tags"] == labels[:2]
        assert session.get(2)["status"] == "pending" and session.get(2)["note"] == "cut"
        assert app.screen.stream.current_id == 2


async def test_reviewing_at_80_columns_gives_the_screen_to_the_text_and_f2_brings_the_template_back(varied):
    app = StudioApp(varied)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        assert app.screen.has_class("-reviewing") and app.screen.query_one("#editor").display is not False
        assert "template support-madlib" not in screen_text(app)
        await pilot.press("f2")
        await pilot.pause()
        assert "template support-madlib" in screen_text(app) and not app.screen.has_class("-reviewing")
        await pilot.press("f4")
        await pilot.pause()
        assert app.screen.has_class("-reviewing")


async def test_an_empty_session_opens_on_the_template(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        assert not app.screen.has_class("-reviewing")
        assert "no samples yet" in screen_text(app)


async def test_many_slot_values_and_persona_attributes_leave_the_output_its_room_at_80x24(ws):
    """A persona sample's slots and attributes took 5 of the pane's 11 lines and left 3 of output (a tryout):
    they take 2 lines at 80x24, the second ending in … (the detail screen shows them all), 4 when taller."""
    from studio.store import Store
    from tests.tui.conftest import long_text, make_samples

    session = Store(ws.sessions_dir).create("personas")
    sample = make_samples(1)[0]
    sample["slots"] = {f"slot{i}": f"a fairly long value number {i}" for i in range(8)}
    sample["persona"] = {"text": "a nurse", "region": "a small town in the north of the country",
                         "age": "in her fifties", "job": "night-shift nurse at the county hospital"}
    sample["output"] = long_text(40)
    session.add_samples([sample])
    session.close()
    for size, most in (((80, 24), 2), ((160, 48), 4)):
        app = StudioApp(ws, "personas")
        async with app.run_test(size=size) as pilot:
            await ready(app, pilot)
            await pilot.press("home")
            await settle(app, pilot)
            pane = app.screen.tagger
            lines = [str(line) for line in pane._lay_out().split("\n")]
            slot_lines = [line for line in lines if "slot" in line or "persona" in line or "value number" in line]
            assert 1 <= len(slot_lines) <= most and slot_lines[-1].rstrip().endswith("…"), lines
            body = [line for line in lines if "paragraph" in line]
            assert len(body) >= (5 if size == (80, 24) else 15), lines   # the output keeps the pane
