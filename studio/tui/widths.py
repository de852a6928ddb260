"""The last step before the terminal: every line the studio draws, in every screen and widget (lists, panes,
dialogs, inputs, the editor, notifications), holds only characters whose width the terminal agrees with rich
on (studio.core.display.terminal_text says which, and why: tmux counts a ZWJ sequence, an emoji selector, a
skin tone or a too-new character differently, and the rest of the line ran over its frame).

A Textual line filter: it sees each line after rich laid it out, so it keeps the layout's widths. A piece of
text (a character with the joiners, selectors and modifiers after it) that changes is drawn in the columns
rich gave it: ❤️ (2 columns) as ❤ and a space, 👨🏽‍💻 (2) as 👨, 🫨 as U+FFFD and a space. Panes that show data
already pass it through `terminal_text` before layout (👩‍👩‍👧‍👦 reads 👩👩👧👦 there); this catches the rest.
Lines of plain ASCII cost one `isascii` a segment; Textual keeps each filtered line until it changes.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from studio.core.display import terminal_text

_JOINER = "\u200d"
#: what belongs to the character before it: variation selectors, skin tones, tag characters, the keycap mark
_EXTEND = frozenset([*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0), *range(0x1F3FB, 0x1F400),
                     *range(0xE0000, 0xE0080), 0x20E3, 0x200D])


def fit(text: str) -> str:
    """`text` drawn with terminal-safe characters in the same number of cells (rich's count) as `text`."""
    parts = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and ord(text[j]) in _EXTEND:
            j += 2 if text[j] == _JOINER else 1      # a joiner takes the character after it
        piece = text[i:j]
        drawn = terminal_text(piece)
        if drawn != piece:
            width, now = cell_len(piece), cell_len(drawn)
            drawn = drawn + " " * (width - now) if now <= width else set_cell_size(drawn, width)
        parts.append(drawn)
        i = j
    out = "".join(parts)
    width = cell_len(text)
    return out if cell_len(out) == width else set_cell_size(out, width)


class TerminalWidths(LineFilter):
    """Line filter: segments whose text the terminal would measure differently are redrawn by `fit`."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        out = None
        for i, segment in enumerate(segments):
            text = segment.text
            if text.isascii() or segment.control or terminal_text(text) == text:
                continue
            if out is None:
                out = list(segments)
            out[i] = Segment(fit(text), segment.style, segment.control)
        return segments if out is None else out
