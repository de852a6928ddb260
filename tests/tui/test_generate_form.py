"""Issue 16 §4: the generate form takes a model string, an endpoint, parallel requests and answers per prompt,
remembers them per session and template, and says when the template's space is smaller than the count."""

from __future__ import annotations

from studio.store import Store
from studio.tui.app import StudioApp
from tests.tui.conftest import ready, screen_text, settle


async def wait_run(app, pilot) -> None:
    for _ in range(200):
        if app.screen._run_control is None:
            break
        await pilot.pause(0.05)
    await settle(app, pilot)


async def submitted(app, pilot, values: dict) -> tuple:
    """Open the generate form, set its fields ({#id: value}, in order) and submit it without starting a run:
    the form and {"opts": what it would have started} ({} when it refused)."""
    await pilot.press("ctrl+g")
    await pilot.pause()
    form, chosen = app.screen, {}
    form.dismiss = lambda result: chosen.setdefault("opts", result)   # not started
    for name, value in values.items():
        form.query_one(f"#{name}").value = value
    form.action_submit()
    await pilot.pause()
    return form, chosen


def refused_on(form, name: str) -> str:
    """The form refused on field #NAME: marked, focused, its message on screen at 80x24 and in the form's
    words (never a command-line flag). Returns the message."""
    error = form.query_one(f"#{name}-error")
    shown = str(error.render())
    assert error.display and "--" not in shown.replace(" — ", " "), shown
    assert form.query_one(f"#{name}").has_class("-invalid") and form.focused.id == name
    assert error.region.width and error.region.right <= 80 and error.region.bottom <= 24
    return shown


