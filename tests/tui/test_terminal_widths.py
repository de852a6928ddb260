"""No text in the data can break a screen: characters whose width rich (the layout) and the terminal count
differently — ZWJ sequences, emoji selectors, skin tones, flags, zero-width and bidi characters, characters
newer than the terminal's table — are drawn so that both agree (studio.core.display.terminal_text, the line
filter studio.tui.widths). Table-driven over the kinds: a fast check of the functions, the terminal's own
count of what they draw (tmux, asked with DSR), and the real `studio` at 80×24 in tmux with one sample of each
kind: list rows, the review pane, the detail screen and the filter dialog keep every line at 80 columns with
the frame and the status bar in place. The stored data is not changed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color

from studio.core.display import printable_line, screen_text, terminal_text
from studio.tui.widths import TerminalWidths, fit

ROOT = Path(__file__).resolve().parents[2]
HAS_TMUX = shutil.which("tmux") is not None

KINDS = {
    "zwj family": "👩‍👩‍👧‍👦 family",
    "zwj rainbow flag": "🏳️‍🌈 pride",
    "zwj skin-tone coder": "👨🏽‍💻 coder",
    "zwj new in 15.1": "🐦‍🔥 phoenix",
    "vs16 after a text symbol": "❤️ love ™️ ©️ ↔️ ☀️",
    "keycap": "1️⃣ #️⃣ keys",
    "regional flags": "🇺🇸🇫🇷🇯🇵 and one 🇩",
    "subdivision flag": "🏴󠁧󠁢󠁥󠁮󠁧󠁿 england",
    "skin tones": "👍🏽 ok 👋🏿 hi",
    "lone skin tone": "tone 🏽 alone",
    "zero width": "zero\u200bwidth\u200cnon\u2060joiner\ufeffbom",
    "bidi controls": "abc\u202edef\u202c ghi\u2067jkl\u2069",
    "newer than unicode 14": "🫨 shaking 🩷 pink 🪿 goose",
    "unassigned": "gap \u0378 and \U0003fffd",
    "east asian ambiguous": "①②③ αβγ ±×÷ ½ ─┼ ○●",
    "wide cjk": "中文字符 日本語 한국어",
    "combining marks": "cafe\u0301 a\u0308\u0308\u0308 n\u0303",
    "vs15 text style": "☺︎ ☎︎ text",
}
#: what a person reads for each kind in a one-line row (the start of terminal_text of it)
SEEN = {
    "zwj family": "👩👩👧👦 family", "zwj rainbow flag": "🏳🌈 pride", "zwj skin-tone coder": "👨💻 coder",
    "zwj new in 15.1": "🐦🔥 phoenix", "vs16 after a text symbol": "❤ love ™ © ↔ ☀", "keycap": "1 # keys", "regional flags": "USFRJP and one D",
    "subdivision flag": "🏴 england", "skin tones": "👍 ok 👋 hi", "lone skin tone": "tone  alone",
    "zero width": "zerowidthnonjoinerbom", "bidi controls": "abcdef ghijkl",
    "newer than unicode 14": "� shaking � pink � goose", "unassigned": "gap � and �",
    "east asian ambiguous": KINDS["east asian ambiguous"], "wide cjk": KINDS["wide cjk"],
    "combining marks": KINDS["combining marks"], "vs15 text style": "☺ ☎ text",
}
IDS = list(KINDS)


def _per_char(text: str) -> int:
    return sum(cell_len(c) for c in text)


@pytest.mark.parametrize("kind", IDS)
def test_terminal_text_draws_each_kind_with_characters_of_one_agreed_width(kind):
    raw = KINDS[kind]
    drawn = terminal_text(raw)
    assert drawn == SEEN[kind]
    # nothing left that joins characters into one cell: rich's count is the sum of the characters' counts
    assert cell_len(drawn) == _per_char(drawn)
    assert terminal_text(drawn) == drawn                      # drawn once is drawn
    assert printable_line(f"{raw}\t{raw}\n") == f"{drawn} {drawn}␤"
    assert screen_text(f"{raw}\n\x1b") == f"{drawn}\n␛"


@pytest.mark.parametrize("kind", IDS)
def test_the_line_filter_keeps_the_layouts_width(kind):
    """A line rich laid out keeps its width in cells, each kind drawn with agreed characters."""
    raw = f"┃ {KINDS[kind]} ┃"
    [out] = TerminalWidths().apply([Segment(raw)], Color(0, 0, 0))
    assert cell_len(out.text) == cell_len(raw)
    assert terminal_text(out.text) == out.text and cell_len(out.text) == _per_char(out.text)
    assert fit("plain ascii") == "plain ascii"


def test_ascii_lines_pass_the_filter_untouched():
    segments = [Segment("▶· pending  12 v1 abcdef "), Segment("hello world")]
    assert TerminalWidths().apply(segments, Color(0, 0, 0)) is segments


# -- the terminal's own count (tmux) ---------------------------------------------------------------------------

class Pane:
    """A tmux session running one command, cleaned up by the fixture."""

    def __init__(self, command: str, width: int, height: int) -> None:
        self.name = f"studio-widths-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        f"{command}; sleep 60"], check=True)

    def keys(self, *keys: str, literal: bool = False) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *(["-l"] if literal else []), *keys], check=True)

    def screen(self) -> list[str]:
        shown = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True,
                               text=True).stdout
        return shown.split("\n")[:-1]

    def wait_until(self, check, what: str, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.screen()
            if check(lines):
                return lines
            time.sleep(0.1)
        raise AssertionError(f"{what} never showed; the screen was:\n" + "\n".join(self.screen()))

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def panes():
    made: list[Pane] = []

    def make(command: str, width: int = 80, height: int = 24) -> Pane:
        made.append(Pane(command, width, height))
        return made[-1]

    yield make
    for pane in made:
        pane.kill()


def terminal_widths(panes, tmp_path, texts: list[str]) -> list[int]:
    """Each text's width as tmux counts it (tests/support/termwidth.py in a 400-column pane)."""
    source, target = tmp_path / f"texts-{uuid.uuid4().hex[:6]}.json", tmp_path / f"widths-{uuid.uuid4().hex[:6]}.json"
    source.write_text(json.dumps(texts), encoding="utf-8")
    panes(f"{sys.executable} {ROOT}/tests/support/termwidth.py {source} {target}", width=400, height=5)
    deadline = time.monotonic() + 30
    while not target.exists():
        assert time.monotonic() < deadline, "the width probe never answered"
        time.sleep(0.05)
    return json.loads(target.read_text())


