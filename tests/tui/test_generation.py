"""Running generation from the studio: the form, live samples, the status bar, stop, errors, regenerate."""

from __future__ import annotations


from studio.store import Store
from studio.tui.app import StudioApp
from tests.cli.test_regenerate_previews import CP2  # the template the CLI test edits, the same here
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


async def test_regenerate_after_an_edit_redoes_the_changed_prompts(ws):
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
        await pilot.press("ctrl+r")
        await settle(app, pilot)  # the plan is worked out on the session thread, then asked about
        assert "4 changed prompt(s)" in screen_text(app), [n.message for n in app._notifications]
        await pilot.press("y")
        await wait_run(app, pilot)
        await pilot.press("ctrl+q")
    session = Store(ws.sessions_dir).open("demo", read_only=True)
    new = [session.get(i) for i in session.ids()[4:]]
    assert len(new) == 4 and all(s["output"].startswith("Hi there") for s in new)
    assert [session.get(i)["status"] for i in (1, 2, 3)] == ["rejected", "rejected", "accepted"]
    session.close()


async def test_edit_a_slot_value_save_ctrl_r_regenerates_exactly_its_fills_with_the_model_that_made_them(
        ws, fake_env, monkeypatch):
    """Issue 16 §3: the fills that used the changed value get new samples under the new version, made by the
    model (and endpoint) that made the old ones; the old samples keep their decisions; nothing else is asked."""
    app = StudioApp(ws, "regen", template="contrast-pairs")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        screen = app.screen
        # 8 pairs × n in [2, 3, 4], by a model that is not the default
        screen.start_run({"model": "openai/made-it", "count": 24, "strategy": "product"})
        await wait_run(app, pilot)
        assert fake_env.count == 24 and {r.body["model"] for r in fake_env.requests} == {"made-it"}
        session = screen.session
        old = {(s["slots"]["pair"], s["slots"]["n"]): s for s in session.iter_samples()}
        first_version = next(iter(old.values()))["template_version"]
        await pilot.press("home", "x", "j", "a")  # decisions on two samples
        await settle(app, pilot)
        decided = {i: session.get(i)["status"] for i in session.ids()[:2]}
        assert sorted(decided.values()) == ["accepted", "rejected"]

        # in the slots pane: n's value 4 -> 5, then save
        await pilot.press("f3")
        tree = screen.query_one("#slot-tree")
        leaf = next(node for branch in tree.root.children for node in branch.children if node.data == ("n", 2))
        tree.move_cursor(leaf)
        await pilot.pause()
        await pilot.press("e", "backspace", "5", "enter")
        await settle(app, pilot)
        from studio.core.template import parse_template

        assert [str(v) for v in parse_template(screen.editor.text).slots["n"].values] == ["2", "3", "5"]
        screen.editor.area.focus()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        monkeypatch.setenv("STUDIO_MODEL", "openai/not-the-default")  # the default is not what ctrl+r uses
        fake_env.reset()
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        dialog = screen_text(app)
        assert "8 changed prompt(s)" in dialog and "made-it" in dialog and "not renderable" not in dialog
        await pilot.press("y")
        await wait_run(app, pilot)
        assert not [n for n in app._notifications if n.severity == "error"], [n.message for n in app._notifications]
        assert fake_env.count == 8  # nothing else is requested
        assert {r.body["model"] for r in fake_env.requests} == {"made-it"}
        new = [session.get(i) for i in session.ids() if session.get(i)["template_version"] != first_version]
        assert len(new) == 8 and {s["slots"]["n"] for s in new} == {"5"}
        assert all(s["model"] == "openai/made-it" for s in new)
        pairs = {s["slots"]["pair"] for s in new}
        assert pairs == {p for p, _ in old}
        assert all("sentences" in s["messages"][-1]["content"] and " 5 sentences" in s["messages"][-1]["content"]
                   for s in new)
        for i, status in decided.items():  # the old samples keep their decisions on the old version
            assert session.get(i)["status"] == status and session.get(i)["template_version"] == first_version
        assert len(screen.stream.ids) == 32
        await pilot.press("ctrl+q")


