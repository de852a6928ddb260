"""No text in the data can break a command's output: every command, with markup-like text in slot values,
model outputs, notes, tags, feedback comments and categories (tests/corpus/markup.py). 0 tracebacks, and
the text is shown as it is (not restyled, not eaten as markup, no raw control characters)."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from studio.cli.main import main
from tests.corpus.markup import BREAKS, MARKUP, shown

TEXTS = [t for _, t in MARKUP]
IDS = [n for n, _ in MARKUP]
ESC = "\x1b"


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.delenv("STUDIO_MODEL", raising=False)

    def call(*args):
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, (args, err)
        assert ESC not in out + err, (args, "a raw escape reached the terminal")
        raw = sorted({c for c in (err if "--json" in args else out + err) if c in BREAKS})  # JSON: data, exact
        assert not raw, (args, f"raw line/width breakers reached the terminal: {raw}")
        return code, out, err
    return call


def write_workspace(tmp_path, slot_values=TEXTS):
    from studio.core.workspace import Workspace

    ws = Workspace.from_env(tmp_path).ensure()
    data = ws.templates_dir / "data" / "marks.jsonl"
    data.write_text("".join(json.dumps({"text": t, "n": i}) + "\n" for i, t in enumerate(slot_values)))
    (ws.templates_dir / "marks.prompt").write_text(
        "---\nname: marks\nmode: render\nslots:\n  v: {file: data/marks.jsonl, field: text}\n---\n"
        "user:\nThe customer wrote: {{ v }}\nassistant:\nYou wrote: {{ v }}\n")
    (ws.templates_dir / "gen.prompt").write_text(
        "---\nname: gen\nslots:\n  v: {file: data/marks.jsonl, field: text}\n---\nuser:\nSay: {{ v }}\n")
    return ws


@pytest.fixture
def workspace(tmp_path, cli):
    """A session 's' whose samples carry every corpus text in slots, prompt, output, note and tags."""
    from studio.store import Store

    ws = write_workspace(tmp_path)
    code, out, err = cli("run", "marks", "--session", "s", "-n", str(len(TEXTS)), "--json")
    assert code == 0, err
    s = Store(ws.sessions_dir).open("s")
    ids = s.ids()
    assert len(ids) == len(TEXTS)
    for k, i in enumerate(ids):
        text = s.get(i)["slots"]["v"]
        s.set_note(i, text)
        s.toggle_tag(i, text[:60])
        (s.accept if k % 2 else s.reject)(i)
    s.close()
    return ws


def test_render_shows_every_value_literally(workspace, cli):
    code, out, _ = cli("render", "marks", "-n", str(len(TEXTS)), "--strategy", "product")
    assert code == 0
    for t in TEXTS:
        assert flat(shown(t)) in flat(out), t
    assert "[bold]x" in out and "[/INST]" in out and ":warning:" in out     # not restyled, not emoji


@pytest.mark.parametrize("args", [
    ["lint"], ["slots", "marks"], ["sessions"], ["show", "s"], ["report", "s", "--top", "100"],
    ["report", "s", "--json"], ["export", "s", "-f", "openai-chat", "-o", "x", "--dry-run", "--preview", "50"],
    ["export", "s", "-f", "raw", "-o", "x", "--dry-run", "--status", "accepted,rejected"],
], ids=lambda a: " ".join(a))
def test_every_command_runs_over_markup_text(workspace, cli, args):
    code, out, err = cli(*args)
    assert code == 0, err


def test_report_and_show_show_values_and_tags_literally(workspace, cli):
    _, report, _ = cli("report", "s", "--top", "100", "--min-count", "1")
    _, show, _ = cli("show", "s")
    for t in TEXTS:
        assert flat(shown(t)) in flat(report), t           # slot values in the per-value tables
        assert flat(shown(t[:60])) in flat(show), t        # tags in the failure-tags table


def test_regenerate_after_an_edit_over_markup_text(workspace, cli):
    path = workspace.templates_dir / "marks.prompt"
    path.write_text(path.read_text().replace("You wrote:", "You said:"))
    for args in (["regenerate", "marks", "--session", "s", "--dry-run"], ["regenerate", "marks", "--session", "s"],
                 ["report", "s", "--compare", "marks"]):
        code, out, err = cli(*args)
        assert code == 0, (args, err)
    assert "[/INST]" in out


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_errors_naming_data_are_printed_literally(tmp_path, cli, text):
    code, out, err = cli("show", text[:200])
    assert code == 2 and "Traceback" not in err
    assert flat(shown(text[:200])) in flat(err) or flat(repr(shown(text[:200]))[1:-1]) in flat(err)


def test_feedback_import_and_list_and_verify_with_markup(tmp_path, cli, fake_llm):
    from studio.store import Store

    write_workspace(tmp_path)
    categories = itertools.cycle(TEXTS)

    def reply(messages):
        content = messages[-1]["content"]
        if "VERDICT" in content or "Verify" in content or "verify" in content:
            return f"{next(categories)}\nVERDICT: incorrect"
        return json.dumps({"category": next(categories)[:80], "severity": "high", "concerned_part": "[/]",
                           "desired_behaviour": "[bold]shorter[/bold]"})
    fake_llm.set(reply=reply)
    rows = [{"prompt": f"q {i} {t[:100]}", "response": t[:300], "comment": t[:500], "rating": 1}
            for i, t in enumerate(TEXTS)]
    f = tmp_path / "fb.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = cli("feedback", "import", str(f), "--session", "fb", "--model", fake_llm.model,
                         "--api-base", fake_llm.base_url)
    assert code == 0, err
    code, out, err = cli("feedback", "list", "--session", "fb", "--examples", "5")
    assert code == 0, err
    assert "[bold]shorter[/bold]" in out or "[/INST]" in out
    # verify: outputs and verdicts of markup text in the disagreements table
    code, out, err = cli("run", "gen", "--session", "g", "--model", fake_llm.model, "--api-base", fake_llm.base_url,
                         "--json")
    assert code == 0, out
    s = Store(tmp_path / "sessions").open("g")
    s.bulk_set_status(s.ids(), "accepted")
    s.close()
    code, out, err = cli("verify", "g", "--model", fake_llm.model, "--api-base", fake_llm.base_url)
    assert code == 0, err
    code, out, err = cli("verify", "g", "--disagreements")
    assert code == 0, err
    assert re.search(r"disagreement", out)


@pytest.mark.parametrize("comment", ["great\x1b[2J app", "\x1b[31mred\x1b[0m words", "Ann\u2028Lee said",
                                     "one\u2029two", "up\x85down", "tab\x0bbed\x0cpage"],
                         ids=["clear screen", "ansi colour", "line sep", "para sep", "nel", "vt ff"])
def test_feedback_tables_from_a_csv_show_control_text_visibly(tmp_path, cli, comment):
    """The group table `feedback import` and `feedback list` print (rules, no model): data in a cell built
    as Text, not a str, still has its control characters and line breakers made visible."""
    f = tmp_path / "fb.csv"
    f.write_bytes(b"\xef\xbb\xbfReview Text,Star Rating\r\n\"" + comment.encode() + b"\",5\r\n")
    for args in (["feedback", "import", str(f), "--session", "fbtest2"], ["feedback", "list", "--session", "fbtest2"]):
        code, out, err = cli(*args)                 # the fixture fails on a raw escape or line breaker
        assert code == 0, err
        assert flat(shown(comment)) in flat(out), (args, out)


def test_html_report_holds_no_raw_escape_or_line_breaker(workspace, cli, tmp_path):
    """`report --html`: a U+2028 in a table cell misaligns the row in a browser's <pre>; shown as a stand-in."""
    code, out, err = cli("report", "s", "--top", "100", "--min-count", "1", "--html", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert not sorted({c for c in page if c in BREAKS or c == ESC})
    assert "Ann␤Lee" in page and "one¶two" in page
