"""Previews (a generate template run with the render model: the prompt, not an answer) are shown, marked, and
kept out of review: no verdict on them, bulk actions leave them out."""

from __future__ import annotations

from studio.store import Store
from studio.tui.app import StudioApp
from tests.tui.conftest import make_samples, ready, screen_text, settle


def _session(ws):
    session = Store(ws.sessions_dir).create("prev")
    samples = make_samples(4)
    for s in samples[:2]:
        s.update(flag="preview", mode="generate")
    session.add_samples(samples)
    session.close()


async def test_previews_are_marked_and_never_reviewed(ws):
    _session(ws)
    app = StudioApp(ws, "prev")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        assert "⚑preview" in screen_text(app)
        await pilot.press("home", "a", "x")
        await settle(app, pilot)
        session = app.screen.session
        assert session.get(1)["status"] == "pending"
        assert any("is a prompt, not an answer" in n.message for n in app._notifications)
        await pilot.press("A")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert [session.get(i)["status"] for i in (1, 2, 3, 4)] == ["pending", "pending", "accepted", "accepted"]
        assert any("accepted 2 samples; left out: 2 previews" in n.message for n in app._notifications)
        await pilot.press("ctrl+q")
