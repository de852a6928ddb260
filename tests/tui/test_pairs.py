"""Several answers to one prompt, side by side: a key saves "A is better than B" as a pair judgement."""

from __future__ import annotations

from studio.store import Store
from studio.tui.app import StudioApp
from tests.tui.conftest import make_samples, ready, screen_text, settle


def _session_with_answers(ws):
    session = Store(ws.sessions_dir).create("answers")
    text = (ws.templates_dir / "support-madlib.prompt").read_text()
    version = session.save_template_version("support-madlib", text)
    samples = make_samples(4, version=version)
    for i, s in enumerate(samples[:3]):  # three answers to one prompt, one sample of another
        s.update(prompt_hash="samepromptab", output=f"answer number {i + 1} [bold]not markup[/bold] \x1b[31mred\x1b[0m Ann\u2028Lee",
                 answer=i)
    session.add_samples(samples)
    session.close()


async def test_prefer_left_and_right_saves_judgements_the_export_uses(ws):
    _session_with_answers(ws)
    app = StudioApp(ws, "answers")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("home", "f8")
        await settle(app, pilot)
        text = screen_text(app)
        assert "pair 1 of 3" in text and "answer number 1 [bold]" in text and "answer number 2" in text
        assert "\x1b" not in text and "\u2028" not in text and "Ann␤Lee" in text    # data shown, not obeyed
        await pilot.press("1")          # #1 better than #2
        await settle(app, pilot)
        assert "pair 2 of 3" in screen_text(app)
        await pilot.press("right")      # the right one (#3) better than #1
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        judged = [(j["chosen"], j["rejected"]) for j in app.screen.session.judgements()]
        assert judged == [(1, 2), (3, 1)]
        # a prompt with one answer says there is nothing to compare
        await pilot.press("end", "f8")
        await settle(app, pilot)
        assert "nothing to compare" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("ctrl+q")
    from studio.export import ExportOptions, plan_export

    with Store(ws.sessions_dir).open("answers") as session:
        plan = plan_export(session, ExportOptions(format="preference", dedup=False, val_fraction=0))
        assert plan.ids == [(1, 2), (3, 1)]
