"""Bulk accept/reject says exactly what will change (new user's report: with 4 previews in view `X` asked
"Reject 8" and toasted "rejected 4"; with one sample already rejected it asked 4 and toasted 3). The store counts
the samples first; the question and the toast both count only the samples that change, and say how many are left
out and why (previews are prompts, not answers; samples already so). The store is checked after each case."""

from __future__ import annotations

import pytest

from studio.store import Store
from studio.tui.app import StudioApp
from studio.tui.screens.confirm import ConfirmScreen
from tests.tui.conftest import make_samples, ready, settle

# (previews, already rejected, already accepted, key) -> (question's count, left out text or None)
CASES = [
    ((0, 0, 0, "X"), (12, None)),
    ((4, 0, 0, "X"), (8, "4 previews (prompts, not answers: not reviewed)")),
    ((0, 1, 0, "X"), (11, "1 already rejected")),
    ((4, 2, 1, "X"), (6, "4 previews (prompts, not answers: not reviewed) and 2 already rejected")),
    ((4, 2, 1, "A"), (7, "4 previews (prompts, not answers: not reviewed) and 1 already accepted")),
    ((1, 0, 3, "A"), (8, "1 preview (prompts, not answers: not reviewed) and 3 already accepted")),
]


def _session(ws, previews: int, rejected: int, accepted: int) -> None:
    samples = make_samples(12)
    for s in samples[:previews]:
        s["flag"] = "preview"
    for s in samples[previews: previews + rejected]:
        s["status"] = "rejected"
    for s in samples[previews + rejected: previews + rejected + accepted]:
        s["status"] = "accepted"
    session = Store(ws.sessions_dir).create("review")
    session.add_samples(samples)
    session.close()


@pytest.mark.parametrize("setup,want", CASES, ids=[" ".join(map(str, c[0])) for c in CASES])
async def test_the_question_and_the_toast_count_what_changes(ws, setup, want):
    previews, rejected, accepted, key = setup
    count, left_out = want
    status, word = ("rejected", "Reject") if key == "X" else ("accepted", "Accept")
    _session(ws, previews, rejected, accepted)
    app = StudioApp(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        session = app.screen.session
        before = session.counts()["status"].get(status, 0)
        await pilot.press(key)
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert dialog.yes == f"{word} {count}"
        assert f"Mark {count} of the 12 samples in the session as {status}?" in dialog.question
        assert (f"Left out: {left_out}." in dialog.question) if left_out else "Left out" not in dialog.question
        await pilot.press("y")
        await settle(app, pilot)
        assert session.counts()["status"][status] == before + count
        toasts = [n.message for n in app._notifications]
        plural = "s" if count != 1 else ""
        assert f"{word.lower()}ed {count} sample{plural}" + (f"; left out: {left_out}" if left_out else "") in toasts
        assert all(session.get(i)["status"] == "pending" for i in session.ids(flag="preview"))
        await pilot.press("ctrl+q")


async def test_nothing_to_change_says_so_without_a_question(ws):
    _session(ws, 2, 10, 0)
    app = StudioApp(ws)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("X")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert ("nothing to reject: of the 12 samples in the session, 2 previews (prompts, not answers: not "
                "reviewed) and 10 already rejected") in [n.message for n in app._notifications]
        await pilot.press("ctrl+q")
