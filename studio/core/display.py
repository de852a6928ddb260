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

`terminal_text` is for what the studio draws: only characters whose width in columns every table agrees on.
rich (which lays the screen out) and the terminal (tmux: the C library's wcwidth) count some text differently,
and each column of difference pushes the rest of the line over its frame (measured in tmux 3.3a at 80x24):
a ZWJ sequence (👨🏽‍💻: rich 2, tmux 4), an emoji presentation selector after a text-style symbol (❤️ ™️ 1️⃣:
rich 2, tmux 1), a skin-tone modifier (👍🏽: rich 2, tmux 4), a character newer than the terminal's table (🫨 of
Unicode 15: rich 2, tmux 0). So the joiners, variation selectors, skin tones, tag characters and the keycap
mark are dropped (👩‍👩‍👧‍👦 shows as 👩👩👧👦), other invisible format characters too (zero-width space, bidi
controls), regional indicators become their letters (🇺🇸 -> US), and a code point Unicode 14.0 has no
character for becomes U+FFFD. East Asian ambiguous characters (① α ½ ─) are left as they are: every table
here gives them one column, and the studio's own frame uses them. The stored data never changes.
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


#: dropped from what is drawn: zero-width joiner, variation selectors (1-256), emoji modifiers (skin tones), tag
#: characters (subdivision flags), the combining keycap, and the invisible format characters (zero-width space and
#: non-joiner, word joiner, invisible operators, bidi marks/embeddings/isolates, BOM, Mongolian vowel separator)
_DROP = [0x200D, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0), *range(0x1F3FB, 0x1F400), *range(0xE0000, 0xE0080),
         0x20E3, 0x200B, 0x200C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2060, 0x2065),
         *range(0x2066, 0x2070), 0xFEFF, 0x061C, 0x180E]
_MEMO_LIMIT = 1 << 16
_RANGES: tuple[list[int], list[int]] | None = None


class _Drawn(dict):
    """code point -> what is drawn for it (str.translate's table), filled as characters are first met, so a
    translate costs one C-level dict look-up a character after that (at most _MEMO_LIMIT entries kept)."""

    def __init__(self, extra: dict[int, int | str | None]) -> None:
        super().__init__(dict.fromkeys(_DROP))
        self.update({cp: chr(ord("A") + cp - 0x1F1E6) for cp in range(0x1F1E6, 0x1F200)})   # regional indicators
        self.update(extra)

    def __missing__(self, cp: int) -> int:
        global _RANGES
        if _RANGES is None:
            from studio.core.unicode14 import starts_and_ends

            _RANGES = starts_and_ends()
        from bisect import bisect_right

        starts, ends = _RANGES
        at = bisect_right(starts, cp) - 1
        drawn = 0xFFFD if at >= 0 and cp <= ends[at] else cp
        if len(self) < _MEMO_LIMIT:
            self[cp] = drawn
        return drawn


_DRAWN = _Drawn({})
_SCREEN = _Drawn(dict(_TABLE))
_LINE = _Drawn({**_TABLE, **_ONE_LINE})


def terminal_text(text: str) -> str:
    """`text` with only characters whose width the terminal and rich agree on (see above; ASCII is returned as
    it is). Not one for one: dropped characters shorten it."""
    return text if text.isascii() else text.translate(_DRAWN)


def printable_line(text: str) -> str:
    """`printable(text)` for one screen line drawn from raw segments (a list row, a gutter message): a tab is
    one space and a newline the ␤ stand-in, one for one, as a raw tab has no cell width there and shifts what
    follows (the row's right border and the frame behind it showed through); and `terminal_text`, in one pass."""
    if text.isascii() and text.isprintable():
        return text
    return text.translate(_LINE)


def screen_text(text: str) -> str:
    """`printable(text)` and `terminal_text` in one pass, newlines and tabs kept: data in a pane of several lines."""
    return printable(text) if text.isascii() else text.translate(_SCREEN)
