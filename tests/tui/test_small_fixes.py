"""Issue 16 §4 "smaller, each seen by a new user": each one as a person meets it, through the real app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.tui.app import StudioApp
from tests.tui.conftest import ready, screen_text, settle

ROOT = Path(__file__).resolve().parents[2]


async def test_a_filter_that_matches_nothing_says_so(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("slash", *"no-such-words", "enter")
        await settle(app, pilot)
        text = screen_text(app)
        assert "no sample matches the filter (text=no-such-words)" in text
        assert "no samples yet" not in text
        await pilot.press("slash", "ctrl+u", "enter")  # cleared: every sample again
        await settle(app, pilot)
        assert "12 shown" in screen_text(app)


@pytest.mark.parametrize("key,screen", [("f6", "AnalysisScreen"), ("f7", "FeedbackScreen")])
async def test_f6_and_f7_work_while_the_editor_has_focus(seeded, key, screen):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen.focused is not None and app.screen.focused.id == "template-text"
        await pilot.press(key)
        await pilot.pause()
        assert type(app.screen).__name__ == screen


async def test_ctrl_s_saves_from_the_slots_pane(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f3", "ctrl+s")
        await settle(app, pilot)
        assert any("saved support-madlib.prompt as version" in n.message for n in app._notifications)


async def test_an_empty_slot_value_is_refused_in_the_slots_pane(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        before = app.screen.editor.text
        await pilot.press("f3", "down", "a")  # add a value to the first slot
        await pilot.press("enter")             # ... an empty one
        await settle(app, pilot)
        assert any("cannot be empty" in n.message for n in app._notifications)
        assert app.screen.editor.text == before


async def test_a_keymap_with_an_unknown_id_or_a_clash_says_so_and_uses_the_rest(seeded):
    (seeded.root / "keymap.yaml").write_text("review.acept: y\nreview.note: j\nreview.reject: r\n")
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        messages = " ".join(n.message for n in app._notifications)
        assert "unknown binding id 'review.acept' (did you mean review.accept?)" in messages
        assert "review.note: j is already review.next" in messages
        await pilot.press("home", "r")     # the good line is used
        await pilot.press("j")             # j still moves (the clashing line was left out)
        await settle(app, pilot)
        assert app.screen.stream.rows[1]["status"] == "rejected" and app.screen.stream.current_id == 2


def test_studio_open_without_a_terminal_exits_with_a_message(tmp_path):
    env = {**os.environ, "STUDIO_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "studio", "open", "x"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "needs a terminal" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "sessions" / "x.json").exists()


async def test_no_color_shows_checked_and_unchecked_boxes_differently(seeded, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = StudioApp(seeded)
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        line = next(li for li in screen_text(app).splitlines() if "Parquet" in li)
        assert "X" not in line.split("Parquet")[0]          # unchecked: an empty box
        app.screen.query_one("#parquet").value = True
        await pilot.pause()
        line = next(li for li in screen_text(app).splitlines() if "Parquet" in li)
        assert "X" in line.split("Parquet")[0]              # checked: an X, without colour


async def test_at_80x24_lint_problems_never_shrink_the_editor_to_a_line(ws):
    (ws.templates_dir / "broken.prompt").write_text(
        "---\nname: broken\nmode: generate\nslots:\n  topic: [a, b]\n---\nuser:\n"
        "Tell me about {{ topic }} and {{ missing_one }} and {{ missing_two }} and {{ missing_three }}.\n")
    app = StudioApp(ws, "lint", template="broken")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f2")
        await pilot.pause(0.5)
        area = app.screen.query_one("#template-text")
        assert "✗" in screen_text(app)                      # the problems are shown
        assert area.size.height >= 4, f"the editor has {area.size.height} lines"
