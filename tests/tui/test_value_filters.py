"""Issue 16 §4: filter the stream by a slot value or persona attribute (from the filter dialog and from the
analysis screen), bulk tag what is shown, and each value's count and accept rate in the slots pane."""

from __future__ import annotations

import pytest

from studio.store import Store
from studio.tui.app import StudioApp
from studio.tui.values import parse_value_filter, value_filter_text, value_stats
from tests.tui.conftest import make_samples, ready, screen_text, settle


@pytest.fixture
def people(ws):
    """12 samples over the shipped template's own values: customer Ana ×4 (3 rejected), Ben ×4, Chidi ×4;
    personas with an age band."""
    store = Store(ws.sessions_dir)
    session = store.create("review")
    version = session.save_template_version("support-madlib",
                                            (ws.templates_dir / "support-madlib.prompt").read_text())
    samples = make_samples(12, version=version)
    for i, s in enumerate(samples):
        s["slots"] = {"customer": ["Ana", "Ben", "Chidi"][i % 3], "product": "the Aria phone",
                      "issue": "it drops the connection every few minutes"}   # a value of the data-file slot
        s["persona"] = {"age_band": "teen" if i % 2 else "adult", "text": "a person"}
    ids = session.add_samples(samples)
    for sid in ids[0:9:3][:3]:
        session.reject(sid)        # Ana: #1, #4, #7 rejected
    session.accept(ids[10])        # Ben: #11 accepted
    session.close()
    return ws


@pytest.mark.parametrize("text,want", [("customer=Ana", {"slot": ("customer", "Ana")}),
                                       ("persona.age_band=teen", {"persona": ("age_band", "teen")}),
                                       (" audience = a ten-year-old ", {"slot": ("audience", "a ten-year-old")}),
                                       ("", {})])
def test_value_filters_read_and_write_back(text, want):
    assert parse_value_filter(text) == want
    assert parse_value_filter(value_filter_text(want)) == want


@pytest.mark.parametrize("text", ["customer", "=Ana"])
def test_a_value_filter_without_a_name_and_value_says_how(text):
    with pytest.raises(ValueError, match="slot=value"):
        parse_value_filter(text)


def test_value_stats_count_from_the_index_worst_first(people):
    session = Store(people.sessions_dir).open("review", read_only=True)
    stats = {v.label: v for v in value_stats(session)}
    assert stats["customer=Ana"].samples == 4 and stats["customer=Ana"].rate == "0%"
    assert stats["customer=Ben"].rate == "100%" and stats["customer=Chidi"].rate == "–"
    assert stats["persona.age_band=teen"].samples == 6
    worst = value_stats(session)  # worst accept rate first, then the more samples
    assert [v.label for v in worst[:2]] == ["persona.age_band=teen", "customer=Ana"]
    session.close()


async def test_filter_dialog_takes_a_slot_value_and_a_persona_attribute(people):
    app = StudioApp(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("slash", "tab")  # text field → value field? the value field is before text
        app.screen.query_one("#value").focus()
        await pilot.press(*"customer=Ana", "enter")
        await settle(app, pilot)
        assert app.screen.stream.ids == [1, 4, 7, 10]
        assert "filter customer=Ana" in screen_text(app)
        await pilot.press("slash")
        app.screen.query_one("#value").focus()
        await pilot.press("ctrl+u", *"persona.age_band=teen", "enter")
        await settle(app, pilot)
        assert app.screen.stream.ids == [2, 4, 6, 8, 10, 12]


async def test_the_analysis_screen_shows_the_samples_with_a_value(people):
    app = StudioApp(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        for _ in range(50):
            if "customer=Ana · 4 samples · accept 0%" in screen_text(app):
                break
            await pilot.pause(0.05)
        assert "customer=Ana · 4 samples · accept 0%" in screen_text(app)
        await pilot.press("down", "enter")  # the second worst: customer=Ana
        await settle(app, pilot)
        assert type(app.screen).__name__ == "MainScreen"
        assert app.screen.stream.ids == [1, 4, 7, 10] and "filter customer=Ana" in screen_text(app)


async def test_bulk_tag_tags_what_is_shown_and_undo_takes_it_back(people):
    app = StudioApp(people)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        screen = app.screen
        screen.filters = {"slot": ("customer", "Ana")}
        screen._reload_ids()
        await settle(app, pilot)
        await pilot.press("T", "2", "enter")
        await settle(app, pilot)
        label = screen.session.labels[1]
        assert all(label in screen.session.get(i)["tags"] for i in (1, 4, 7, 10))
        assert not any(screen.session.get(i)["tags"] for i in (2, 3))
        assert f"[{label}]" in screen_text(app)
        await pilot.press("u")
        await settle(app, pilot)
        assert not any(screen.session.get(i)["tags"] for i in (1, 4, 7, 10))
        assert f"[{label}]" not in screen_text(app)
        third = screen.session.labels[2]
        await pilot.press("T", *third.upper(), "enter")      # its name works as well as its number
        await settle(app, pilot)
        assert all(third in screen.session.get(i)["tags"] for i in (1, 4, 7, 10))
        await pilot.press("T", *"no-such-tag", "enter")
        await settle(app, pilot)
        assert any("'no-such-tag' is not a tag — type its number" in n.message for n in app._notifications)


async def test_the_slots_pane_shows_each_values_count_and_accept_rate(people):
    app = StudioApp(people)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        for _ in range(100):
            if "Ana  · 4 samples, accept 0%" in screen_text(app):
                break
            await pilot.pause(0.05)
        text = screen_text(app)
        assert "Ana  · 4 samples, accept 0%" in text and "Ben  · 4 samples, accept 100%" in text
        assert "Dana  ·" not in text  # a value no sample used has no figures
        # a data-file slot's values too (support-issues.txt): all 12 samples used its first line
        from studio.tui.widgets.slots import SlotTree

        issue = next(n for n in app.screen.query_one(SlotTree).root.children if n.data == ("issue", None))
        leaves = [str(leaf.label) for leaf in issue.children]
        assert leaves[0] == "it drops the connection every few minutes  · 12 samples, accept 25%", leaves[:2]
        assert "  · " not in leaves[1]
