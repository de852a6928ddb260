"""A template that takes seconds to render never blocks keys (issue 16 §4): the editor's lint and preview
render in a worker, one at a time (the newest text next), so keys typed meanwhile land in the editor in order
and the event loop keeps answering. The template here loops in the sandbox for a second or more per render."""

from __future__ import annotations

import asyncio
import time

from studio.tui.app import StudioApp
from tests.tui.conftest import ready, settle

SLOW = """---
name: slow
mode: render
slots:
  topic: [a, b]
---
user:
{%% set ns = namespace(n=0) %%}{%% for i in range(%d) %%}{%% for j in range(100) %%}{%% set ns.n = ns.n + 1 %%}{%% endfor %%}{%% endfor %%}Tell me about {{ topic }} ({{ ns.n }}).

assistant:
ok
"""


def slow_render_seconds(text: str) -> float:
    from studio.core.template import parse_template
    from studio.core.render import Renderer
    from studio.core.expand import expand

    template = parse_template(text, "slow.prompt")
    fill = next(iter(expand(template)))
    start = time.perf_counter()
    Renderer(template).messages(fill)
    return time.perf_counter() - start


def slow_text(seconds: float = 0.5) -> str:
    """SLOW looping long enough that one render takes at least `seconds` on this machine, now."""
    n = 200
    while slow_render_seconds(SLOW % n) < seconds and n < 20_000:
        n *= 2
    return SLOW % n


class Lag:
    """The event loop's worst lateness while it runs: a 10 ms tick that measures how late it woke."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - start - 0.01)
            self.ticks += 1

    def __enter__(self) -> "Lag":
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        assert self._task is not None
        self._task.cancel()


def key(app, ch: str) -> None:
    """One key as the terminal sends it (no waiting for the app to be idle, which Pilot's press does)."""
    from textual import events

    name = {" ": "space", "\x7f": "backspace", "!": "exclamation_mark", "\x13": "ctrl+s"}.get(ch, ch)
    app._driver.send_message(events.Key(name, ch))


async def test_keys_typed_while_a_slow_template_renders_land_in_order_and_never_wait(ws):
    text = slow_text()
    (ws.templates_dir / "slow.prompt").write_text(text)
    app = StudioApp(ws, "slow", template="slow")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f2")
        area = app.screen.query_one("#template-text")
        row = area.document.lines.index("ok")
        area.move_cursor((row, 0))      # the start of the reply line "ok"
        await pilot.pause()
        typed = "slow keys land in order "
        took = []
        with Lag() as lag:
            for n, ch in enumerate(typed + "\x7f!", start=1):   # each key starts another analysis
                start = time.perf_counter()
                key(app, ch)
                while area.document.lines[row] != (typed + "\x7f!")[:n].replace(" \x7f", "") + "ok":
                    assert time.perf_counter() - start < 5, f"key {n} ({ch!r}) never landed"
                    await asyncio.sleep(0.002)
                took.append(time.perf_counter() - start)        # from the key to the text holding it
                await asyncio.sleep(0.03)                        # a fast typist: ~30 keys a second
        assert area.document.lines[row] == typed[:-1] + "!ok"
        # once the keys stop, the preview catches up with the newest text (not one of the older ones)
        for _ in range(200):
            analysis = app.screen.editor.analysis
            if analysis is not None and analysis.text == area.text:
                break
            await pilot.pause(0.05)
        assert app.screen.editor.analysis.text == area.text
        assert "!ok" in str(app.screen.query_one("#preview").render())
        # a render on the event loop would stall it for a whole render; the bound is half of one, timed now that
        # the editor is idle (a loaded machine slows the render and the loop alike), and never under 0.4 s
        bound = max(0.4, 0.5 * slow_render_seconds(text))
        assert lag.worst < bound, f"the event loop stalled {lag.worst * 1000:.0f} ms while the template rendered"
        assert max(took) < bound, f"a key took {max(took) * 1000:.0f} ms to land"


async def test_saving_a_slow_template_does_not_wait_for_its_render(ws):
    """ctrl+s right after an edit: the version is saved while the edit's lint and preview still render."""
    (ws.templates_dir / "slow.prompt").write_text(slow_text(1.0))
    app = StudioApp(ws, "slow", template="slow")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("f2")
        area = app.screen.query_one("#template-text")
        area.move_cursor((area.document.lines.index("ok"), 0))
        await pilot.pause()
        editor = app.screen.editor
        key(app, "x")                                # starts an analysis: two renders of a second or more
        key(app, "\x13")                             # ctrl+s
        start = time.perf_counter()
        while not any("saved slow.prompt as version" in n.message for n in app._notifications):
            assert time.perf_counter() - start < 10, [n.message for n in app._notifications]
            await asyncio.sleep(0.01)
        assert editor._analysing, "the save waited for the render"
        assert not editor.dirty