async def test_a_data_file_value_edited_in_the_slots_pane_then_ctrl_r_regenerates_its_fills(ws, fake_env):
    """Issue 16 §4: a file-based slot's values are shown and edited in the file, with a preview of what changes."""
    app = StudioApp(ws, "fileslot", template="contrast-pairs")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        screen = app.screen
        screen.start_run({"model": fake_env.model, "count": 8, "strategy": "product"})  # 8 pairs, n=2
        await wait_run(app, pilot)
        assert fake_env.count == 8
        await pilot.press("f3")
        tree = screen.query_one("#slot-tree")
        leaves = [node for branch in tree.root.children for node in branch.children if node.data == ("pair", 0)]
        # the file's values are listed (with their sample count and accept rate once the pane has them)
        assert leaves and str(leaves[0].label).split("  · ")[0] == "weather", leaves
        tree.move_cursor(leaves[0])
        await pilot.pause()
        await pilot.press("e", *["backspace"] * 7, *"storm", "enter")
        await settle(app, pilot)
        preview = screen_text(app)
        assert "-weather,climate" in preview and "+storm,climate" in preview
        assert "1 sample(s) used 'weather'" in preview
        await pilot.press("y")
        await settle(app, pilot)
        csv = (ws.templates_dir / "data" / "contrast-pairs.csv").read_text()
        assert "storm,climate" in csv and "weather" not in csv
        fake_env.reset()
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert "1 changed prompt(s)" in screen_text(app)
        await pilot.press("y")
        await wait_run(app, pilot)
        assert fake_env.count == 1 and "storm" in fake_env.prompts()[0] and "climate" in fake_env.prompts()[0]
        await pilot.press("ctrl+q")


async def test_a_data_file_edit_then_ctrl_r_makes_the_new_samples_a_new_version(ws, fake_env, monkeypatch):
    """The tryout's steps: a file value edited in the slots pane, `y`, ctrl+r, `y`. The changed fill's new
    sample is v2 (the data edit is a version, as a text edit is), made by the model that made the old one;
    the old samples keep v1 and their decisions; nothing else is requested."""
    app = StudioApp(ws, "fileversion", template="contrast-pairs")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        screen = app.screen
        screen.start_run({"model": "openai/made-it", "count": 8, "strategy": "product"})
        await wait_run(app, pilot)
        assert fake_env.count == 8
        session = screen.session
        await pilot.press("home", *["x", "j", "a", "j"] * 4)   # a decision on every sample
        await settle(app, pilot)
        before = {s["id"]: (s["template_version"], s["status"]) for s in session.iter_samples()}
        assert len(before) == 8 and {st for _, st in before.values()} == {"accepted", "rejected"}
        (v1,) = {v for v, _ in before.values()}
        assert session.version_label("contrast-pairs", v1) == "v1"
        await pilot.press("f3")
        tree = screen.query_one("#slot-tree")
        leaf = next(node for branch in tree.root.children for node in branch.children if node.data == ("pair", 0))
        tree.move_cursor(leaf)
        await pilot.pause()
        await pilot.press("e", *["backspace"] * 7, *"storm", "enter")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        monkeypatch.setenv("STUDIO_MODEL", "openai/not-the-default")
        fake_env.reset()
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        dialog = " ".join(screen_text(app).split())
        assert "1 changed prompt(s)" in dialog and "Regenerate contrast-pairs with new " in dialog and "made-it" in dialog
        await pilot.press("y")
        await wait_run(app, pilot)
        assert not [n for n in app._notifications if n.severity == "error"], [n.message for n in app._notifications]
        assert fake_env.count == 1 and "storm" in fake_env.prompts()[0]   # nothing else is requested
        assert {r.body["model"] for r in fake_env.requests} == {"made-it"}
        after = {s["id"]: s for s in session.iter_samples()}
        assert {i: (after[i]["template_version"], after[i]["status"]) for i in before} == before
        (new,) = [s for i, s in after.items() if i not in before]
        assert new["template_version"] != v1 and new["slots"]["pair"] == "storm"
        assert new["model"] == "openai/made-it" and new["status"] == "pending"
        assert session.version_label("contrast-pairs", new["template_version"]) == "v2"
        assert session.version_display("contrast-pairs", new["template_version"]).startswith("v2 ")
        await pilot.press("ctrl+q")


