"""Run inside a terminal (tmux): how many columns the terminal itself moves the cursor for each text.

    python tests/support/termwidth.py IN.json OUT.json

IN holds a JSON list of texts; each is written at the start of a cleared line and the terminal is asked where
its cursor is (DSR 6, answered with CPR); OUT gets the list of column counts. The terminal's own answer, not a
table's guess (tests/tui/test_terminal_widths.py)."""

from __future__ import annotations

import json
import os
import re
import sys
import termios
import tty


def main(source: str, target: str) -> None:
    texts = json.loads(open(source, encoding="utf-8").read())
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    widths = []
    try:
        for text in texts:
            os.write(1, b"\x1b[H\x1b[2K" + text.encode("utf-8", "surrogatepass") + b"\x1b[6n")
            reply = b""
            while not re.search(rb"\x1b\[\d+;\d+R", reply):
                reply += os.read(fd, 64)
            widths.append(int(re.search(rb"\x1b\[\d+;(\d+)R", reply).group(1)) - 1)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    with open(target + ".part", "w", encoding="utf-8") as out:
        json.dump(widths, out)
    os.replace(target + ".part", target)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
