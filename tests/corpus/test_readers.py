"""Every reader over the awkward-files corpus (tests/corpus/files/ and templates/, made by make_files.py).

For each data file: the slot reader, the persona reader and (for feedback-shaped files) the feedback reader
and `studio feedback import/list`, then `studio lint`, `studio render`, `studio slots` and `studio run
--model render`, run as the real command in this process; each template file through the same commands. 0 tracebacks; every value reaches the prompt byte for byte, except the documented
normalisation (a .txt line loses the spaces and tabs around it; feedback text loses surrounding blanks).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from studio.analysis.feedback import read_feedback
from studio.cli.main import main
from studio.core.errors import StudioError
from studio.core.slots import resolve
from studio.core.template import load_template
from tests.corpus.make_files import FILES, SEPARATORS, TEMPLATE_FILES

CORPUS = Path(__file__).resolve().parent / "files"
TEMPLATE_CORPUS = Path(__file__).resolve().parent / "templates"

SEP_VALUES = [f"before{c}after ({n})" for n, c in SEPARATORS.items()]
TWO = ["too wordy", "wrong date"]

# file -> the values its slot gives (field `comment` for rows), or (error fragment, line in that file)
EXPECTED: dict[str, list[str] | tuple[str, int]] = {
    "bom.txt": ["alpha", "beta"],
    "bom.csv": TWO,
    "bom.jsonl": TWO,
    "bom.json": TWO,
    "spreadsheet.csv": ["My router drops Wi-Fi.\nI restarted it twice.", 'She said "fine, whatever", then left',
                        "two\r\nlines"],
    "crlf.txt": ["alpha", "beta", "gamma"],
    "crlf.jsonl": ["one", "two"],
    "separators.jsonl": SEP_VALUES,
    "separators.csv": SEP_VALUES,
    "separators.txt": SEP_VALUES,
    "hashtags.txt": ["#hashtag", "#include <stdio.h>", "C# is a language", "\\#starts with a backslash"],
    "hashtags.csv": ["#hashtag", "# not a comment in a CSV"],
    "hashtags.jsonl": ["#hashtag", "# not a comment in JSONL"],
    "trailing-spaces.txt": ["alpha", "beta"],
    "trailing-spaces.csv": ["alpha  ", "  beta"],
    "trailing-spaces.jsonl": ["alpha  ", "  beta"],
    "latin1.txt": ("not UTF-8", 2),
    "latin1.csv": ("not UTF-8", 3),
    "latin1.jsonl": ("not UTF-8", 2),
    "empty.txt": ("has no values", 0),
    "empty.csv": ("has no values", 0),
    "empty.jsonl": ("has no values", 0),
    "header-only.csv": ("has no values", 0),
    "only-comments.txt": ("has no values", 0),
    "method-names.jsonl": ["c0"],
    "method-names.csv": ["c0"],
    "utf16.txt": ["alpha", "beta"],
    "surrogate.jsonl": ("lone surrogate", 2),
    "surrogate.json": ("lone surrogate", 3),
    "surrogate.csv": ("not UTF-8", 3),
}
# feedback file -> (the bad row's line as feedback names it, the good comments kept)
SURROGATE_FEEDBACK = {"surrogate.jsonl": (2, ["good one", "good two"]), "surrogate.json": (2, ["good one", "good two"])}
METHOD_FIELDS = {"values": "V0", "items": "I0", "keys": "K0", "get": "G0", "count": "C0", "index": "X0", "copy": "P0",
                 "pop": "O0", "update": "U0", "text": "T0"}  # field -> its value in method-names.*


def test_the_corpus_on_disk_is_what_make_files_writes_and_every_file_has_an_expectation():
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(FILES) == sorted(EXPECTED)
    for name, data in FILES.items():
        assert (CORPUS / name).read_bytes() == data, f"{name}: run python tests/corpus/make_files.py"
    assert sorted(p.name for p in TEMPLATE_CORPUS.iterdir()) == sorted(TEMPLATE_FILES) == sorted(TEMPLATES)
    for name, data in TEMPLATE_FILES.items():
        assert (TEMPLATE_CORPUS / name).read_bytes() == data, f"{name}: run python tests/corpus/make_files.py"


def _workspace(tmp_path: Path, name: str, reader: str) -> tuple[Path, Path]:
    ws = tmp_path / "ws"
    (ws / "templates" / "data").mkdir(parents=True)
    (ws / "sessions").mkdir()
    shutil.copyfile(CORPUS / name, ws / "templates" / "data" / name)
    field = "" if name.endswith(".txt") else ", field: comment"
    source = "personas" if reader == "personas" else "file"
    extra = "".join(f" {f}={{{{ s.{f} }}}}" for f in METHOD_FIELDS) if name.startswith("method-names") else ""
    path = ws / "templates" / "corpus.prompt"
    path.write_text("---\nname: corpus\nmode: render\nslots:\n"
                    f"  s: {{{source}: data/{name}{field}}}\n"
                    "combine: {strategy: product}\n---\n"
                    f"user:\n«{{{{ s }}}}»{extra}\nassistant:\n«{{{{ s }}}}»{extra}\n", encoding="utf-8")
    return ws, path


def _studio(monkeypatch, capsys, ws: Path, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("STUDIO_HOME", str(ws))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()
    code = main(list(args))  # a traceback would fail the test here
    out, err = capsys.readouterr()
    return code, out, err


def _prompt_values(contents: list[str], method_names: bool) -> list[str]:
    out = []
    for text in contents:
        assert text.startswith("«"), text
        value, _, rest = text[1:].partition("»")
        if method_names:  # {{ s.values }} is the row's field, not <built-in method values ...>
            assert rest == "".join(f" {f}={v}" for f, v in METHOD_FIELDS.items()), rest
        out.append(value)
    return out


@pytest.mark.parametrize("reader", ["file", "personas"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_slot_reader_and_command_reads_each_corpus_file_exactly(tmp_path, monkeypatch, capsys, name, reader):
    expected = EXPECTED[name]
    ws, path = _workspace(tmp_path, name, reader)
    template = load_template(path)
    method_names = name.startswith("method-names")

    if isinstance(expected, tuple):
        fragment, line = expected
        with pytest.raises(StudioError) as err:
            resolve(template, template.slots["s"])
        assert fragment in str(err.value) and " — " in str(err.value)
        if line:  # the data file's line; 0: the template's slot line
            assert err.value.path.endswith(name) and err.value.line == line, str(err.value)
        else:
            assert err.value.line == 5, str(err.value)
        for args in (["lint"], ["render", "corpus", "--json"], ["slots", "corpus"],
                     ["run", "corpus", "--model", "render", "--json"]):
            code, out, err_text = _studio(monkeypatch, capsys, ws, *args)
            assert code == 2, (args, out, err_text)
            assert fragment in out + err_text, (args, out, err_text)
            assert "Traceback" not in out + err_text
        return

    src = resolve(template, template.slots["s"])
    assert [src.text(i) for i in range(len(src))] == expected

    code, out, err = _studio(monkeypatch, capsys, ws, "lint")
    assert code == 0 and "no problems" in out, out + err

    code, out, err = _studio(monkeypatch, capsys, ws, "render", "corpus", "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.split("\n") if line]
    assert _prompt_values([r["messages"][-1]["content"] for r in rows], method_names) == expected

    code, out, err = _studio(monkeypatch, capsys, ws, "slots", "corpus")
    assert code == 0, err
    assert f"{len(expected):,}" in out
    if name.endswith(".txt"):  # what a .txt file's reading skips is said, never silent
        assert "lines starting with # are comments" in out and "comment line(s)" in out

    code, out, err = _studio(monkeypatch, capsys, ws, "run", "corpus", "--model", "render", "--json",
                             "--session", "corpus")
    assert code == 0, err
    assert json.loads(out)["saved"] == len(expected)
    from studio.store import Store

    with Store(ws / "sessions").open("corpus", read_only=True) as session:
        samples = list(session.iter_samples())
    assert sorted(_prompt_values([s["messages"][-1]["content"] for s in samples], method_names)) == sorted(expected)
    assert sorted(_prompt_values([s["output"] for s in samples], method_names)) == sorted(expected)
    for args in (["show", "corpus"], ["report", "corpus"]):  # the values reach the reports without a traceback
        code, out, err = _studio(monkeypatch, capsys, ws, *args)
        assert code == 0, (args, out, err)
    # the same run again: every prompt is the same bytes, so nothing new is made
    code, out, err = _studio(monkeypatch, capsys, ws, "render", "corpus", "--json")
    assert [json.loads(line)["messages"] for line in out.split("\n") if line] == [r["messages"] for r in rows]


FEEDBACK = sorted(EXPECTED)
# a feedback .txt file is one comment a line, `#` lines included (feedback is not a slot file)
FEEDBACK_TXT = {"hashtags.txt": ["# a comment line", "\\#hashtag", "\\#include <stdio.h>", "# an indented comment",
                                 "C# is a language", "\\\\#starts with a backslash"],
                "only-comments.txt": ["# nothing here"], "empty.txt": []}


@pytest.mark.parametrize("name", FEEDBACK)
def test_the_feedback_reader_reads_each_corpus_file_exactly(name):
    expected = EXPECTED[name]
    path = CORPUS / name
    if isinstance(expected, tuple) and expected[0] == "not UTF-8":
        with pytest.raises(StudioError) as err:
            read_feedback(path)
        assert "not UTF-8" in str(err.value) and err.value.line == expected[1]
        return
    if name in ("empty.csv", "empty.jsonl"):
        with pytest.raises(StudioError, match="empty"):
            read_feedback(path)
        return
    parsed = read_feedback(path)
    if name in SURROGATE_FEEDBACK:  # the bad row reported and skipped, the good rows kept
        line, good = SURROGATE_FEEDBACK[name]
        assert [(p.line, "lone surrogate" in p.message, bool(p.hint)) for p in parsed.problems] == [(line, True, True)]
        assert [r["comment"] for r in parsed.rows] == good
        return
    assert parsed.problems == []
    want = FEEDBACK_TXT.get(name, [] if isinstance(expected, tuple) else [v.strip() for v in expected])  # stripped
    assert [r["comment"] for r in parsed.rows] == want


@pytest.mark.parametrize("name", FEEDBACK)
def test_feedback_import_and_list_take_each_corpus_file_exactly(tmp_path, monkeypatch, capsys, fake_llm, name):
    expected = EXPECTED[name]
    ws = tmp_path / "ws"
    ws.mkdir()
    path = CORPUS / name
    code, out, err = _studio(monkeypatch, capsys, ws, "feedback", "import", str(path), "--session", "fb",
                             "--model", fake_llm.model, "--api-base", fake_llm.base_url, "--json")
    if isinstance(expected, tuple) and expected[0] == "not UTF-8" or name in ("empty.csv", "empty.jsonl"):
        assert code == 2 and "Traceback" not in err, err
        assert (f"{name}:{expected[1]}: not UTF-8" if not name.startswith("empty") else "empty") in err.replace("\n", "")
        return
    if name in SURROGATE_FEEDBACK:  # exit 1: a row was skipped; the good rows are stored, the bad one said
        line, good = SURROGATE_FEEDBACK[name]
        assert code == 1 and "Traceback" not in out + err, out + err
        assert json.loads(out)["added"] == len(good) and json.loads(out)["skipped"] == 1
        assert f"{name}:{line}: this row holds a lone surrogate" in err.replace("\n", "")
        from studio.store import Store

        with Store(ws / "sessions").open("fb", read_only=True) as session:
            assert [r["comment"] for r in session.feedback()] == good
        return
    assert code == 0, out + err
    want = FEEDBACK_TXT.get(name, [] if isinstance(expected, tuple) else [v.strip() for v in expected])
    assert json.loads(out)["added"] == len(want) and json.loads(out)["skipped"] == 0
    from studio.store import Store

    with Store(ws / "sessions").open("fb", read_only=True) as session:
        assert [r["comment"] for r in session.feedback()] == want
    if want:  # the comment reached the structuring prompt as read
        sent = [r.messages[-1]["content"] for r in fake_llm.requests]
        assert all(any(w in s for s in sent) for w in want)
    code, out, err = _studio(monkeypatch, capsys, ws, "feedback", "list", "--session", "fb", "--json")
    assert code == 0, err


# template file -> its last message when rendered, or (line, what lint and every command say)
TEMPLATES: dict[str, str | tuple[int, str]] = {
    "bom.prompt": "Say one.",
    "crlf.prompt": "Say one.",
    "bom-crlf.prompt": "Say one.",
    "method-fields.prompt": "c0 V0 I0 K0 G0",
    "duplicate-slot.prompt": (7, "duplicate key 's': on line 5 and again on line 7"),
    "duplicate-name.prompt": (4, "duplicate key 'name': on line 2 and again on line 4"),
    "alias-bomb.prompt": (8, "the front matter expands to more than 100,000 values"),
    "wrong-type-inputs.prompt": (4, "inputs must be a list of names, not a number"),
    "wrong-type-slots.prompt": (4, "slots must be a mapping of slot name to its values"),
    "wrong-type-file.prompt": (5, "slot 's': file must be a file name"),
    "wrong-type-weights.prompt": (7, "slot 's': weights must be numbers"),
    "latin1.prompt": (5, "not UTF-8 text (byte 0xE9 at column 10"),
    "include.prompt": (9, "{% include %} is refused by the sandbox"),
    "extends.prompt": (7, "{% extends %} is refused by the sandbox"),
    "runtime-error.prompt": (9, "rendering failed: TypeError"),
    "missing-field.prompt": (7, "has a field 'nope'"),  # lint; a render says "this row has no field 'nope'"
    "literal-key.prompt": (5, "params.api_key holds a literal secret (not shown here)"),
    "empty.prompt": (1, "no front matter"),
    "surrogate.prompt": (5, "lone surrogate escape that cannot be stored as UTF-8"),
}


@pytest.fixture(scope="module")
def template_ws(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("tws")
    shutil.copytree(TEMPLATE_CORPUS, ws / "templates")
    shutil.copytree(CORPUS, ws / "files")
    (ws / "sessions").mkdir()
    return ws


def test_lint_reports_every_bad_template_on_its_line_and_passes_the_good_ones(template_ws, monkeypatch, capsys):
    code, out, err = _studio(monkeypatch, capsys, template_ws, "lint")
    assert code == 2 and "Traceback" not in out + err
    lines = [ln for ln in out.split("\n") if ln.startswith("error: ")]
    for name, want in TEMPLATES.items():
        found = [ln for ln in lines if f"/{name}:" in ln]
        if isinstance(want, str):
            assert not found, found
        else:
            assert len(found) == 1 and f"/{name}:{want[0]}: " in found[0] and want[1] in found[0], (name, found)
    assert "sk-live" not in out + err


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_command_takes_each_corpus_template_without_a_traceback(template_ws, monkeypatch, capsys, name):
    want = TEMPLATES[name]
    stem = name.removesuffix(".prompt")
    for args in (["render", stem, "--json"], ["slots", stem], ["run", stem, "--model", "render", "--json",
                                                               "--session", stem]):
        code, out, err = _studio(monkeypatch, capsys, template_ws, *args)
        text = (out + err).replace("\n", "")
        assert "Traceback" not in text and "sk-live" not in text
        if isinstance(want, str):
            assert code == 0, (args, text)
            if args[0] == "render":
                assert json.loads(out.split("\n")[0])["messages"][-1]["content"] == want
        elif args[0] == "slots" and name in ("include.prompt", "extends.prompt", "runtime-error.prompt",
                                             "missing-field.prompt"):
            assert code == 0, (args, text)  # the slots are fine; only rendering fails
        else:
            assert code == 2, (args, text)
            assert f"/{name}:{want[0]}: " in text, (args, text)
            fragment = "this row has no field 'nope'" if name == "missing-field.prompt" else want[1]
            assert fragment in text, (args, text)


@pytest.mark.parametrize("name", sorted(n for n, v in EXPECTED.items() if isinstance(v, list)))
def test_importing_a_corpus_file_into_inline_values_keeps_every_value(tmp_path, name):
    from studio.core.slot_edit import import_values
    from studio.core.template import parse_template

    (tmp_path / "t.prompt").write_text("---\nname: t\nmode: render\nslots:\n  s: [x]\n---\n{{ s }}\n")
    template = load_template(tmp_path / "t.prompt")
    text = import_values(template, "s", str(CORPUS / name), None if name.endswith(".txt") else "comment")
    assert parse_template(text, tmp_path / "t.prompt").slots["s"].values == EXPECTED[name]
