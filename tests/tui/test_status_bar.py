"""The status bar says how many samples are flagged (cut-off, filtered, refusal, preview: the record's `flag`,
counted as `session.ids(flag=...)` counts them) beside ✓ ✗ · !, and during a fleet run which deployment served
how many answers (the engine's count, the source `studio run` and `studio show` report)."""

from __future__ import annotations

import re

import pytest

from studio.store import Store
from studio.tui.app import StudioApp
from studio.tui.widgets.statusbar import StatusBar
from tests.tui.conftest import make_samples, ready, settle
from tests.tui.test_generation import wait_run


def status_line(app) -> str:
    main = app.screen_stack[0]
    return str(main.query_one(StatusBar).render())


@pytest.fixture
def flagged(ws):
    session = Store(ws.sessions_dir).create("review")
    samples = make_samples(9)
    for s, flag in zip(samples, ["cut-off", "cut-off", "filtered", "refusal", "preview", "preview", "preview"]):
        s["flag"] = flag
    session.add_samples(samples)
    session.close()
    return ws


@pytest.mark.parametrize("size,shown", [((80, 24), "!0 ⚑7 accept"),
                                        ((160, 48), "!0 ⚑7 (2 cut-off, 1 filtered, 3 preview, 1 refusal) accept")])
async def test_the_status_bar_counts_flagged_samples_as_the_store_does(flagged, size, shown):
    app = StudioApp(flagged, "review")
    async with app.run_test(size=size) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        assert shown in status_line(app)
        session = app.screen.session
        per_flag = {f: len(session.ids(flag=f)) for f in ("cut-off", "filtered", "refusal", "preview")}
        assert sum(per_flag.values()) == 7 == int(re.search(r"⚑(\d+)", status_line(app)).group(1))
        await pilot.press("home", "x")           # a review key changes ✓ ✗ ·, never the flags
        await settle(app, pilot)
        assert "✗1" in status_line(app) and "⚑7" in status_line(app)


async def test_no_flagged_samples_no_flag_count(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        assert "!0 accept" in status_line(app) and "⚑" not in status_line(app)


async def test_a_fleet_run_shows_what_each_deployment_served(ws, fake_env):
    from tests.support.fake_llm import FakeLLM

    other = FakeLLM(latency=0.02).start()
    fake_env.set(latency=0.02)
    try:
        app = StudioApp(ws, "gen", template="contrast-pairs")
        async with app.run_test(size=(160, 30)) as pilot:
            await ready(app, pilot)
            await settle(app, pilot)
            await pilot.press("ctrl+g")
            await settle(app, pilot)
            form = app.screen
            form.query_one("#count").value = "12"
            form.query_one("#model-text").value = fake_env.model
            form.query_one("#api-base").value = f"{fake_env.base_url}, {other.base_url}"
            await pilot.press("ctrl+g")
            await wait_run(app, pilot)
            run = app.screen.status.run
            assert run["done"] == 12 and fake_env.count + other.count == 12
            served = run["served"]
            assert sorted(served.values()) == sorted([fake_env.count, other.count]) and sum(served.values()) == 12
            line = status_line(app)
            for server in (fake_env, other):
                host = server.base_url.split("//", 1)[1].split("/", 1)[0]
                assert f"{host}:{server.count}" in line, line
            # the same figures the run record keeps (what `studio show` prints)
            record = app.screen.session.runs()[-1]
            assert record["served"] == served
    finally:
        other.stop()


async def test_the_recount_from_the_store_waits_until_the_keys_stop(seeded, monkeypatch):
    """After a key that changes a count, the store's recount (a safety net: the key's own change is exact) runs
    once no key came for RECOUNT_QUIET s, not while j, k go on: its frame landed on theirs (bench/review.py)."""
    import time

    import studio.tui.screens.main as main_module
    from studio.tui.screens.main import MainScreen

    monkeypatch.setattr(main_module, "RECOUNT_QUIET", 1.0)
    asked: list[float] = []
    count = MainScreen._session_counts

    def counted(session):
        asked.append(time.monotonic())
        return count(session)

    monkeypatch.setattr(MainScreen, "_session_counts", staticmethod(counted))
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f4", "home", "x")           # a count changes: a recount is due 0.8 s later…
        asked.clear()
        t = time.monotonic()
        while time.monotonic() - t < 2.0:              # …but keys go on, 0.15 s apart
            await pilot.press("j")
            last_key = time.monotonic()
            await pilot.pause(0.15)
        assert asked == []
        for _ in range(100):
            if asked:
                break
            await pilot.pause(0.05)
        assert asked and asked[0] - last_key >= 0.9   # once they stopped for RECOUNT_QUIET
        assert "✗1" in status_line(app)
