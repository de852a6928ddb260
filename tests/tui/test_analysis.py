"""The analysis and feedback screens (issue 6), driven with Pilot over a real session and the fake server."""

from __future__ import annotations

import json

import pytest

from studio.store import Store
from studio.tui.app import StudioApp
from tests.analysis.conftest import structuring_reply
from tests.analysis.planted import session_with_bad_value
from tests.tui.conftest import ready, screen_text, settle


@pytest.fixture
def planted(ws):
    store = Store(ws.sessions_dir)
    session = store.create("planted")
    samples = session_with_bad_value()
    for s in samples:
        s.pop("id")
    ids = session.add_samples(samples)
    session.close()
    return ws, ids


async def _wait(app, pilot, what: str, seconds: float = 30.0) -> str:
    for _ in range(int(seconds / 0.05)):
        await app.workers.wait_for_complete()
        await pilot.pause(0.05)
        text = screen_text(app)
        if what in text:
            return text
    notes = [n.message for n in app._notifications]
    raise AssertionError(f"{what!r} never showed:\n{notes}\n{screen_text(app)}")


async def test_f6_shows_the_planted_cause_and_escape_goes_back(planted):
    ws, _ = planted
    app = StudioApp(ws, "planted")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("f6")
        text = await _wait(app, pilot, "stand out")
        assert "slot.product=e-bike makes 59% of the rejected" in text
        assert "⚑" in text and "report · 2 flag(s)" in text
        await pilot.press("c")
        text = await _wait(app, pilot, "no template has two saved versions")
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "MainScreen"


async def test_v_verifies_the_shown_samples_and_d_lists_disagreements(planted, fake_env):
    ws, ids = planted
    fake_env.set(reply=lambda m: "VERDICT: incorrect")
    app = StudioApp(ws, "planted")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        app.screen.filters = {"status": "rejected"}
        await pilot.press("f6")
        await _wait(app, pilot, "stand out")
        await pilot.press("v")
        text = await _wait(app, pilot, "verifier vs the person")
        session = app.screen.session
        rejected = session.count(status="rejected")
        assert fake_env.count == rejected  # only the samples the main screen showed
        assert any(f"verified {rejected} sample(s): {rejected} incorrect" in n.message for n in app._notifications)
        assert "100%" in text.split("verifier vs the person", 1)[1]  # it agreed with every rejection
        await pilot.press("d")
        await _wait(app, pilot, "no disagreements")
        assert "sk-test" not in screen_text(app)


async def test_f7_imports_feedback_and_drafts_a_template(planted, fake_env, tmp_path):
    ws, _ = planted
    fake_env.set(reply=structuring_reply)
    f = tmp_path / "fb.jsonl"
    f.write_text("\n".join(json.dumps({"prompt": f"q{i}", "response": "r", "comment": "too wordy"})
                           for i in range(3)) + "\nnot json\n")
    app = StudioApp(ws, "planted")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("f7")
        await _wait(app, pilot, "no feedback yet")
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one("Input").value = str(f)
        await pilot.press("enter")
        text = await _wait(app, pilot, "3 feedback record(s) in 1 group(s)")
        assert "verbosity" in text
        assert any("1 bad row(s) skipped" in n.message and ":4:" in n.message for n in app._notifications)
        await pilot.press("d")
        await _wait(app, pilot, "3 feedback record(s)")
        for _ in range(100):
            if (ws.templates_dir / "concise-answers.prompt").exists():
                break
            await pilot.pause(0.05)
        assert "q2" in (ws.templates_dir / "concise-answers.prompt").read_text()


async def test_c_compares_the_last_two_versions_on_the_same_fills(ws):
    session = Store(ws.sessions_dir).create("versions")
    old = session.save_template_version("explain", "---\nname: explain\n---\nExplain {{ x }}.\n")
    new = session.save_template_version("explain", "---\nname: explain\n---\nExplain {{ x }} briefly.\n")
    rows = []
    for i in range(4):
        for version in (old, new):
            rows.append({"template": "explain", "template_version": version, "fill_key": f"{i:012x}",
                         "slots": {"x": str(i)}, "output": "o", "messages": [{"role": "user", "content": "p"}]})
    ids = session.add_samples(rows)
    for sid, row in zip(ids, rows):
        session.set_status(sid, "rejected" if row["template_version"] == old or row["fill_key"].endswith("3")
                           else "accepted")
    session.close()
    app = StudioApp(ws, "versions")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("f6")
        await _wait(app, pilot, "no value stands out")
        await pilot.press("c")
        text = await _wait(app, pilot, "on the same 4 fill(s)")
        assert "3 fixed" in text and "0 broken" in text
        assert "+Explain {{ x }} briefly." in text and "-Explain {{ x }}." in text


async def test_f7_a_keystroke_per_category_corrects_a_signal_and_s_structures_again(planted, tmp_path):
    ws, _ = planted
    f = tmp_path / "reviews.txt"
    f.write_text("way too long, stop writing essays\nway too long, stop writing essays\nqwerty [b]uiop[/b]\n")
    app = StudioApp(ws, "planted")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("f7")
        await _wait(app, pilot, "no feedback yet")
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one("Input").value = str(f)
        await pilot.press("enter")
        text = await _wait(app, pilot, "3 feedback record(s) in 2 group(s)")
        assert '"way too long, stop writing essays" ×2' in text and "neg 2" in text
        await pilot.press("3")                                  # on the groups table: no correction
        await pilot.pause()
        session = app.screen.session
        assert all(r.get("structured_by") != "hand" for r in session.feedback())
        await pilot.press("tab")
        await pilot.press("3")                                  # tone, by hand, on the first record
        text = await _wait(app, pilot, "in 3 group(s)")
        recs = {r["id"]: r for r in session.feedback()}
        assert recs[1]["category"] == "tone" and recs[1]["structured_by"] == "hand"
        assert recs[2]["category"] == "verbosity"
        await pilot.press("s")                                   # no real model here: the rules again
        for _ in range(100):
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
            if any("structured again (offline rules): 1 unstructured" in n.message for n in app._notifications):
                break
        else:
            raise AssertionError([n.message for n in app._notifications])
        assert session.feedback()[2]["status"] == "unstructured" and session.feedback()[2].get("restructured")
        assert "qwerty [b]uiop[/b]" in screen_text(app)              # data, never markup
