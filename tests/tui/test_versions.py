"""Template versions in the studio: a text that cannot render is never saved as a version; names are shown."""

from __future__ import annotations

from studio.tui.app import StudioApp
from tests.tui.conftest import ready, settle


async def test_ctrl_s_with_a_jinja_syntax_error_saves_a_draft_not_a_version(ws):
    app = StudioApp(ws, "v", template="contrast-pairs")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        screen = app.screen
        before = [d["version"] for d in screen.session.template_versions("contrast-pairs")]
        editor = screen.editor
        editor.replace_text(editor.text.replace("{{ n }} sentences", "{{ n sentences"))
        await settle(app, pilot)
        editor.area.focus()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert [d["version"] for d in screen.session.template_versions("contrast-pairs")] == before
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "draft, not as a version" in errors[-1].message
        assert "contrast-pairs.prompt:" in errors[-1].message and "syntax error" in errors[-1].message
        assert "{{ n sentences" in (ws.templates_dir / "contrast-pairs.prompt").read_text()  # the work is kept
        # fixed, it saves as the next named version
        editor.replace_text(editor.text.replace("{{ n sentences", "{{ n }} short sentences"))
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        after = screen.session.template_versions("contrast-pairs")
        assert len(after) == len(before) + 1
        label = screen.session.version_label("contrast-pairs", after[-1]["version"])
        assert label == f"v{len(after)}"
        assert any(f"as version {label} {after[-1]['version']}" in n.message for n in app._notifications)
        await pilot.press("ctrl+q")
