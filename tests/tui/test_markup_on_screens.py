"""No text in the data can break a screen: every pane and screen of the studio over a session whose slot
values, prompts, outputs, notes, tags, tag labels, feedback comments and categories are markup-like text
(tests/corpus/markup.py). The app must not crash, and the text is shown as it is (not restyled)."""

from __future__ import annotations

import json

import pytest

from textual.widgets import Static

from studio.store import Store
from studio.tui.app import StudioApp
from tests.corpus.markup import MARKUP, shown
from tests.tui.conftest import ready, screen_text, settle

TEXTS = [t for _, t in MARKUP]
LABELS = ["[/INST]", "[bold]x", "[@click=app.quit]q[/]", "$accent", "[/]"]


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture
def marked(ws):
    """Session 'm' (render-mode samples of every corpus text), with notes, tags, labels and feedback."""
    import asyncio

    from studio.runs.run import Run

    data = ws.templates_dir / "data" / "marks.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    (ws.templates_dir / "marks.prompt").write_text(
        "---\nname: marks\nmode: render\nslots:\n  v: {file: data/marks.jsonl, field: text}\n---\n"
        "user:\nThe customer wrote: {{ v }}\nassistant:\nYou wrote: {{ v }}\n")
    session = Store(ws.sessions_dir).create("m", labels=LABELS)
    asyncio.run(Run(ws, "marks", session=session, n=len(TEXTS), strategy="product").execute())
    for k, i in enumerate(session.ids()):
        text = session.get(i)["slots"]["v"]
        session.set_note(i, text)
        session.toggle_tag(i, LABELS[k % len(LABELS)])
        if k % 3 == 0:
            session.accept(i)
        elif k % 3 == 1:
            session.reject(i)
    session.add_feedback([{"prompt": f"q {t[:50]}", "response": t[:200], "comment": t[:300], "rating": 1,
                           "source": "fb.jsonl", "line": n + 1, "status": "structured", "category": t[:40],
                           "severity": "high", "structured": {"category": t[:40], "severity": "high",
                                                             "concerned_part": "[/]",
                                                             "desired_behaviour": t[:60]}, "error": None,
                           "model": "openai/fake"} for n, t in enumerate(TEXTS)])
    session.close()
    return ws


async def _wait(app, pilot, what, seconds=30.0) -> str:
    for _ in range(int(seconds / 0.05)):
        await app.workers.wait_for_complete()
        await pilot.pause(0.05)
        text = screen_text(app)
        if what(text) if callable(what) else what in text:
            return text
    raise AssertionError(f"{what!r} never showed:\n{[n.message for n in app._notifications]}\n{screen_text(app)}")


async def test_main_panes_and_detail_show_every_text_literally(marked):
    app = StudioApp(marked, "m", template="marks")
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        text = screen_text(app)
        assert "[/INST]" in text and "[bold]x" in text            # slot tree values and stream rows
        assert "\x1b" not in text
        seen = set()
        stream = app.screen.query_one("#stream") if app.screen.query("#stream") else None
        if stream is not None:
            stream.focus()
        await pilot.press("home")
        for _ in range(len(TEXTS)):
            await pilot.press("enter")
            await _wait(app, pilot, lambda _: type(app.screen).__name__ == "DetailScreen")
            assert "\x1b" not in screen_text(app)
            detail = str(app.screen.query_one(Static).content)       # what the detail shows, scrolled or not
            for t in TEXTS:
                if flat(shown(t)) and flat(shown(t)) in flat(detail):
                    seen.add(t)
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("down")
        missing = [t[:30] for t in TEXTS if t not in seen]
        assert not missing, missing
        assert type(app.screen).__name__ == "MainScreen"


async def test_analysis_feedback_and_export_screens_over_markup_text(marked):
    app = StudioApp(marked, "m", template="marks")
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f6")                                     # the report: per-value tables
        text = await _wait(app, pilot, "[/INST]")
        assert "[bold]x" in text and type(app.screen).__name__ == "AnalysisScreen"
        await pilot.press("c")
        await _wait(app, pilot, lambda s: "compare" in s.lower())
        await pilot.press("d")
        await _wait(app, pilot, "disagreement")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f7")                                     # feedback: categories and comments
        text = await _wait(app, pilot, "[/INST]")
        assert "record(s)" in text
        for _ in range(8):
            await pilot.press("down")
            await pilot.pause()
        assert "\x1b" not in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+o")                                 # the export dialog's preview
        await _wait(app, pilot, "files:")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("slash")                                  # the filter dialog: tag labels as options
        await pilot.pause()
        assert type(app.screen).__name__ == "FilterScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "MainScreen"


def test_every_notification_in_the_tui_is_plain_text():
    """The kind, checked where it is written: a toast never parses its message as markup."""
    import ast
    from pathlib import Path

    import studio.tui

    bad = []
    for path in Path(studio.tui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "notify":
                kw = {k.arg: k.value for k in node.keywords}
                if not (isinstance(kw.get("markup"), ast.Constant) and kw["markup"].value is False):
                    bad.append(f"{path.name}:{node.lineno}")
    assert bad == []


def _raw_breakers(text: str) -> list[str]:
    from tests.corpus.markup import BREAKS

    return sorted({c for c in text if c in BREAKS or c == "\x1b"})


async def test_review_pane_and_list_rows_keep_every_line_whole(marked):
    """The review pane (output and `p` prompt view) and the samples list over every corpus text: no raw
    escape or line breaker reaches the screen, every screen line keeps the screen's width (a border drawn at
    the wrong column, or a row cut at U+2028, shows as a short or long line), and the text is shown."""
    from rich.cells import cell_len

    from studio.tui.widgets.tagger import TaggerPane

    app = StudioApp(marked, "m", template="marks")
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        stream = app.screen.query_one("#stream")
        stream.focus()
        await pilot.press("home")
        pane = app.screen.query_one(TaggerPane)
        for n in range(len(TEXTS)):
            for view in ("output", "prompt"):
                if pane.view != view:
                    await pilot.press("p")
                await pilot.pause()
                text = screen_text(app)
                assert not _raw_breakers(text), (n, view, _raw_breakers(text))
                widths = {cell_len(line) for line in text.split("\n")}
                assert widths == {160}, (n, view, widths)
                sample = pane.sample or {}
                value = (sample.get("slots") or {}).get("v", "")
                if view == "prompt" and flat(shown(value)):
                    assert flat(shown(value))[:20] in flat(pane._text.plain), (n, value)
                assert not _raw_breakers(pane._text.plain), (n, view)
            await pilot.press("down")


async def test_every_list_row_is_exactly_as_wide_as_the_list(marked):
    """The sample list draws its rows as raw segments: a tab, newline or escape in a tag or an output would
    shift the row's end (the border and the old frame showed through). Every row over the corpus, at 80x24."""
    app = StudioApp(marked, "m", template="marks")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        from studio.tui.widgets.stream import SampleList

        stream = app.screen.query_one(SampleList)
        seen = 0
        for top in range(0, len(stream.ids), max(1, stream.size.height)):
            stream.scroll_to(y=top, animate=False)
            shown = stream.ids[top: top + stream.size.height]
            await _wait(app, pilot, lambda _t, shown=shown: all(i in stream.rows for i in shown))
            for y in range(stream.size.height):
                strip = stream.render_line(y)
                assert strip.cell_length == stream.size.width, (top + y, strip.text)
                assert not any(ch in strip.text for ch in "\t\n\r\x1b"), (top + y, strip.text)
                seen += top + y < len(stream.ids)
        assert seen == len(stream.ids) == len(TEXTS)