async def test_a_count_above_the_space_is_said_and_more_answers_make_it(ws, fake_llm):
    (ws.templates_dir / "tiny.prompt").write_text(
        "---\nname: tiny\nslots:\n  n: [1, 2, 3]\n---\nuser:\nCount to {{ n }}.\n")
    app = StudioApp(ws, "tiny-session", template="tiny")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        app.screen.query_one("#model-text").value = fake_llm.model
        app.screen.query_one("#api-base").value = fake_llm.base_url
        await pilot.press("ctrl+u", *"7", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "only 3 distinct prompts; 7 asked" in text and "3 answers each" in text
        app.screen.query_one("#choose-answers").press()
        await pilot.pause()
        await wait_run(app, pilot)
        session = app.screen.session
        assert len(session.ids()) == 9  # 3 prompts × 3 answers, not a silent 3
        assert len({session.get(i)["seed"] for i in session.ids()}) == 9
        remembered = session.meta["generate"]["tiny"]
        assert remembered["answers"] == 3 and remembered["concurrency"] == 16


ANSWERS_CASES = [   # template, model typed, answers, refused with (None: the run starts)
    ("contrast-pairs", "render", "3", "3 identical copies: render makes a preview"),
    ("support-madlib", "openai/gpt-4o-mini", "2", "render-mode template would be 2 identical copies"),
    ("support-madlib", "render", "2", "render-mode template"),
    ("contrast-pairs", "openai/gpt-4o-mini", "2", None),
    ("contrast-pairs", "render", "1", None),
    ("support-madlib", "render", "1", None),
]


async def test_several_answers_that_would_be_identical_are_refused_on_the_field(ws):
    """`studio run --answers K` with render refuses K identical copies; the form refuses the same (one rule,
    studio.runs.run.answers_problem), on the answers field, saying what to do in the form; and a count above
    the space does not offer more answers per prompt in render mode."""
    for template, typed, answers, refused in ANSWERS_CASES:
        app = StudioApp(ws, f"answers-{template}", template=template)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(app, pilot)
            await settle(app, pilot)
            form, chosen = await submitted(app, pilot, {"count": "1", "model-text": typed, "answers": answers})
            if refused is None:
                assert chosen.get("opts", {}).get("answers") == int(answers), template
                assert not form.query_one("#answers-error").display, template
            else:
                assert "opts" not in chosen, (template, typed, answers)
                shown = refused_on(form, "answers")
                assert refused in shown and "set answers to 1" in shown, (template, shown)
            await pilot.press("escape")
        with Store(ws.sessions_dir).open(f"answers-{template}", read_only=True) as view:
            assert not view.ids()   # nothing made


async def test_a_count_above_the_space_in_render_mode_offers_no_more_answers(ws):
    (ws.templates_dir / "tiny.prompt").write_text(
        "---\nname: tiny\nmode: render\nslots:\n  n: [1, 2, 3]\n---\nuser:\nCount to {{ n }}.\n")
    app = StudioApp(ws, "tiny-render", template="tiny")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g", "ctrl+u", *"7", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "only 3 distinct prompts; 7 asked" in text and "answers" not in text.split("asked", 1)[1][:60]
        assert not app.screen.query("#choose-answers") and app.screen.query_one("#choose-space").display
        app.screen.query_one("#choose-space").press()
        await pilot.pause()
        await wait_run(app, pilot)
        assert len(app.screen.session.ids()) == 3


async def test_model_endpoint_and_parallel_are_remembered_for_the_template(ws, fake_llm):
    app = StudioApp(ws, "remember", template="contrast-pairs")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        form = app.screen
        form.query_one("#count").value = "2"
        form.query_one("#model-text").value = fake_llm.model
        form.query_one("#api-base").value = fake_llm.base_url
        form.query_one("#concurrency").value = "4"
        form.action_submit()
        await pilot.pause()
        await wait_run(app, pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        form = app.screen
        assert form.query_one("#model-text").value == fake_llm.model
        assert form.query_one("#api-base").value == fake_llm.base_url
        assert form.query_one("#concurrency").value == "4"
        await pilot.press("escape")
        await pilot.press("ctrl+q")
    session = Store(ws.sessions_dir).open("remember", read_only=True)
    assert session.meta["generate"]["contrast-pairs"]["api_base"] == fake_llm.base_url
    assert fake_llm.count >= 2         # the endpoint answered: the run used it
    session.close()


ENDPOINT_CASES = [   # template, model typed ("" = the list's choice, render here), api_base, refused with
    ("support-madlib", "openai/gpt-4o-mini", "http://127.0.0.1:9/v1", "render mode and calls no model"),
    ("contrast-pairs", "render", "http://127.0.0.1:9/v1", "the model render does not call a server"),
    ("contrast-pairs", "local/smollm2", "http://127.0.0.1:9/v1", "does not call a server"),
    ("contrast-pairs", "", "http://127.0.0.1:9/v1", "does not call a server"),
    ("contrast-pairs", "render", "http://127.0.0.1:9/v1, http://127.0.0.1:8/v1", "does not call a server"),
    ("contrast-pairs", "openai/gpt-4o-mini", "http://127.0.0.1:9/v1", None),
    ("contrast-pairs", "render", "", None),
]


async def test_an_endpoint_without_a_model_that_calls_it_is_refused_on_the_field(ws, monkeypatch):
    """The CLI refuses --api-base without a model that calls a server; the form refuses the same (one rule,
    studio.runs.endpoint), on the api_base field, saying what to do in the form (never a CLI flag)."""

    monkeypatch.setenv("STUDIO_MODEL", "render")
    for template, typed, base, refused in ENDPOINT_CASES:
        app = StudioApp(ws, f"endpoint-{template}", template=template)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(app, pilot)
            await settle(app, pilot)
            values = {"count": "1", "model-text": typed, **({} if typed else {"model": "render"}), "api-base": base}
            form, chosen = await submitted(app, pilot, values)
            if refused is None:
                assert chosen.get("opts") and not form.query_one("#api-base-error").display, (template, typed, base)
                continue
            assert "opts" not in chosen, (template, typed, base)
            shown = refused_on(form, "api-base")
            assert refused in shown and "api_base" in shown, (template, typed, base, shown)
            await pilot.press("escape")


async def test_a_key_in_the_endpoint_is_refused(ws):
    app = StudioApp(ws, "nokey", template="support-madlib")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        form = app.screen
        form.query_one("#api-base").value = "https://user:sk-secret@host/v1"
        form.action_submit()
        await pilot.pause()
        assert app.screen is form  # not started
        assert any("not in api_base" in n.message for n in app._notifications)


async def test_which_button_enter_presses_shows_without_colour(ws, monkeypatch):
    """NO_COLOR: the focused button is underlined and reversed, the others are not (reverse alone hid it: a
    primary button is drawn reversed already where there is no colour)."""
    from textual.widgets import Button

    monkeypatch.setenv("NO_COLOR", "1")
    (ws.templates_dir / "tiny.prompt").write_text(
        "---\nname: tiny\nslots:\n  n: [1, 2, 3]\n---\nuser:\nCount to {{ n }}.\n")
    app = StudioApp(ws, "tiny-session", template="tiny")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        app.screen.query_one("#model-text").value = "openai/gpt-4o-mini"   # a model whose answers can differ
        await pilot.press("ctrl+u", *"7", "enter")
        await pilot.pause()
        buttons = [b for b in app.screen.query(Button) if b.display]
        assert [b.id for b in buttons] == ["choose-answers", "choose-space", "choose-slot", "cancel"]
        for b in buttons:
            b.focus()
            await pilot.pause()
            assert [bool(x.rich_style.underline) for x in buttons] == [x is b for x in buttons], b.id
        await pilot.press("escape")


async def test_the_status_bar_names_the_run_s_model_only_while_it_runs(ws):
    """A run refused for its model, and a finished run: the bar's model goes back to the one the next run
    would use (it kept `nosuchprov/x`, or `old samples' models` after a regenerate)."""
    app = StudioApp(ws, "models", template="support-madlib")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        assert app.screen.status.model == "render"
        app.screen.start_run({"model": "nosuchprov/x", "count": 2})
        await wait_run(app, pilot)
        assert app.screen.status.model == "render"
        app.screen.start_run({"model": "render", "count": 2})
        await wait_run(app, pilot)
        assert len(app.screen.session.ids()) == 2 and app.screen.status.model == "render"
        app.screen.start_run({}, only="regenerate")
        await wait_run(app, pilot)
        assert app.screen.status.model == "render"


async def test_the_form_starts_from_the_endpoint_a_shells_run_of_the_model_used(ws):
    """`studio run --model M --api-base URL` from a shell, then ctrl+g in the studio: the form proposes M at URL
    (a tryout found api_base empty: starting as shown sent M to the provider's default). A choice made in the
    form itself is remembered and wins."""
    session = Store(ws.sessions_dir).create("shell-runs", model="openai/fake")
    session.add_run({"template": "contrast-pairs", "model": "openai/fake", "endpoint": "http://127.0.0.1:9/v1",
                     "status": "done"})
    session.add_run({"template": "contrast-pairs", "model": "openai/other", "endpoint": "http://127.0.0.1:8/v1",
                     "status": "done"})
    session.close()
    app = StudioApp(ws, "shell-runs", template="contrast-pairs")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert app.screen.query_one("#api-base").value == "http://127.0.0.1:9/v1"
        await pilot.press("escape")
        app.screen_stack[0].session.set_meta(generate={"*": {"model": "openai/fake", "api_base": None}})
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert app.screen.query_one("#api-base").value == ""       # cleared in the form once: kept cleared


async def test_a_preview_through_the_form_is_not_remembered_as_the_model(ws, fake_llm):
    """Issue 16: `render` chosen in the form made the next run of every template a preview. The form remembers
    only a real model: after a preview it opens on the last real model and endpoint again."""
    app = StudioApp(ws, "keep", template="contrast-pairs")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        for model, base in ((fake_llm.model, fake_llm.base_url), ("render", "")):
            await pilot.press("ctrl+g")
            await pilot.pause()
            form = app.screen
            form.query_one("#count").value = "2"
            form.query_one("#model-text").value = model
            form.query_one("#api-base").value = base
            form.action_submit()
            await pilot.pause()
            await wait_run(app, pilot)
        session = app.screen.session
        assert [s.get("flag") for s in session.iter_samples()] == [None, None, "preview", "preview"]
        await pilot.press("ctrl+g")
        await pilot.pause()
        form = app.screen
        assert form.query_one("#model-text").value == fake_llm.model
        assert form.query_one("#api-base").value == fake_llm.base_url
        await pilot.press("escape")
        await pilot.press("ctrl+q")
    session = Store(ws.sessions_dir).open("keep", read_only=True)
    assert {k: v["model"] for k, v in session.meta["generate"].items()} == {"contrast-pairs": fake_llm.model,
                                                                           "*": fake_llm.model}
    session.close()
