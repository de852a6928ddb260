"""A `studio run` from another shell while the studio holds the session: the samples arrive on screen."""

from __future__ import annotations

import os
import subprocess
import sys

from studio.tui.app import StudioApp
from tests.tui.conftest import ready, settle


async def test_a_run_in_another_process_adds_to_the_open_session_and_shows_up(seeded, fake_llm):
    app = StudioApp(seeded, "review")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        assert len(app.screen.stream.ids) == 12
        env = {**os.environ, "STUDIO_HOME": str(seeded.root), "NO_COLOR": "1",
               "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, "-m", "studio", "run", "contrast-pairs", "-n", "3", "--strategy",
                               "sample", "--session", "review", "--model", fake_llm.model, "--api-base",
                               fake_llm.base_url, "--json"], env=env, cwd=str(seeded.root), capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert fake_llm.count == 3
        for _ in range(100):
            await pilot.pause(0.05)
            if len(app.screen.stream.ids) == 15:
                break
        await settle(app, pilot)
        assert len(app.screen.stream.ids) == 15
        assert any("3 sample(s) added from another process" in n.message for n in app._notifications)
        session = app.screen.session
        assert {session.get(i)["template"] for i in app.screen.stream.ids[12:]} == {"contrast-pairs"}
        await pilot.press("ctrl+q")


async def test_a_run_in_another_process_killed_midway_shows_as_interrupted(seeded, fake_llm):
    """SIGKILL the other shell's `studio run`: the studio marks its run interrupted (on disk) and says so,
    with what it kept and how to continue."""
    import signal
    import time

    fake_llm.set(latency=0.3)
    app = StudioApp(seeded, "review")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        env = {**os.environ, "STUDIO_HOME": str(seeded.root), "NO_COLOR": "1",
               "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.Popen([sys.executable, "-m", "studio", "run", "contrast-pairs", "-n", "12", "--strategy",
                                 "sample", "--session", "review", "--model", fake_llm.model, "--api-base",
                                 fake_llm.base_url, "--concurrency", "2"], env=env, cwd=str(seeded.root),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(app.screen.stream.ids) < 14:
                await pilot.pause(0.05)
            assert len(app.screen.stream.ids) >= 14          # two of the other shell's samples arrived
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        for _ in range(100):
            await pilot.pause(0.05)
            if any("interrupted" in n.message for n in app._notifications):
                break
        await settle(app, pilot)
        [guest] = [r for r in app.screen.session.runs() if r["template"] == "contrast-pairs"]
        kept = len(app.screen.stream.ids) - 12
        assert guest["status"] == "interrupted" and guest["saved"] == kept
        said = [n.message for n in app._notifications if "interrupted" in n.message]
        assert said and f"{kept} sample(s) kept" in said[-1] and "run the same command again" in said[-1]
        await pilot.press("ctrl+q")


async def test_under_a_filter_the_view_follows_new_samples_only_from_the_newest_one(seeded):
    """The README's rule (the view follows new samples only if the reader was at the newest one) holds with a
    filter too: a tryout at End of a text filter saw the header count the new sample while ▶ stayed behind."""
    from studio.tui.messages import SamplesAdded
    from tests.tui.conftest import make_samples

    app = StudioApp(seeded, "review")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        screen = app.screen
        screen.filters = {"text": "nimbus"}             # samples 2, 5, 8, 11
        screen._reload_ids()
        await settle(app, pilot)
        assert screen.stream.ids == [2, 5, 8, 11]
        await pilot.press("f4", "end")
        await settle(app, pilot)
        for start, at_newest in ((12, True), (15, False)):
            if not at_newest:
                await pilot.press("home")
                await settle(app, pilot)
            before = screen.stream.current_id
            ids = screen.session.add_samples(make_samples(3, start=start))      # one of the three matches
            screen.post_message(SamplesAdded(list(ids)))                          # as the inbox fold says it
            await settle(app, pilot)
            newest = screen.stream.ids[-1]
            assert newest in ids
            if at_newest:
                assert screen.stream.current_id == newest and screen.tagger.sample["id"] == newest
            else:
                assert screen.stream.current_id == before