async def test_ctrl_r_can_pick_another_model_than_the_one_that_made_the_samples(ws, fake_env, monkeypatch):
    monkeypatch.setenv("STUDIO_MODELS", "openai/picked")
    app = StudioApp(ws, "pick", template="contrast-pairs")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        screen = app.screen
        screen.start_run({"model": "openai/made-it", "count": 3, "strategy": "product"})
        await wait_run(app, pilot)
        editor = screen.editor
        editor.replace_text(editor.text.replace("Explain", "Contrast"))
        await settle(app, pilot)
        editor.area.focus()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        fake_env.reset()
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        await pilot.press("m")
        await settle(app, pilot)
        from textual.widgets import OptionList

        options = app.screen.query_one(OptionList)
        index = next(i for i in range(options.option_count) if options.get_option_at_index(i).id == "openai/picked")
        options.highlighted = index
        await pilot.press("enter")
        await wait_run(app, pilot)
        assert fake_env.count == 3 and {r.body["model"] for r in fake_env.requests} == {"picked"}
        await pilot.press("ctrl+q")




async def test_ctrl_r_after_previews_regenerates_the_answer_by_its_model_not_a_preview(ws, fake_llm):
    """Issue 16: once a fill had a render preview, ctrl+r regenerated the preview (with `render`) instead of the
    model's answer. Previews never stand in for an answer: the changed fill is asked of the answer's model at
    its endpoint, and the dialog names only that model."""
    (ws.templates_dir / "cp2.prompt").write_text(CP2, encoding="utf-8")
    app = StudioApp(ws, "r1", template="cp2")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        screen = app.screen
        screen.start_run({"model": fake_llm.model, "api_base": fake_llm.base_url, "count": 3, "strategy": "product"})
        await wait_run(app, pilot)
        screen.start_run({"model": "render", "count": 3, "strategy": "product"})
        await wait_run(app, pilot)
        session = screen.session
        assert sorted(s.get("flag") or "" for s in session.iter_samples()) == ["", "", "", "preview", "preview",
                                                                              "preview"]
        editor = screen.editor
        editor.replace_text(editor.text.replace("fish", "goldfish"))
        await settle(app, pilot)
        editor.area.focus()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        fake_llm.reset()
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        dialog = screen_text(app)
        assert "1 changed prompt(s)" in dialog, dialog
        made_by = dialog.split("made them (", 1)[1].split(")", 1)[0]
        assert made_by == fake_llm.model, dialog
        await pilot.press("y")
        await wait_run(app, pilot)
        assert fake_llm.count == 1 and "goldfish" in fake_llm.prompts()[0]
        new = [s for s in session.iter_samples() if s["slots"] == {"topic": "goldfish"}]
        assert len(new) == 1 and new[0]["model"] == fake_llm.model and new[0]["endpoint"] == fake_llm.base_url
        assert new[0].get("flag") is None
        await pilot.press("ctrl+q")


def test_the_generate_form_never_remembers_a_preview_as_the_model():
    """Choosing `render` in the form (a preview) leaves the session's remembered model and endpoint as they were."""
    from studio.tui.screens.running import remember_choice

    real = {"model": "openai/fake", "model_text": "", "api_base": "http://127.0.0.1:1/v1", "concurrency": 4,
            "answers": 1}
    first = remember_choice({}, "cp2", real)
    assert first == {"cp2": real, "*": real}
    for template in ("cp2", "other"):
        after = remember_choice(first, template, {**real, "model": "render", "api_base": None})
        assert after == first
    typed = remember_choice(first, "cp2", {**real, "model": "render", "model_text": "render"})
    assert typed == first


async def test_ctrl_r_with_no_prompt_changed_offers_the_redo_and_y_does_it(ws, fake_env):
    """With no changed prompt and rejected samples, ctrl+r's dialog offered "Regenerate" (y), which did nothing
    (a tryout): its y is now the redo, named as such."""
    app = StudioApp(ws, "gen", template="contrast-pairs")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        app.screen.start_run({"model": fake_env.model, "count": 3, "strategy": "sample", "seed": 1})
        await wait_run(app, pilot)
        await pilot.press("f4", "home", "x")
        await settle(app, pilot)
        fake_env.reset()
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        text = screen_text(app)
        assert "No prompt of contrast-pairs changed" in text and "Redo 1" in text, text
        await pilot.press("y")
        await wait_run(app, pilot)
        assert fake_env.count == 1 and len(app.screen.stream.ids) == 4
