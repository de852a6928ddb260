"""Template editor pane: the template text with highlighting, lint problems beside their line, and a live
preview of one filled prompt. Parsing, linting and rendering are core's; this pane only shows them."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from studio.analysis.tables import plain
from studio.tui.guard import ForwardWorkerErrors, guarded
from studio.tui.preview import Analysis  # the pane shows what preview.analyse_template computed


@guarded
class TemplateEditor(ForwardWorkerErrors, Vertical, can_focus=False):
    """The editor pane; it owns no files: the screen loads and saves (ctrl+s).

    Empty until `build()` (the screen calls it after the first frame): the text area is the costliest
    widget to import and mount, and the pane has nothing to show before the session is loaded anyway."""

    ALLOW_MAXIMIZE = True

    BINDINGS = [
        Binding("ctrl+s", "screen.save_template", "Save version", id="editor.save"),
        Binding("ctrl+n", "next_fill", "Next fill", id="editor.next_fill"),
        Binding("ctrl+l", "screen.choose_template", "Templates", id="editor.choose"),
    ]

    fill_index: reactive[int] = reactive(0)
    dirty: reactive[bool] = reactive(False)

    class Analysed(Message):
        def __init__(self, analysis: Analysis) -> None:
            super().__init__()
            self.analysis = analysis

    class DirtyChanged(Message):
        pass

    def watch_dirty(self) -> None:
        self.post_message(self.DirtyChanged())

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.saved_text = ""
        self.name_label = ""
        self.path = None
        self.draft = False  # the saved text is a draft (the file, not a version: it cannot render); the title says so
        self.analysis: Analysis | None = None
        self._loading = False
        self.built = False
        self._pending: tuple | None = None

    async def build(self) -> None:
        """Mount the text area, the lint gutter, the problems line and the preview (once)."""
        if self.built:
            return
        from studio.tui.widgets.template_area import LintGutter, TemplateArea

        self.built = True
        area = TemplateArea("", id="template-text", soft_wrap=False, show_line_numbers=True, tab_behavior="focus")
        await self.mount_all([Horizontal(area, LintGutter(area, id="lint-gutter"), id="editor-body"),
                              Static("", id="problems", markup=False),
                              Static("(loading…)", id="preview", markup=False)])
        if self._pending is not None:
            self.load(*self._pending)

    @property
    def area(self) -> Any:
        return self.query_one("#template-text")

    @property
    def text(self) -> str:
        return self.area.text if self.built else self.saved_text

    def load(self, name: str, path: Any, text: str, saved_text: str | None = None) -> None:
        if not self.built:  # shown once build() has mounted the text area
            self._pending = (name, path, text, saved_text)
            return
        self._pending = None
        self.name_label, self.path, self.draft = name, path, False
        self.saved_text = text if saved_text is None else saved_text
        self._loading = True
        self.area.load_text(text)
        self._loading = False
        self.dirty = self.text != self.saved_text
        self.fill_index = 0
        self.analyse()

    def replace_text(self, text: str) -> None:
        """Put new text in (e.g. a slot edit) as an unsaved change, keeping the cursor line."""
        row = self.area.cursor_location[0]
        self.area.load_text(text)
        self.area.move_cursor((min(row, self.area.document.line_count - 1), 0))

    def mark_saved(self) -> None:
        self.saved_text = self.text
        self.dirty = False

    def on_text_area_changed(self, event: Any) -> None:  # TextArea.Changed
        event.stop()
        if self._loading:
            return
        self.dirty = self.text != self.saved_text
        self.analyse()

    def action_next_fill(self) -> None:
        self.fill_index += 1

    def watch_fill_index(self) -> None:
        if self.is_mounted and self.name_label:
            self.analyse()

    # One analysis at a time, the newest text next: a template that takes seconds to render must not start a
    # thread per key (threads cannot be stopped; a pile of them fighting for the GIL stalled the keys).
    _analysing = False
    _wanted: tuple | None = None

    def analyse(self) -> None:
        """Lint and preview the text as it is now: at once, or as soon as the analysis under way ends."""
        self._wanted = (self.text, self.fill_index, str(self.path) if self.path else self.name_label)
        if not self._analysing:
            self._analysing = True
            self._analyse(*self._wanted)

    @work(thread=True, group="template-analysis", exit_on_error=False)
    def _analyse(self, text: str, fill_index: int, where: str) -> None:
        from studio.tui.preview import analyse_template

        self.post_message(self.Analysed(analyse_template(text, where, fill_index)))

    def worker_failed(self, group: str, text: str) -> None:
        """A bug in the analysis (the App has shown it): the next edit analyses again."""
        if group == "template-analysis":
            self._analysing = False

    def on_template_editor_analysed(self, event: "TemplateEditor.Analysed") -> None:
        analysis = event.analysis
        self._analysing = False
        wanted = self._wanted
        if wanted is not None and (analysis.text, analysis.fill_index) != wanted[:2]:
            self._analysing = True
            self._analyse(*wanted)  # the text (or the fill) changed meanwhile: the newest next
        if analysis.text != self.text:
            return  # stale: the text changed since
        self.analysis = analysis
        gutter = self.query_one("#lint-gutter")
        gutter.problems = {p.line: p.message for p in analysis.problems if p.line}
        self._fit_gutter()
        lines = [f"L{p.line}: {p.message}" + (f" — {p.hint}" if p.hint else "") if p.line else
                 (p.message + (f" — {p.hint}" if p.hint else "")) for p in analysis.problems]
        problems = self.query_one("#problems", Static)
        problems.update(plain("\n".join(f"✗ {x}" for x in lines)))
        problems.display = bool(lines)
        preview = self.query_one("#preview", Static)
        preview.border_title = f"preview · {analysis.fill_label}" if analysis.fill_label else "preview"
        preview.update(plain(analysis.preview))

    def _fit_gutter(self) -> None:
        """A thin gutter when all is well; room for the messages when there are problems and space."""
        if not self.built:
            return
        gutter = self.query_one("#lint-gutter")
        if not gutter.problems:
            gutter.styles.width = 1
            return
        longest = max(len(m) for m in gutter.problems.values()) + 2
        gutter.styles.width = max(3, min(longest, 30, self.size.width // 3 if self.size.width >= 70 else 3))

    def on_resize(self) -> None:
        self._fit_gutter()
