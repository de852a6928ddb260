"""The editor's text area (template highlighting) and its lint gutter. A module of its own because TextArea
is the heaviest widget to import and mount: the editor pane imports it only after the first frame."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import TextArea

from studio.core.display import printable_line
from studio.tui.highlight import highlight_lines
from studio.tui.guard import guarded


@guarded
class TemplateArea(TextArea):
    """A TextArea that highlights template syntax itself (no tree-sitter needed)."""

    def _build_highlight_map(self) -> None:
        self._line_cache.clear()
        self._highlights.clear()
        for row, spans in highlight_lines(list(self.document.lines)).items():
            self._highlights[row].extend(spans)


@guarded
class LintGutter(Widget):
    """Problems drawn on the row of their line, scrolled with the editor."""

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
        text = printable_line(f"✗ {message}") if width > 3 else " ✗"
        return Strip([Segment(text, self.rich_style)]).crop(0, width).extend_cell_length(width, self.rich_style)