@pytest.mark.skipif(not HAS_TMUX, reason="tmux is not installed (apt-get install tmux)")
def test_tmux_counts_what_is_drawn_as_rich_does(panes, tmp_path):
    """The terminal's own count of each kind, drawn (terminal_text before layout, fit after it), equals rich's;
    the raw kinds it counts differently are printed (this tmux's disagreements)."""
    texts = []
    for kind in IDS:
        raw = KINDS[kind]
        texts += [raw, terminal_text(raw), fit(raw)]
    widths = terminal_widths(panes, tmp_path, ["中a", *texts])
    assert widths[0] == 3, "the probe does not measure"
    differs = []
    for n, kind in enumerate(IDS):
        raw_w, drawn_w, fit_w = widths[1 + 3 * n: 4 + 3 * n]
        raw = KINDS[kind]
        if raw_w != cell_len(raw):
            differs.append(f"{kind}: tmux {raw_w}, rich {cell_len(raw)}")
        assert drawn_w == cell_len(terminal_text(raw)), f"{kind}: tmux draws {terminal_text(raw)!r} in {drawn_w}"
        assert fit_w == cell_len(raw), f"{kind}: tmux draws {fit(raw)!r} in {fit_w}, the layout gave {cell_len(raw)}"
    print("raw text tmux counts differently from rich:", *differs, sep="\n  ")


LABELS = ["👍🏽good", "❤️ tone", "🇺🇸 flag", "zw\u200bj", "ok"]


@pytest.fixture
def widths_session(tmp_path):
    """A workspace whose only session holds one sample of each kind: long first lines, wrapped text, the kind in
    a slot value and in tag labels."""
    from studio.core.workspace import Workspace
    from studio.store import Store
    from tests.tui.conftest import make_samples

    Workspace.from_env(tmp_path).ensure()
    session = Store(tmp_path / "sessions").create("widths")
    session.set_meta(labels=LABELS)
    samples = make_samples(len(KINDS))
    for sample, kind in zip(samples, IDS):
        sample["output"] = " ".join([KINDS[kind]] * 12) + "\nsecond line " + KINDS[kind]
        sample["slots"] = {"customer": KINDS[kind], "product": "x" * 60}
        sample["tags"] = LABELS[:3]
    session.add_samples(samples)
    session.close()
    return tmp_path, [s["output"] for s in samples]


