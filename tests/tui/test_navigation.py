"""Finding your way: help from live bindings, every action in the command palette, confirmations, errors."""

from __future__ import annotations

from textual.binding import Binding

from studio.tui.app import StudioApp
from studio.tui.commands import screen_commands
from studio.tui.screens.main import MainScreen
from studio.tui.widgets.editor import TemplateEditor
from studio.tui.widgets.slots import SlotTree
from studio.tui.widgets.stream import SampleList
from studio.tui.widgets.tagger import TaggerPane
from tests.tui.conftest import ready, screen_text, settle

OURS = [MainScreen, TemplateEditor, SlotTree, SampleList, TaggerPane, StudioApp]


def dialogs():
    from studio.tui.screens import confirm, detail, export, filter, generate, help, pick, prompt

    return [confirm.ConfirmScreen, detail.DetailScreen, export.ExportScreen, filter.FilterScreen,
            generate.GenerateScreen, help.HelpScreen, pick.PickScreen, prompt.PromptScreen]


def test_every_binding_has_an_id_and_a_description():
    for cls in OURS + dialogs():
        for b in cls.BINDINGS:
            assert isinstance(b, Binding) and b.id and b.description, f"{cls.__name__}: {b}"


async def test_help_lists_every_key_of_the_screen_and_panes(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("f1")
        screen = app.screen
        assert type(screen).__name__ == "HelpScreen"
        described = {b.description for cls in OURS for b in cls.BINDINGS}
        listed = {what.split("  (")[0] for _where, _key, what in screen.rows}
        assert any("(review.accept_next)" in what for _w, _k, what in screen.rows)  # ids, for keymap.yaml
        assert described <= listed
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_command_palette_offers_every_action(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        titles = {c.title for c in screen_commands(app, app.screen)}
        for needed in ("Accept+next", "Reject", "Undo", "Generate", "Stop run", "Export", "Save version",
                       "Next fill", "Add value", "Help", "Filter", "Accept all shown"):
            assert needed in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"accept all")
        await pilot.pause(0.3)
        assert "Accept all shown" in screen_text(app)


async def test_command_palette_runs_the_action_on_its_widget(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        cmd = next(c for c in screen_commands(app, app.screen) if c.title == "Accept")
        await pilot.press("home")
        await cmd.callback()
        await settle(app, pilot)
        assert app.screen.stream.rows[1]["status"] == "accepted"


async def test_quit_with_unsaved_template_asks_first(ws):
    app = StudioApp(ws)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        app.screen.editor.replace_text("---\nname: x\n---\nhi")
        await settle(app, pilot)
        await pilot.press("ctrl+q")
        assert "Quit and throw them away?" in screen_text(app)
        await pilot.press("n")
        assert app.is_running


async def test_errors_are_notifications_with_user_text_shown_literally(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        app.screen.io.submit(lambda: (_ for _ in ()).throw(ValueError("bad [bold]markup[/bold] here")))
        await settle(app, pilot)
        note = next(n for n in app._notifications if "markup" in n.message)
        assert note.message.startswith("ValueError: bad [bold]markup[/bold] here — the studio carried on.")
        assert "Crash report: sessions/.crash/crash-" in note.message      # a bug leaves a trace
        assert note.markup is False and note.severity == "error"
        assert app.is_running


async def test_a_second_studio_gets_a_read_only_view(seeded):
    from studio.store import Store

    holder = Store(seeded.sessions_dir).open("review")
    try:
        app = StudioApp(seeded, "review")
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(app, pilot)
            assert "(read-only)" in screen_text(app)
            await pilot.press("home", "a")
            await settle(app, pilot)
            assert app.screen.stream.rows[1]["status"] == "pending"
    finally:
        holder.close()


async def test_panes_are_reachable_by_key_and_zoom(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        for key, wanted in (("f2", "template-text"), ("f3", "slot-tree"), ("f5", "tagger"), ("f4", "samples")):
            await pilot.press(key)
            assert app.focused.id == wanted
        await pilot.press("f9")
        assert app.screen.maximized is not None
        await pilot.press("f9")
        assert app.screen.maximized is None


async def test_no_color_still_tells_states_apart(seeded, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("home", "a", "j", "x", "j", "1")
        await settle(app, pilot)
        text = screen_text(app)
        assert "✓ accepted" in text and "✗ rejected" in text and "· pending" in text
        assert "1[x]" in text


async def test_keys_can_be_remapped_from_keymap_yaml(seeded):
    (seeded.root / "keymap.yaml").write_text("review.accept: y\n")
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("home", "y")
        await settle(app, pilot)
        assert app.screen.stream.rows[1]["status"] == "accepted"
        assert "y Accept" in screen_text(app)


async def test_a_bad_keymap_is_reported_and_the_default_keys_stay(seeded):
    (seeded.root / "keymap.yaml").write_text("- not: [a, mapping]\n")
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        assert any(n.title == "Key map not used" for n in app._notifications)
        await pilot.press("home", "a")
        await settle(app, pilot)
        assert app.screen.stream.rows[1]["status"] == "accepted"


async def test_an_unexpected_error_in_a_key_handler_is_shown_and_the_studio_carries_on(seeded, monkeypatch):
    from studio.tui.screens.main import MainScreen

    def broken(self):
        raise RuntimeError("boom [red]here[/red]")

    monkeypatch.setattr(MainScreen, "_show_selected", broken)  # fails inside the guarded accept action
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await pilot.press("home", "a")
        await settle(app, pilot)
        assert any(n.title == "Unexpected error" and "boom [red]here[/red]" in n.message for n in app._notifications)
        monkeypatch.undo()
        await pilot.press("j", "x")
        await settle(app, pilot)
        assert app.is_running and app.screen.stream.rows[2]["status"] == "rejected"


async def test_panes_reflow_when_the_terminal_is_resized(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(app, pilot)
        assert app.screen.has_class("-wide")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen.has_class("-narrow")
        # reviewing at 80 columns: the samples take the whole width, the review pane the height below them
        assert app.screen.stream.size.width > 70 and app.screen.tagger.size.height >= 10
        assert "studio · review" in screen_text(app)
        await pilot.press("f2")  # authoring: four panes side by side again
        await pilot.pause()
        assert app.screen.stream.size.width < 40 and app.screen.editor.size.width < 40


async def test_the_first_frame_comes_before_the_heavy_panes_and_keys_pressed_meanwhile_still_work(seeded):
    """Start-up (issue 5): the editor's text area, the slots tree and the footer mount after the first frame;
    a pane key pressed before they exist lands on the pane once it is built."""
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert not screen.editor.built and not screen.query("#slot-tree") and not screen.query("Footer")
        await pilot.press("f3")  # the slots pane has no tree yet
        await ready(app, pilot)
        assert app.first_frame is not None and app.first_frame < app.ready_at
        assert app.focused is screen.query_one("#slot-tree")
        assert screen.query("Footer") and not screen.query("#footer-placeholder")
        assert "support-madlib" in screen.editor.text


async def test_page_and_jump_keys_move_the_review_pane_with_the_list_in_the_keys_own_handler(seeded):
    """PgUp/PgDn/Home/End/G: the review pane shows the newly selected sample when the key's action returns, so
    both change in one frame (as j/k do). Through a Selected message it changed a frame later, ~30 ms apart."""
    app = StudioApp(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f4")
        await settle(app, pilot)
        screen = app.screen
        keys = {b.key: b.action for b in SampleList.BINDINGS if (b.id or "").startswith("stream.")}
        assert set(keys) == {"pageup", "pagedown", "home", "end,G"}
        visited = []
        for key in ("home", "pagedown", "pagedown", "pageup", "end,G", "home"):
            await app.run_action(keys[key], default_namespace=screen.stream)   # the binding's action, no pause
            assert screen.tagger.sample is not None
            assert screen.tagger.sample["id"] == screen.stream.current_id, key
            visited.append(screen.stream.current_id)
        assert len(set(visited)) >= 3                   # the keys did move
