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
    "show": [SESSION, NAME, MODEL, *TAGS, *ENDPOINTS, "v1", "v2"],
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
