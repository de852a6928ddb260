"""The sample stream: a virtual list over sample ids (one line drawn per visible row, never a widget per sample).

Rows come from a cache the screen fills from the session off the UI thread; missing rows draw as `…` and
are asked for with `NeedRows`. New samples append at the bottom; the view follows only if the reader was
already at the newest one, so reading is never interrupted.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from studio.tui.format import row_text
from studio.tui.guard import guarded

# Review keys: shared by the stream and the tagger pane; the screen does the work.
REVIEW_BINDINGS = [
    Binding("space", "screen.accept_next", "Accept+next", id="review.accept_next"),
    Binding("a", "screen.accept", "Accept", id="review.accept"),
    Binding("x", "screen.reject", "Reject", id="review.reject"),
    Binding("u", "screen.undo", "Undo", id="review.undo"),
    Binding("n", "screen.note", "Note", id="review.note"),
    *[Binding(str(i), f"screen.toggle_tag({i})", f"Tag {i}", show=False, id=f"review.tag{i}") for i in range(1, 10)],
    Binding("j,down", "screen.move(1)", "Next", show=False, id="review.next"),
    Binding("k,up", "screen.move(-1)", "Previous", show=False, id="review.prev"),
    Binding("p", "screen.toggle_prompt", "Prompt/output", show=False, id="review.prompt"),
    Binding("J", "screen.scroll_review(1)", "Scroll text down", show=False, id="review.scroll_down"),
    Binding("K", "screen.scroll_review(-1)", "Scroll text up", show=False, id="review.scroll_up"),
    Binding("enter", "screen.detail", "Detail", id="review.detail"),
    Binding("slash", "screen.filter", "Filter", id="review.filter"),
    Binding("A", "screen.bulk('accepted')", "Accept all shown", show=False, id="review.bulk_accept"),
    Binding("X", "screen.bulk('rejected')", "Reject all shown", show=False, id="review.bulk_reject"),
    Binding("T", "screen.bulk_tag", "Tag all shown", show=False, id="review.bulk_tag"),
    Binding("L", "screen.edit_labels", "Edit tag labels", show=False, id="review.labels"),
]


@guarded
class SampleList(ScrollView, can_focus=True):
    """Virtual list of samples; `cursor` is an index into `ids`."""

    COMPONENT_CLASSES = {"samplelist--cursor", "samplelist--accepted", "samplelist--rejected",
                         "samplelist--failed", "samplelist--pending", "samplelist--dim"}
    BINDINGS = [
        *REVIEW_BINDINGS,
        # the screen's: it moves the list and the review pane in the same frame (a Selected message is handled
        # after the list's frame is out, and Textual's next frame is ~30 ms later: two frames for one key)
        Binding("pageup", "screen.page(-1)", "Page up", show=False, id="stream.page_up"),
        Binding("pagedown", "screen.page(1)", "Page down", show=False, id="stream.page_down"),
        Binding("home", "screen.jump(0)", "First", show=False, id="stream.first"),
        Binding("end,G", "screen.jump(-1)", "Newest", show=False, id="stream.newest"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Selected(Message):
        def __init__(self, sample_id: int | None) -> None:
            super().__init__()
            self.sample_id = sample_id

    class NeedRows(Message):
        def __init__(self, ids: list[int]) -> None:
            super().__init__()
            self.ids = ids

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, SampleList.NeedRows)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ids: list[int] = []
        self.rows: dict[int, dict[str, Any]] = {}
        self._asked: set[int] = set()
        self._last_selected: int | None = -1
        self.empty_message = " no samples yet — press ctrl+g to generate"  # the screen says when a filter hid all

    # -- data -------------------------------------------------------------------------------------
    @property
    def current_id(self) -> int | None:
        return self.ids[self.cursor] if 0 <= self.cursor < len(self.ids) else None

    def set_ids(self, ids: list[int], *, keep: int | None = None) -> None:
        """Show these ids; keep the cursor on sample `keep` when it is still there, else the newest."""
        self.ids = list(ids)
        self._asked.clear()
        self._resize()
        index = len(self.ids) - 1
        if keep is not None:
            try:
                index = self.ids.index(keep)
            except ValueError:
                pass
        self.cursor = max(0, index)
        self.refresh()

    def append_ids(self, new: list[int]) -> None:
        """Add newer samples at the bottom; follow them only if the cursor was on the newest."""
        if not new:
            return
        following = not self.ids or self.cursor >= len(self.ids) - 1
        self.ids.extend(new)
        self._resize()
        if following:
            self.cursor = len(self.ids) - 1
        self.refresh()

    def update_rows(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.rows[row["id"]] = row
            self._asked.discard(row["id"])
        self.refresh()

    def update_row(self, sample_id: int, **fields: Any) -> None:
        row = self.rows.get(sample_id)
        if row is not None:
            row.update(fields)
            self.refresh_id(sample_id)

    def refresh_id(self, sample_id: int) -> None:
        try:
            index = self.ids.index(sample_id) if self.current_id != sample_id else self.cursor
        except ValueError:
            return
        self.refresh_lines(index)

    def refresh_lines(self, index: int, line_count: int = 1) -> None:
        """Repaint rows by their index in `ids` (ScrollView.refresh_lines takes content lines and subtracts the
        scroll offset itself: subtracting it here too left scrolled rows stale, issue 16 §2)."""
        super().refresh_lines(index, line_count)

    def _resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.ids))

    def on_resize(self) -> None:
        self._resize()
        self._show_cursor()

    def _show_cursor(self) -> None:
        """Keep the selected row in view (a pane that shrinks, e.g. when the layout changes, must not hide it)."""
        if self.ids:
            self.scroll_to_region(Region(0, self.cursor, 1, 1), animate=False, immediate=True, force=True)

    # -- movement ---------------------------------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.ids) - 1)) if self.ids else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_lines(old)
        self.refresh_lines(new)
        if self.ids:
            self.scroll_to_region(Region(0, new, 1, 1), animate=False, immediate=True, force=True)
        current = self.current_id
        if current != self._last_selected:
            self._last_selected = current
            self.post_message(self.Selected(current))

    def move(self, delta: int) -> None:
        self.cursor = self.cursor + delta

    def action_page(self, direction: int) -> None:
        self.move(direction * max(1, self.size.height - 1))

    def action_jump(self, index: int) -> None:
        self.cursor = index if index >= 0 else len(self.ids) - 1

    def on_click(self, event) -> None:
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < len(self.ids):
            self.cursor = index

    # -- drawing ----------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        index = int(self.scroll_offset.y) + y
        if index >= len(self.ids) or width <= 0:
            if not self.ids and y == 0:
                return Strip([Segment(self.empty_message.ljust(width)[:width],
                                      self.get_component_rich_style("samplelist--dim"))])
            return Strip.blank(width, self.rich_style)
        sample_id = self.ids[index]
        row = self.rows.get(sample_id)
        if row is None:
            self._ask_for_rows(index)
        head, mid, tail = row_text(row, sample_id, len(str(self.ids[-1])), width)
        base = self.rich_style
        status = (row or {}).get("status", "pending")
        head_style = base + self.get_component_rich_style(f"samplelist--{status}")
        marker = "▶" if index == self.cursor else " "
        segments = [Segment(marker, base), Segment(head, head_style), Segment(mid, base),
                    Segment(tail, base)]
        strip = Strip(segments).crop(0, width)
        strip = strip.extend_cell_length(width, base)
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("samplelist--cursor")
                                      if self.has_focus else Style(underline=True))
        return strip

    def _ask_for_rows(self, index: int) -> None:
        """Ask for the rows around the viewport that are not cached yet (one request per repaint)."""
        top = int(self.scroll_offset.y)
        window = self.ids[max(0, top - 50): top + self.size.height + 100]
        missing = [i for i in window if i not in self.rows and i not in self._asked]
        if missing:
            self._asked.update(missing)
            self.post_message(self.NeedRows(missing))

    def on_focus(self) -> None:
        self.refresh_lines(self.cursor)

    def on_blur(self) -> None:
        self.refresh_lines(self.cursor)


@guarded
class StreamPane(Vertical):
    """The stream pane: a one-line summary of what is shown, then the list."""

    ALLOW_MAXIMIZE = True
