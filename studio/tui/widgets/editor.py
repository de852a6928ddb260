"""Template editor pane: the template text with highlighting, lint problems beside their line, and a live
preview of one filled prompt. Parsing, linting and rendering are core's; this pane only shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static, TextArea

from studio.tui.highlight import highlight_lines


class TemplateArea(TextArea):
    """A TextArea that highlights template syntax itself (no tree-sitter needed)."""

    def _build_highlight_map(self) -> None:
        self._line_cache.clear()
        self._highlights.clear()
        for row, spans in highlight_lines(list(self.document.lines)).items():
            self._highlights[row].extend(spans)


class LintGutter(Widget):
    """Problems drawn on the row of their line, scrolled with the editor."""

    DEFAULT_CSS = "LintGutter { width: 1; height: 1fr; color: $error; }"
    problems: reactive[dict[int, str]] = reactive(dict, always_update=True)

    def __init__(self, area: TextArea, **kw: Any) -> None:
        super().__init__(**kw)
        self.area = area

    def on_mount(self) -> None:
        self.watch(self.area, "scroll_y", lambda *_: self.refresh(), init=False)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        row = int(self.area.scroll_y) + y
        wrapped = self.area.wrapped_document
        try:
            line = wrapped.offset_to_location((0, row))[0] if self.area.soft_wrap else row
            first = wrapped.location_to_offset((line, 0)).y == row if self.area.soft_wrap else True
        except Exception:  # noqa: BLE001 - a row past the end has nothing to show
            line, first = row, True
        message = self.problems.get(line + 1) if first else None
        if not message:
            return Strip.blank(width, self.rich_style)
        text = f"✗ {message}" if width > 3 else " ✗"
        return Strip([Segment(text[:width].ljust(width), self.rich_style)])


@dataclass
class Analysis:
    """What core says about the text being edited (computed off the UI thread)."""

    text: str
    template: Any = None
    problems: list[Any] = field(default_factory=list)
    preview: str = ""
    fill_label: str = ""
    plan: Any = None


class TemplateEditor(Vertical, can_focus=False):
    """The editor pane; it owns no files: the screen loads and saves (ctrl+s)."""

    ALLOW_MAXIMIZE = True

    BINDINGS = [
        Binding("ctrl+s", "screen.save_template", "Save version", id="editor.save"),
        Binding("ctrl+n", "next_fill", "Next fill", id="editor.next_fill"),
        Binding("ctrl+l", "screen.choose_template", "Templates", id="editor.choose"),
    ]
    DEFAULT_CSS = """
    TemplateEditor #editor-body { height: 1fr; }
    TemplateEditor TemplateArea { width: 1fr; height: 1fr; border: none; padding: 0; }
    TemplateEditor #problems { height: auto; max-height: 3; color: $error; }
    TemplateEditor #preview { height: 8; border-top: solid $panel; overflow-y: auto; }
    """

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
        self.analysis: Analysis | None = None
        self._loading = False

    def compose(self) -> ComposeResult:
        area = TemplateArea("", id="template-text", soft_wrap=False, show_line_numbers=True, tab_behavior="focus")
        with Horizontal(id="editor-body"):
            yield area
            yield LintGutter(area, id="lint-gutter")
        yield Static("", id="problems", markup=False)
        yield Static("(loading…)", id="preview", markup=False)

    @property
    def area(self) -> TemplateArea:
        return self.query_one(TemplateArea)

    @property
    def text(self) -> str:
        return self.area.text

    def load(self, name: str, path: Any, text: str, saved_text: str | None = None) -> None:
        self.name_label, self.path = name, path
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

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
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

    def analyse(self) -> None:
        self._analyse(self.text, self.fill_index, str(self.path) if self.path else self.name_label)

    @work(thread=True, exclusive=True, group="template-analysis", exit_on_error=False)
    def _analyse(self, text: str, fill_index: int, where: str) -> None:
        from studio.tui.preview import analyse_template

        self.post_message(self.Analysed(analyse_template(text, where, fill_index)))

    def on_template_editor_analysed(self, event: "TemplateEditor.Analysed") -> None:
        analysis = event.analysis
        if analysis.text != self.text:
            return  # stale: the text changed since
        self.analysis = analysis
        gutter = self.query_one(LintGutter)
        gutter.problems = {p.line: p.message for p in analysis.problems if p.line}
        self._fit_gutter()
        lines = [f"L{p.line}: {p.message}" + (f" — {p.hint}" if p.hint else "") if p.line else
                 (p.message + (f" — {p.hint}" if p.hint else "")) for p in analysis.problems]
        problems = self.query_one("#problems", Static)
        problems.update("\n".join(f"✗ {x}" for x in lines))
        problems.display = bool(lines)
        preview = self.query_one("#preview", Static)
        preview.border_title = f"preview · {analysis.fill_label}" if analysis.fill_label else "preview"
        preview.update(Text(analysis.preview))

    def _fit_gutter(self) -> None:
        """A thin gutter when all is well; room for the messages when there are problems and space."""
        gutter = self.query_one(LintGutter)
        if not gutter.problems:
            gutter.styles.width = 1
            return
        longest = max(len(m) for m in gutter.problems.values()) + 2
        gutter.styles.width = max(3, min(longest, 30, self.size.width // 3 if self.size.width >= 70 else 3))

    def on_resize(self) -> None:
        self._fit_gutter()
