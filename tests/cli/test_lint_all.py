"""`studio lint` reports every independent problem of a file in one run, each as `file:line: what — what to do`,
sorted by line (a tryout met them one fix at a time: syntax error, then an unknown name, then a missing file).
The real command in-process on real files."""

from __future__ import annotations

import re

import pytest

# (template text, data files {name: text}, [(line, text the problem's line holds)]); every problem independent
CASES = [
    pytest.param(
        "---\nname: t\nslots:\n  a: [x, y]\n  d:\n    file: data/nope.csv\n---\nSay {{ a }} {{ d }} and {{ c }}.\n"
        "{% if a %}\n", {},
        [(5, "data file 'data/nope.csv' not found"), (8, "{{ c }} is not a slot"), (9, "template syntax error")],
        id="syntax-error+unknown-name+missing-file"),
    pytest.param(
        "---\nname: t\nslots:\n  a: []\n---\n{{ a.__class__ }}\n", {},
        [(4, "slot 'a' has no values (inline list is empty)"), (6, "access to '__class__' is refused")],
        id="sandbox-refusal+empty-inline-list"),
    pytest.param(
        "---\nname: t\nmode: chatty\nparams:\n  max_tokens: many\nslots:\n  a: {values: [x], limit: 0}\n"
        "---\n{{ a }} {% for %}\n", {},
        [(3, "unknown mode 'chatty'"), (5, "params.max_tokens must be"), (7, "limit must be a whole number"),
         (9, "template syntax error")],
        id="bad-mode+bad-param+bad-slot-setting+syntax-error"),
    pytest.param(
        "---\nname: t\nslots: [a\n---\nhi {{ a }\n", {},
        [(3, "front matter is not valid YAML"), (5, "template syntax error")],
        id="unreadable-front-matter+body-syntax-error"),
    pytest.param(
        "---\nname: t\nslots:\n  a: [x, '']\n  b: {file: data/b.txt, colour: red}\n  e: {file: data/empty.txt}\n"
        "---\n{{ a }} {{ b }} {{ e }} {{ zz }}\n", {"empty.txt": "", "b.txt": "one\n"},
        [(4, "slot 'a': value 2 is empty"), (5, "unknown setting(s): colour"),
         (6, "slot 'e' has no values (empty.txt is empty)"), (8, "{{ zz }} is not a slot")],
        id="empty-value+unknown-slot-setting+empty-file+unknown-name"),
    pytest.param(
        "---\nname: t\nschema: 5\ntags: {a: 1}\nslots:\n  a: {file: data/gone.jsonl}\n---\n"
        "{% include 'x.prompt' %}\n{{ a }}\n", {},
        [(3, "schema must be a JSON Schema mapping"), (4, "tags must be a list of names"),
         (6, "data file 'data/gone.jsonl' not found"), (8, "{% include %} is refused")],
        id="bad-schema+bad-tags+missing-file+refused-include"),
    pytest.param(
        "---\nname: t\nslots:\n  row: {file: data/rows.jsonl}\n  bad: 5\n---\n{{ row.colour }}\n{% for x in row %}"
        "{{ x }}{% endfor %}\n{{ nope }}\n",
        {"rows.jsonl": '{"name": "a"}\n'},
        [(5, "slot 'bad' needs values"), (9, "{{ nope }} is not a slot")],
        id="bad-slot+unknown-name-beside-a-loop-variable"),
]


@pytest.fixture
def lint(monkeypatch, capsys, tmp_path):
    """`studio lint FILE` through the real entry point: (exit code, [(line, problem text)] in printed order)."""
    from studio.cli.main import main

    def run(text: str, data: dict[str, str]) -> tuple[int, list[tuple[int, str]], str]:
        monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("COLUMNS", "400")
        (tmp_path / "data").mkdir(exist_ok=True)
        for name, body in data.items():
            (tmp_path / "data" / name).write_text(body, encoding="utf-8")
        path = tmp_path / "t.prompt"
        path.write_text(text, encoding="utf-8")
        capsys.readouterr()
        code = main(["lint", str(path)])
        out = " ".join(capsys.readouterr().out.split())
        found = [(int(m.group(1)), m.group(2)) for m in
                 re.finditer(rf"{re.escape(str(path))}:(\d+): (.*?)(?= (?:error|warning): {re.escape(str(path))}|\s\d+ error\(s\)|$)", out)]
        return code, found, out
    return run


@pytest.mark.parametrize("text,data,expected", CASES)
def test_every_independent_problem_is_reported_in_one_run_with_its_line(lint, text, data, expected):
    code, found, out = lint(text, data)
    assert code == 2
    for line, what in expected:
        assert any(n == line and what in msg for n, msg in found), f"line {line}: {what!r} missing in {out}"
        assert any(n == line and " — " in msg for n, msg in found), f"no 'what to do' for line {line}: {out}"
    errors = [n for n, msg in found]
    assert errors == sorted(errors), out
    assert "Traceback" not in out


@pytest.mark.parametrize("slot,data,hint", [
    ("a: []", {}, "add values to the slot's list in the template (line 4)"),
    ("a: {values: []}", {}, "slot 'a' has no values"),
    ("a: {file: data/empty.txt}", {"empty.txt": "\n"}, "add values to the file data/empty.txt"),
    ("a: {file: data/empty.csv}", {"empty.csv": "name\n"}, "add values to the file data/empty.csv"),
])
def test_an_empty_slot_says_where_to_add_values(lint, slot, data, hint):
    code, found, out = lint(f"---\nname: t\nslots:\n  {slot}\n---\n{{{{ a }}}}\n", data)
    assert code == 2 and any(n == 4 and hint in msg for n, msg in found), out
    if "file" not in slot:
        assert "to the file" not in out


@pytest.mark.parametrize("text,data,expected", CASES)
def test_the_editor_shows_every_problem_too(tmp_path, text, data, expected):
    from studio.tui.preview import analyse_template

    (tmp_path / "data").mkdir()
    for name, body in data.items():
        (tmp_path / "data" / name).write_text(body, encoding="utf-8")
    analysis = analyse_template(text, str(tmp_path / "t.prompt"))
    for line, what in expected:
        assert any(p.line == line and what in p.message for p in analysis.problems), (line, what, analysis.problems)
