"""Every reader over the awkward-files corpus (tests/corpus/files/, made by make_files.py).

For each file: the slot reader, the persona reader and (for feedback-shaped files) the feedback reader,
then `studio lint`, `studio render`, `studio slots` and `studio run --model render`, run as the real
command in this process. 0 tracebacks; every value reaches the prompt byte for byte, except the documented
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
from tests.corpus.make_files import FILES, SEPARATORS

CORPUS = Path(__file__).resolve().parent / "files"

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
}
METHOD_FIELDS = {"values": "V0", "items": "I0", "keys": "K0", "get": "G0", "count": "C0", "index": "X0", "copy": "P0",
                 "pop": "O0", "update": "U0", "text": "T0"}  # field -> its value in method-names.*


def test_the_corpus_on_disk_is_what_make_files_writes_and_every_file_has_an_expectation():
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(FILES) == sorted(EXPECTED)
    for name, data in FILES.items():
        assert (CORPUS / name).read_bytes() == data, f"{name}: run python tests/corpus/make_files.py"


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
                    f"user:\n«{{{{ s }}}}»{extra}\n", encoding="utf-8")
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
    # the same run again: every prompt is the same bytes, so nothing new is made
    code, out, err = _studio(monkeypatch, capsys, ws, "render", "corpus", "--json")
    assert [json.loads(line)["messages"] for line in out.split("\n") if line] == [r["messages"] for r in rows]


FEEDBACK = sorted(n for n in EXPECTED if n.endswith((".csv", ".jsonl")))


@pytest.mark.parametrize("name", FEEDBACK)
def test_the_feedback_reader_reads_each_corpus_file_exactly(name):
    expected = EXPECTED[name]
    path = CORPUS / name
    if isinstance(expected, tuple) and expected[0] == "not UTF-8":
        with pytest.raises(StudioError) as err:
            read_feedback(path)
        assert "not UTF-8" in str(err.value) and err.value.line == expected[1]
        return
    if name == "empty.csv":
        with pytest.raises(StudioError, match="empty"):
            read_feedback(path)
        return
    parsed = read_feedback(path)
    assert parsed.problems == []
    want = [] if isinstance(expected, tuple) else [v.strip() for v in expected]  # documented: stripped
    assert [r["comment"] for r in parsed.rows] == want
