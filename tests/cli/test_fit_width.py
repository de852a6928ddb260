"""Every table and summary a command prints fits an 80- (and a 60-) column terminal: no line runs past the
width (the terminal would crop or break it where it likes) and every value's start is on screen (folded,
wrapped or abbreviated with a visible `…`, never cropped silently). Long template names, slot values and
URLs, wide CJK text and emoji, long tags, models and fleet endpoints; one row per command."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from rich.cells import cell_len, set_cell_size

from studio.cli.main import main

NAME = "customer-support-escalation-with-a-very-long-descriptive-name-variant-two"
SHORT_NAME = "contrast-pairs"
SESSION = "fit-session-with-a-rather-long-name-for-checking-table-widths"
URL = "https://example.com/a/very/long/url/path/that/has/no/spaces/at/all/and/keeps/going/forever/amen"
VALUES = ["Invoices: the PDF attached to the monthly statement email shows a total that disagrees with the dashboard",
          "登録したメールアドレスに確認コードが届かず、ログインできない状態が三日間続いています", URL,
          "🎉🎉🎉 emoji party 🎉🎉🎉 with a long tail of text that keeps going", "short"]
TONES = ["formal", "丁寧な言葉遣いで、しかし簡潔に答えてください"]
TAGS = ["too-long-and-rambling-answer-with-no-structure-at-all", "事実誤認", "🙈-wrong-emoji-tag"]
MODEL = "hosted_vllm/meta-llama/Llama-3.1-70B-Instruct-with-a-long-deployment-name"
ENDPOINTS = ["https://gpu-node-0001.us-east-1.inference.cluster.example-company-internal.com:8443/openai/v1",
             "https://gpu-node-0002.us-east-1.inference.cluster.example-company-internal.com:8443/openai/v1"]
COMMENTS = ["the answer was far too wordy and it kept repeating the same disclaimer about the invoice three times",
            "回答が長すぎて要点がわかりませんでした。もっと短くしてください", "wrong: the refund policy is 30 days not 14"]


def body(extra: str = "") -> str:
    values = json.dumps(VALUES, ensure_ascii=False)
    tones = json.dumps(TONES, ensure_ascii=False)
    return (f"---\nname: {NAME}\nmode: render\nslots:\n  issue: {values}\n  tone: {tones}\n---\n"
            f"user:\nReply about {{{{ issue }}}} in a {{{{ tone }}}} tone.{extra}\nassistant:\n"
            "I am sorry about {{ issue }}.\n")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A workspace whose session holds every long or wide kind of value, in two template versions."""
    from studio.core.workspace import Workspace
    from studio.store import Store

    root = tmp_path_factory.mktemp("fit")
    old = os.environ.get("STUDIO_HOME")
    os.environ["STUDIO_HOME"] = str(root)
    try:
        w = Workspace.from_env(root).ensure()
        path = w.templates_dir / f"{NAME}.prompt"
        path.write_text(body())
        assert main(["run", NAME, "--session", SESSION, "--json"]) == 0
        path.write_text(body(" Be brief."))
        assert main(["run", NAME, "--session", SESSION, "--json"]) == 0
        # a short hyphenated name beside long run ids (the tryout's `contrast-` / `pairs` in `studio show`)
        (w.templates_dir / f"{SHORT_NAME}.prompt").write_text(
            f"---\nname: {SHORT_NAME}\nmode: render\nslots:\n  x: [a, b]\n---\nuser:\nSay {{{{ x }}}}.\n"
            "assistant:\n{{ x }}\n")
        assert main(["run", SHORT_NAME, "--session", SESSION, "--json"]) == 0
        fb = root / "feedback.jsonl"
        fb.write_text("".join(json.dumps({"prompt": f"question {i}", "response": "an answer", "comment": c,
                                          "rating": 1}, ensure_ascii=False) + "\n" for i, c in enumerate(COMMENTS)))
        assert main(["feedback", "import", str(fb), "--session", SESSION]) == 0
        with Store(w.sessions_dir).open(SESSION) as s:
            s.add_run({"template": NAME, "model": MODEL, "saved": 12345, "status": "done", "started": time.time(),
                       "served": {ENDPOINTS[0]: 6200, ENDPOINTS[1]: 6145}})
            for k, i in enumerate(s.ids()):
                if k % 3 == 0:
                    s.accept(i)
                elif k % 3 == 1:
                    s.reject(i)
                    s.toggle_tag(i, TAGS[k // 3 % len(TAGS)])
                verdict = ("correct", "incorrect", "unsure")[k % 3]
                s.update_sample(i, followups={"double-check": {"output": "checked", "verdict": verdict,
                                                               "model": MODEL}})
        yield w
    finally:
        if old is None:
            os.environ.pop("STUDIO_HOME", None)
        else:
            os.environ["STUDIO_HOME"] = old


# command -> the values whose start must be on screen (besides the tags, templates, ... every row names)
COMMANDS = {
    "sessions": ["sessions"],
    "show": ["show", SESSION],
    "report": ["report", SESSION, "--top", "100", "--min-count", "1"],
    "report --compare": ["report", SESSION, "--compare", NAME],
    "slots": ["slots", NAME],
    "lint": ["lint"],
    "render": ["render", NAME, "-n", "10", "--strategy", "product"],
    "verify --disagreements": ["verify", SESSION, "--disagreements"],
    "feedback list": ["feedback", "list", "--session", SESSION],
    "export --dry-run": ["export", SESSION, "-f", "openai-chat", "-o", "out", "--dry-run",
                         "--status", "accepted,rejected,pending"],
}
SHOWN = {
    "sessions": [SESSION],
    "show": [SESSION, NAME, SHORT_NAME, MODEL, *TAGS, *ENDPOINTS, "v1", "v2"],
    "report": [SESSION, NAME, *VALUES, *TONES, "v1", "v2"],
    "report --compare": [NAME, "v1", "v2", "Be brief."],
    "slots": [NAME, "issue", "tone"],
    "lint": [],
    "render": [NAME, VALUES[0]],
    "verify --disagreements": [NAME],
    "feedback list": [COMMENTS[0], COMMENTS[1]],
    "export --dry-run": [SESSION],
}


def soft_wrapped(command: str, line: str) -> bool:
    """Lines printed unbroken on purpose, for copying: JSON rows of an export preview (breaking them would
    break the JSON) and file paths. The terminal wraps them; nothing is cropped."""
    return command.startswith("export") and line.startswith((" ", "{", "}", "wrote "))


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_table_fits_the_terminal(ws, command, width, monkeypatch, capsys):
    from rich.console import Console

    from studio.cli.console import DataConsole, console, error_console

    # a line wider than the terminal reaches the test as it is (the console would crop it silently)
    monkeypatch.setattr(DataConsole, "print", lambda self, *a, **k: Console.print(self, *a, **{**k, "crop": False}))
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(ws.root)
    console.cache_clear()
    error_console.cache_clear()
    try:
        capsys.readouterr()
        code = main(COMMANDS[command])
        out, err = capsys.readouterr()
        if os.environ.get("FIT_DUMP"):
            (Path(os.environ["FIT_DUMP"]) / f"{command}-{width}.txt").write_text(out)
    finally:
        console.cache_clear()
        error_console.cache_clear()
    assert code == 0, err
    too_wide = [line for line in out.splitlines() if cell_len(line) > width and not soft_wrapped(command, line)]
    assert not too_wide, f"{command} at {width} columns:\n" + "\n".join(too_wide)
    for value in SHOWN[command]:
        start = set_cell_size(value.split()[0], 6 if width >= 80 else 4).rstrip()   # 6 cells: 3 CJK characters
        assert start in out, f"{command} at {width}: {value!r} does not start on screen:\n{out}"


WORDS = sorted({w for v in [*VALUES, *TONES, *TAGS, NAME, SHORT_NAME, SESSION, MODEL, *ENDPOINTS, *COMMENTS,
                             "Be brief."]
                for w in v.split() if len(w) >= 4}, key=len)    # shorter ones match by chance
# a data word this wide (cells) always fits its column, so it is never split: 16 cells at 80 columns; 7 at 60,
# where a table of ten columns (report's versions) leaves about six cells a column
SHORT = {80: 16, 60: 7}


def _cells(line: str) -> list[str]:
    """The line as terminal cells: a wide character takes its cell and an empty one after it."""
    out: list[str] = []
    for ch in line:
        out += [ch] + [""] * (cell_len(ch) - 1)
    return out


def folds(out: str, word: str) -> list[str]:
    """Where `word` is split over lines of one column (rich's fold: the word goes on at the column's left
    edge on the next line, at or left of where it started): each as `start|next|...`."""
    found = []
    lines = [_cells(line) for line in out.splitlines()]

    def piece(line: list[str], at: int, rest: str) -> int:
        """How much of `rest` stands at cell `at` of `line`, ending the column there (0: none)."""
        text = "".join(line[at:at + cell_len(rest)])
        k = len(rest)
        while k and not text.startswith(rest[:k]):
            k -= 1
        end = at + cell_len(rest[:k])
        if k and k < len(rest) and end < len(line) and line[end] not in (" ", ""):
            return 0                                       # text goes on in the same line: not a fold
        return k

    def inside(cells: list[str], at: int) -> bool:   # a cell of a longer word (`escalation-with-a` holds
        return 0 <= at < len(cells) and (cells[at].isalnum() or cells[at] in "-/._")   # `with`, not the word)

    for i, upper in enumerate(lines):
        for col in range(len(upper)):
            if upper[col] == "" or inside(upper, col - 1) or (k := piece(upper, col, word)) < 2 or k == len(word):
                continue                                   # one cell matches by chance; whole is not split
            parts, rest, edge = [word[:k]], word[k:], col
            for line in lines[i + 1:]:
                starts = [p for p in range(min(edge, len(line) - 1), -1, -1)
                          if (p == 0 or line[p - 1] == " ") and line[p] != ""]
                got = next(((p, n) for p in starts if (n := piece(line, p, rest))), None)
                if got is None:
                    break
                edge, n = got
                parts.append(rest[:n])
                rest = rest[n:]
                if not rest:
                    if not inside(line, edge + cell_len(parts[-1])):
                        found.append("|".join(parts))
                    break
    return found


def whole_or_folded_or_marked(out: str, word: str) -> bool:
    """The word is on screen: whole, folded over lines of its column, or abbreviated with a visible `…`."""
    flat = " ".join(out.split())
    if word in out or folds(out, word):
        return True
    return any(word[:k] + "…" in flat for k in range(len(word), 0, -1))


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_word_that_fits_a_column_is_split(ws, command, width, monkeypatch, capsys):
    """Tables wrap at word boundaries: a data word is split (folded, nothing lost) only when it is longer than
    its column can be; an identifier gives way to a unique prefix + `…` first (`studio show`'s run ids:
    contrast-pairs once folded as `contrast-` / `pairs` beside a 24-cell run id). And nothing is cut
    silently: every value's first word is on screen whole, folded, or abbreviated with `…`."""
    from studio.cli.console import console, error_console

    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(ws.root)
    console.cache_clear()
    error_console.cache_clear()
    try:
        capsys.readouterr()
        assert main(COMMANDS[command]) == 0
        out = capsys.readouterr().out
    finally:
        console.cache_clear()
        error_console.cache_clear()
    split = {w: f for w in WORDS if cell_len(w) <= SHORT[width] and (f := folds(out, w))}
    assert not split, f"{command} at {width}: words split although they fit: {split}\n{out}"
    for value in SHOWN[command]:
        assert whole_or_folded_or_marked(out, value.split()[0]), f"{command} at {width}: {value!r} cut\n{out}"


@pytest.mark.parametrize("width", [80, 60])
def test_a_run_id_gives_way_to_a_unique_prefix_before_a_word_is_split(width):
    """The tryout's `studio show` runs table: the run ids shorten to prefixes that still tell them apart (with
    a visible `…`) and the template's name stays whole."""
    from rich.console import Console

    from studio.analysis.tables import table

    runs = ["20261130-034314-f15abc", "20261130-035120-9d0e11", "20261130-040244-f161fb"]
    t = table("runs")
    for col in ("run", "template", "model", "status", "samples", "started"):
        t.add_column(col, no_wrap=col not in ("template", "model", "started"), ident=col == "run")
    for r in runs:
        t.add_row(r, "contrast-pairs", "render", "done", "1,024", "11-30 03:43")
    c = Console(width=width, record=True, color_system=None, file=open(os.devnull, "w"))
    c.print(t)
    out = c.export_text()
    assert all(cell_len(line) <= width for line in out.splitlines())
    assert out.count("contrast-pairs") == 3 and not folds(out, "contrast-pairs"), out
    shown = [line.split()[0] for line in out.splitlines() if line.strip().startswith("2026")]
    assert len(set(shown)) == 3, out                                       # still tells the runs apart
    assert all(r.startswith(s.rstrip("…")) for r, s in zip(runs, shown)), out
    if width < 80:
        assert all(s.endswith("…") for s in shown), out                    # shortened, visibly
        assert out.count("render") == 3                                     # the model whole too
