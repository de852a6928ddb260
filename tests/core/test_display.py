"""printable: every character that moves a cursor, recolours, or breaks a line or a cell's width (but "\n" and
"\t") becomes one visible one-column stand-in, so a row's width in cells never changes."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from studio.core.display import printable


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
