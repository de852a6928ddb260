"""Text that looks like markup or control codes: what data really holds (chat templates, BBCode, forum
quotes, terminal logs, other scripts). Each must reach a screen literally, never restyle it or crash it.

MARKUP: (name, text). `shown(text)` is the part of a text a screen must show verbatim (control characters
may be replaced by a visible stand-in or dropped, and a 10,000-character word is only checked by its start).
"""

from __future__ import annotations

LONG_WORD = "x" * 10_000

MARKUP: list[tuple[str, str]] = [
    ("llama closing tag", "[/INST]"),
    ("llama prompt", "<s>[INST] hi [/INST] hello</s>"),
    ("bbcode quote close", "[/quote]"),
    ("bare close", "[/]"),
    ("rich bold", "[bold]x"),
    ("rich bold closed", "[bold red]loud[/bold red]"),
    ("rich link", "[link=https://example.com]click[/link]"),
    ("textual action", "[@click=app.quit]quit[/]"),
    ("textual variable", "$accent"),
    ("textual variable markup", "[$accent]x[/$accent]"),
    ("rich emoji code", ":warning: :smile:"),
    ("square brackets list", "[1, 2, [3]]"),
    ("escaped bracket", "\\[bold] and \\\\[/]"),
    ("unbalanced open", "[[[[ ]]"),
    ("style with spaces", "[on #ff0000 blink]x"),
    ("ansi colour", "\x1b[31mred\x1b[0m"),
    ("ansi clear screen", "\x1b[2J\x1b[H"),
    ("osc title", "\x1b]0;pwned\x07"),
    ("c0 controls", "a\x00b\x07c\x08d"),
    ("c1 controls", "a\x85b\x9bc"),
    ("carriage return", "visible\rhidden"),
    ("tab", "a\tb"),
    ("line separator", "Ann\u2028Lee"),
    ("paragraph separator", "one\u2029two"),
    ("next line", "up\x85down"),
    ("vertical tab and form feed", "a\x0bb\x0cc"),
    ("rtl text", "שלום עולם [/INST]"),
    ("rtl override", "abc\u202edcba"),
    ("zero width", "a\u200bb\u200dc\ufeffd"),
    ("long word", LONG_WORD),
    ("emoji and wide", "👩‍💻 家族 🇯🇵 [/]"),
    ("percent format", "%s %(name)s {0} {name}"),
    ("jinja-like", "{{ slot }} {% if %}"),
]

# characters a terminal must not receive raw; a screen may show them as a stand-in or drop them
CONTROL = {chr(c) for c in range(0x20) if chr(c) not in "\n\t"} | {chr(c) for c in range(0x7f, 0xa0)}
# characters that break a line or a cell's width: never shown raw (studio.core.display: a visible stand-in)
BREAKS = "\x0b\x0c\r\x85\u2028\u2029"


def shown(text: str) -> str:
    """The longest run of ordinary printable text in `text` that a screen must show as it is (a marker)."""
    runs, cur = [], []
    for ch in text:
        if ch in CONTROL or ch in "\n\t\u202e\u200b\u200d\ufeff" or ord(ch) > 0x2000:
            runs.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    runs.append("".join(cur))
    best = max(runs, key=len).strip()
    return best[:40]
