"""Text from data made safe to put on a terminal, character for character.

Data holds control characters (ANSI escapes in logs, carriage returns, NUL bytes from files). Written raw,
they recolour, move the cursor or clear a screen. `printable` swaps each for a visible stand-in of the same
length (C0 controls and DEL: the Unicode control pictures ␛ ␍ ␀ ␡; C1 controls: �), so positions and
styles laid over the text stay where they were. Newlines and tabs are kept.

One rule for the other line breaks (U+2028 LINE SEPARATOR, U+0085 NEL: ␤; U+2029 PARAGRAPH SEPARATOR: ¶;
vertical tab and form feed: ␋ ␌): they are shown as a visible one-column stand-in everywhere, one-line and
multi-line alike, because terminals, Textual and browsers each break (or don't) at them differently, which
cuts list rows and misaligns table cells. Only "\n" breaks a line on a screen. Markup is the front ends'
business (rich/Textual): they show data as plain Text objects (studio.analysis.tables.plain).
"""

from __future__ import annotations

_TABLE = {c: 0x2400 + c for c in range(0x20) if chr(c) not in "\n\t"}
_TABLE[0x7F] = 0x2421
_TABLE.update(dict.fromkeys(range(0x80, 0xA0), 0xFFFD))
_TABLE.update({0x85: 0x2424, 0x2028: 0x2424, 0x2029: 0xB6})     # NEL, line and paragraph separators


_ONE_LINE = {ord("\t"): " ", ord("\n"): "\u2424"}


def printable(text: str) -> str:
    """`text` with control characters and line separators (but newline and tab) replaced one for one by visible stand-ins."""
    if text.isprintable():           # the common case: one C-level scan (newlines and tabs are not printable)
        return text
    return text.translate(_TABLE)


def printable_line(text: str) -> str:
    """`printable(text)` for one screen line drawn from raw segments (a list row, a gutter message): a tab is
    one space and a newline the ␤ stand-in, one for one, as a raw tab has no cell width there and shifts what
    follows (the row's right border and the frame behind it showed through)."""
    return printable(text).translate(_ONE_LINE)