def check_frame(lines: list[str], widths: list[int], where: str, status: bool = True, dialog: bool = False) -> list[str]:
    """What is out of place on one 80×24 screen: a line wider than 80 columns (the terminal's count), a framed
    line not 80 wide or not closed by its border, the status bar missing."""
    bad = []
    if len(lines) != 24:
        bad.append(f"{where}: {len(lines)} lines")
    closing = {"┃": "┃", "┏": "┓", "┗": "┛", "│": "│", "╭": "╮", "╰": "╯"}
    for n, (line, width) in enumerate(zip(lines, widths)):
        if width > 80:
            bad.append(f"{where}: line {n} is {width} columns: {line!r}")
        first = line[:1]
        if first in closing:
            if width != 80 or not line.endswith(closing[first]):
                bad.append(f"{where}: line {n} is {width} columns, not closed by {closing[first]}: {line!r}")
            if not dialog and first in "┃│" and line.count(first) != 2:      # a dialog draws its own over them
                bad.append(f"{where}: line {n} has {line.count(first)} borders: {line!r}")
    if status and not any("✓0 ✗0 ·" in line for line in lines[-3:]):
        bad.append(f"{where}: no status bar at the bottom")
    return bad


@pytest.mark.skipif(not HAS_TMUX, reason="tmux is not installed (apt-get install tmux)")
def test_each_kind_keeps_every_line_in_its_frame_in_tmux_80x24(panes, widths_session):
    home, outputs = widths_session
    exe = shutil.which("studio")
    command = exe if exe else f"{sys.executable} -m studio"
    studio = panes(f"env PYTHONPATH={ROOT} STUDIO_HOME={home} TERM=xterm-256color LITELLM_LOCAL_MODEL_COST_MAP=True "
                   f"{command} open widths")
    studio.wait_until(lambda lines: any(f"{len(KINDS)} shown" in li for li in lines), "the session")
    studio.keys("F4")
    studio.keys("Home")
    screens: list[tuple[str, list[str]]] = []
    bad = []
    for n, kind in enumerate(IDS, start=1):
        shown = studio.wait_until(lambda lines, n=n: any(li.startswith(f"│#{n} ") for li in lines),
                                  f"the review pane on #{n}")
        time.sleep(0.2)
        screens.append((f"{kind} (list and review pane)", studio.screen()))
        if not any(SEEN[kind][:8] in li for li in shown):
            bad.append(f"{kind}: {SEEN[kind]!r} is not on screen")
        studio.keys("Enter")
        studio.wait_until(lambda lines, n=n: not any(li.startswith(f"│#{n} ") for li in lines),
                          "the detail screen")
        time.sleep(0.2)
        screens.append((f"{kind} (detail screen)", studio.screen()))
        studio.keys("Escape")
        studio.wait_until(lambda lines, n=n: any(li.startswith(f"│#{n} ") for li in lines), "the list again")
        if n < len(KINDS):
            studio.keys("j")
    studio.keys("/", literal=True)
    studio.wait_until(lambda lines: any("Filter samples" in li for li in lines), "the filter dialog")
    time.sleep(1.0)     # keys typed in a dialog's first moments can be lost (bench/review.py DIALOG)
    typed = " ".join(KINDS[k] for k in IDS[:10])[:60]
    studio.keys(typed, literal=True)
    studio.wait_until(lambda lines: any(terminal_text(typed)[:6] in li for li in lines), "the typed filter text")
    time.sleep(0.3)
    screens.append(("filter dialog", studio.screen()))
    studio.keys("Escape")

    lines = [line for _, screen in screens for line in screen]
    widths = iter(terminal_widths(panes, home, lines))
    for where, screen in screens:
        bad += check_frame(screen, [next(widths) for _ in screen], where, status="detail" not in where,
                           dialog="dialog" in where)
        if "detail" in where and not (screen[0].startswith("┏") and screen[-1].startswith("┗")):
            bad.append(f"{where}: the detail screen's frame is not at the top and bottom")
    assert not bad, "\n".join(bad)

    from studio.store import Store

    session = Store(home / "sessions").open("widths", read_only=True)
    assert [session.get(i)["output"] for i in session.ids()] == outputs      # what is stored is untouched
    session.close()
