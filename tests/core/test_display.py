"""printable: every character that moves a cursor, recolours, or breaks a line or a cell's width (but "\n" and
"\t") becomes one visible one-column stand-in, so a row's width in cells never changes."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from studio.core.display import printable, printable_line


@pytest.mark.parametrize("raw, seen", [
    ("a\x1b[2Jb", "a␛[2Jb"), ("x\ry", "x␍y"), ("\x00", "␀"), ("\x7f", "␡"), ("a\x9bb", "a�b"),
    ("Ann\u2028Lee", "Ann␤Lee"), ("one\u2029two", "one¶two"), ("up\x85down", "up␤down"),
    ("a\x0bb\x0cc", "a␋b␌c"), ("keep\nnewline\tand tab", "keep\nnewline\tand tab"), ("plain", "plain"),
], ids=["esc", "cr", "nul", "del", "c1", "line sep", "para sep", "nel", "vt ff", "kept", "plain"])
def test_each_breaker_has_a_one_column_stand_in(raw, seen):
    assert printable(raw) == seen
    assert len(printable(raw)) == len(raw)
    if "\t" not in raw:
        assert cell_len(printable(raw).replace("\n", "")) == len(raw.replace("\n", ""))   # one cell a character
    assert printable(raw).splitlines() == seen.split("\n")   # nothing but "\n" breaks the shown line


@pytest.mark.parametrize("raw", ["a\tb", "\t\tlead", "two\nlines", "tab\tand\x1b[1mesc\u2028sep\r", "列\t表"],
                         ids=["tab", "leading tabs", "newline", "mixed", "wide"])
def test_a_line_drawn_from_raw_segments_has_one_cell_a_character(raw):
    """List rows are drawn as raw segments, where a tab has no width: printable_line leaves nothing that
    moves the cursor, one stand-in for each character."""
    line = printable_line(raw)
    assert "\t" not in line and "\n" not in line and len(line) == len(raw)
    assert cell_len(line) == cell_len(raw.replace("\t", " ").replace("\n", " ").replace("\x1b", " ")
                                      .replace("\u2028", " ").replace("\r", " "))


def test_the_unicode_14_table_is_what_unicodedata_14_says():
    """core/unicode14.py was generated from Unicode 14.0 (Python 3.11): a character there is drawn as U+FFFD,
    every assigned one as it is (checked on every 5th code point where Python's tables are 14.0)."""
    import unicodedata

    from studio.core.display import terminal_text

    if unicodedata.unidata_version != "14.0.0":
        pytest.skip(f"Python's unicodedata is {unicodedata.unidata_version}")
    dropped = {0x200D, 0x20E3, 0x200B, 0x200C, 0x200E, 0x200F, 0xFEFF, 0x061C, 0x180E}
    for cp in range(0x80, 0x110000, 5):
        if cp in dropped or 0xFE00 <= cp < 0xFE10 or 0x1F3FB <= cp < 0x1F400 or 0xE0000 <= cp < 0xE01F0 \
                or 0x202A <= cp < 0x2070 or 0x1F1E6 <= cp < 0x1F200:
            continue
        missing = unicodedata.category(chr(cp)) in ("Cn", "Cs")
        assert terminal_text(chr(cp)) == ("\ufffd" if missing else chr(cp)), hex(cp)
