"""Running generation from the studio: the form, live samples, the status bar, stop, errors, regenerate."""

from __future__ import annotations


from studio.store import Store
from studio.tui.app import StudioApp
from tests.tui.conftest import ready, screen_text, settle


async def wait_run(app, pilot, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if app.screen._run_control is None:
            break
        await pilot.pause(0.05)
    await settle(app, pilot)


async def test_generate_with_a_model_streams_samples_and_counts_tokens(ws, fake_env):
    app = StudioApp(ws, "gen", template="contrast-pairs")
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g", *"6", "enter")
        await wait_run(app, pilot)
        screen = app.screen
        assert fake_env.count == 6
        assert len(screen.stream.ids) == 6
        assert screen.status.run["done"] == 6 and screen.status.run["tokens"] > 0
        text = screen_text(app)
        assert fake_env.model in text and "6 done" in text
        assert "sk-test" not in text


async def test_stop_keeps_what_completed(ws, fake_env):
    fake_env.set(latency=0.4)
    app = StudioApp(ws, "gen", template="contrast-pairs")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        app.screen.start_run({"model": fake_env.model, "count": 60, "strategy": "sample", "seed": 3})
        for _ in range(200):
            await pilot.pause(0.05)
            if app.screen.stream.ids:
                break
        assert app.screen.status.run.get("in_flight", 0) > 0  # requests out while the first ones came back
        await pilot.press("ctrl+t")
        await wait_run(app, pilot)
        kept = len(app.screen.stream.ids)
        assert 0 < kept < 60
        assert app.screen.status.run.get("stopped")
        await pilot.press("ctrl+q")
    session = Store(ws.sessions_dir).open("gen", read_only=True)
    assert len(session) == kept
    session.close()


async def test_a_provider_problem_is_a_notification_not_a_crash(ws, fake_env, monkeypatch):
    app = StudioApp(ws, "gen", template="contrast-pairs")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        app.screen.start_run({"model": "nosuchprovider/nomodel", "count": 2})
        await wait_run(app, pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "Generation failed" in errors[-1].title
        assert app.is_running and app.screen._run_control is None


async def test_regenerate_redoes_rejected_samples_of_the_older_version(ws):
    app = StudioApp(ws)  # demo session, support-madlib (render mode)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        app.screen.start_run({"model": "render", "count": 4, "strategy": "sample", "seed": 0})
        await wait_run(app, pilot)
        await pilot.press("home", "x", "j", "x", "j", "a")
        await settle(app, pilot)
        editor = app.screen.editor
        editor.replace_text(editor.text.replace("Hello", "Hi there"))
        await settle(app, pilot)
        await pilot.press("ctrl+r")  # unsaved: refuses and says why
        await settle(app, pilot)
        assert any("save the template first" in n.message for n in app._notifications)
        editor.area.focus()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("ctrl+r", "y")
        await wait_run(app, pilot)
        await pilot.press("ctrl+q")
    session = Store(ws.sessions_dir).open("demo", read_only=True)
    new = [session.get(i) for i in session.ids()[4:]]
    assert len(new) == 2 and all(s["output"].startswith("Hi there") for s in new)
    assert [session.get(i)["status"] for i in (1, 2, 3)] == ["rejected", "rejected", "accepted"]
    session.close()
