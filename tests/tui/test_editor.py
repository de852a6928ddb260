"""The template editor and slots panes: live lint, live preview, fill cycling, save = new version, slot edits."""

from __future__ import annotations

from studio.store import Store
from studio.tui.app import StudioApp
from tests.tui.conftest import ready, screen_text, settle


async def analysed(app, pilot):
    await settle(app, pilot)
    return app.screen.editor.analysis


async def test_a_new_workspace_opens_a_demo_session_from_the_shipped_templates(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        analysis = await analysed(app, pilot)
        text = screen_text(app)
        assert "studio · demo" in text and "support-madlib · saved" in text
        assert "preview · fill 1 of 20" in text
        assert analysis.problems == []
        assert "2,880 combinations" in text  # the slots pane shows the space size
    session = Store(ws.sessions_dir).open("demo", read_only=True)
    names = {v["name"] for v in session.template_versions()}
    assert {"support-madlib", "contrast-pairs", "persona-iteration"} <= names
    session.close()


async def test_lint_problems_show_beside_their_line_while_typing(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(app, pilot)
        await analysed(app, pilot)
        area = app.screen.editor.area
        lines = area.text.split("\n")
        body = next(i for i, line in enumerate(lines) if "{{" in line)
        area.focus()
        area.move_cursor((body, len(lines[body])))
        await pilot.press(*" {{ nosuchslot }}")
        analysis = await analysed(app, pilot)
        assert analysis.problems, "an undeclared slot must be reported"
        assert any(p.line == body + 1 for p in analysis.problems)
        gutter = app.screen.query_one("LintGutter")
        assert body + 1 in gutter.problems
        assert "nosuchslot" in screen_text(app)
        assert "UNSAVED" in screen_text(app)


async def test_next_fill_key_cycles_the_preview(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        first = (await analysed(app, pilot)).preview
        app.screen.editor.area.focus()
        await pilot.press("ctrl+n")
        second = await analysed(app, pilot)
        assert second.fill_label.startswith("fill 2 of")
        assert second.preview != first


async def test_save_writes_the_file_and_a_new_template_version(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await analysed(app, pilot)
        area = app.screen.editor.area
        area.focus()
        last = area.document.line_count - 1
        area.move_cursor((last, len(area.document.get_line(last))))
        await pilot.press(*" Thanks!")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "· saved" in screen_text(app), [n.message for n in app._notifications]
    path = ws.templates_dir / "support-madlib.prompt"
    assert path.read_text().rstrip().endswith("Thanks!")
    session = Store(ws.sessions_dir).open("demo", read_only=True)
    versions = session.template_versions("support-madlib")
    assert len(versions) == 2 and versions[-1]["text"] == path.read_text()
    session.close()


async def test_a_broken_template_is_not_saved_and_says_why(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await analysed(app, pilot)
        editor = app.screen.editor
        editor.replace_text("no front matter here")
        await analysed(app, pilot)
        editor.area.focus()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert any("not saved" in str(n.message) for n in app._notifications)
    assert "no front matter" not in (ws.templates_dir / "support-madlib.prompt").read_text()


async def test_slot_values_add_edit_weight_delete_flow_into_the_text(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(100, 36)) as pilot:
        await ready(app, pilot)
        before = await analysed(app, pilot)
        size_before = before.plan.size
        await pilot.press("f3")  # focus the slots tree; the first slot is 'customer'
        tree = app.screen.query_one("#slot-tree")
        tree.move_cursor(tree.root.children[0])
        await pilot.press("a")
        await pilot.press(*"Zora", "enter")
        after = await analysed(app, pilot)
        assert "Zora" in after.template.slots["customer"].values
        assert after.plan.size > size_before
        assert app.screen.editor.dirty
        tree.move_cursor(tree.root.children[0].children[0])
        await pilot.press("w", "ctrl+u", "3", "enter")
        after = await analysed(app, pilot)
        assert after.template.slots["customer"].weights[0] == 3
        tree.move_cursor(tree.root.children[0].children[0])
        await pilot.press("e", "ctrl+u", *"Anna", "enter")
        after = await analysed(app, pilot)
        assert after.template.slots["customer"].values[0] == "Anna"
        tree.move_cursor(tree.root.children[0].children[0])
        await pilot.press("d", "y")
        after = await analysed(app, pilot)
        assert "Anna" not in after.template.slots["customer"].values
        assert app.screen.editor.text.startswith("# Use when")  # the header comment survives


async def test_slot_import_reads_values_from_a_file(ws):
    (ws.templates_dir / "data" / "names.txt").write_text("Uma\nVik\n")
    app = StudioApp(ws)
    async with app.run_test(size=(100, 36)) as pilot:
        await ready(app, pilot)
        await analysed(app, pilot)
        await pilot.press("f3")
        tree = app.screen.query_one("#slot-tree")
        tree.move_cursor(tree.root.children[0])
        await pilot.press("i", *"data/names.txt", "enter")
        after = await analysed(app, pilot)
        assert after.template.slots["customer"].values == ["Uma", "Vik"]


async def test_switching_template_with_unsaved_changes_asks_first(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await analysed(app, pilot)
        app.screen.editor.replace_text(app.screen.editor.text + "\nmore")
        await analysed(app, pilot)
        app.screen._confirm_discard(lambda: app.screen._open_template(ws.templates_dir / "contrast-pairs.prompt"))
        await pilot.pause()
        assert "Throw them away?" in screen_text(app)
        await pilot.press("y")
        await analysed(app, pilot)
        assert app.screen.editor.name_label == "contrast-pairs"
        assert not app.screen.editor.dirty


async def test_ctrl_l_picks_another_template_to_edit(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await analysed(app, pilot)
        await pilot.press("f2", "ctrl+l")  # an editor key: it shows when the editor has focus
        assert type(app.screen).__name__ == "PickScreen"
        options = app.screen.query_one("OptionList")
        names = [o.id for o in options.options]
        editing = app.screen_stack[0].editor.path
        assert names[options.highlighted] == str(editing)      # the list starts at the template being edited
        target = next(i for i, n in enumerate(names) if n.endswith("contrast-pairs.prompt"))
        step = "down" if target >= options.highlighted else "up"
        await pilot.press(*([step] * abs(target - options.highlighted)), "enter")
        after = await analysed(app, pilot)
        assert app.screen.editor.name_label == "contrast-pairs" and after.template.name == "contrast-pairs"
        assert "contrast-pairs" in screen_text(app)
        await pilot.press("f2", "ctrl+l")
        options = app.screen.query_one("OptionList")
        assert options.options[options.highlighted].id.endswith("contrast-pairs.prompt")


async def test_a_template_that_cannot_render_is_saved_as_a_draft_and_the_title_says_so(ws):
    """ctrl+s on a template with a Jinja error writes the file but makes no version: the toast says "draft", and
    so must the title bar (it said "· saved"); a later save that renders makes a version and says "saved"."""
    app = StudioApp(ws)
    async with app.run_test(size=(100, 24)) as pilot:
        await ready(app, pilot)
        await analysed(app, pilot)
        editor = app.screen.editor
        good = editor.text
        editor.replace_text(good.replace("{{ customer }}", "{{ customer ", 1))
        await analysed(app, pilot)
        editor.area.focus()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert any("as a draft, not as a version" in str(n.message) for n in app._notifications)
        assert app.screen.sub_title.endswith("· saved as a draft (cannot render)"), app.screen.sub_title
        assert "draft" in screen_text(app)
        editor.replace_text(good)
        await analysed(app, pilot)
        assert app.screen.sub_title.endswith("· UNSAVED changes")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen.sub_title.endswith("· saved"), app.screen.sub_title
    session = Store(ws.sessions_dir).open("demo", read_only=True)
    assert len(session.template_versions("support-madlib")) == 1  # the draft made none; the good text is v1's
    session.close()
