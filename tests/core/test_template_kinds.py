"""Template files people really write: each kind of mistake is a file:line error, never a traceback,
and one bad file never stops lint or name lookup of the others."""

from __future__ import annotations

import time

import pytest
import yaml

from studio.core.errors import StudioError, TemplateError
from studio.core.expand import Fill, Space
from studio.core.lint import lint_paths, lint_text
from studio.core.render import Renderer
from studio.core.template import parse_template
from studio.core.workspace import Workspace

GOOD = """---
name: good
description: fine
targets: nothing
use_when: always
tags: [a, b]
mode: generate
model: openai/gpt-4o-mini
params: {temperature: 0.7, max_tokens: 100}
inputs: []
followups: []
slots:
  tone: [formal, casual]
  n:
    values: {2: 3, 3: 1}
  w:
    values: [x, y]
    weights: [1, 2]
    limit: 2
combine:
  strategy: sample
  n: 4
  seed: 1
  exclude: [{tone: formal, n: 3}]
schema: {type: object}
---
system:
Be {{ tone }}.
user:
Write {{ n }} lines about {{ w }}.
"""


@pytest.mark.parametrize("front,first,second", [
    ("name: a\nname: b\nslots:\n  s: [x]\n", 2, 3),
    ("name: a\nslots:\n  s: [x]\n  s: [y]\n", 4, 5),
    ("name: a\nparams:\n  temperature: 0.1\n  temperature: 0.9\nslots:\n  s: [x]\n", 4, 5),
    ("name: a\nslots:\n  s: [x]\ncombine:\n  strategy: product\n  strategy: sample\n", 6, 7),
    ("name: a\nslots: {s: [x], s: [y]}\n", 3, 3),
    ("name: a\nslots:\n  s:\n    values: [x]\n    values: [y]\n", 5, 6),
])
def test_a_key_written_twice_is_an_error_naming_both_lines(front, first, second):
    text = f"---\n{front}---\n{{{{ s }}}}\n"
    with pytest.raises(TemplateError) as err:
        parse_template(text, "t.prompt")
    assert f"line {first}" in str(err.value) and f"line {second}" in str(err.value)
    assert err.value.line == second and " — " in str(err.value)
    assert [p.line for p in lint_text(text, "t.prompt")] == [second]


def test_merge_keys_may_be_overridden_that_is_not_a_duplicate():
    text = "---\nname: a\nbase: &b {temperature: 0.1, max_tokens: 5}\nparams:\n  <<: *b\n  temperature: 0.9\n" \
           "slots:\n  s: [x]\n---\n{{ s }}\n"
    assert parse_template(text).params == {"temperature": 0.9, "max_tokens": 5}


def _bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "---\nname: bomb\n" + "\n".join(lines) + f"\nslots:\n  s: *a{levels - 1}\n---\n{{{{ s }}}}\n"


@pytest.mark.parametrize("levels,width", [(9, 9), (30, 2), (5, 40)])
def test_yaml_that_expands_exponentially_is_refused_at_once(levels, width):
    text = _bomb(levels, width)
    t0 = time.perf_counter()
    with pytest.raises(TemplateError, match="expands to more than") as err:
        parse_template(text, "bomb.prompt")
    assert err.value.line > 2
    assert lint_text(text, "bomb.prompt")[0].message.startswith("the front matter expands")
    assert time.perf_counter() - t0 < 2.0


def test_a_few_aliases_are_fine():
    text = "---\nname: a\nx: &v [p, q]\nslots:\n  s: *v\n  t: *v\n---\n{{ s }}{{ t }}\n"
    assert parse_template(text).slots["t"].values == ["p", "q"]


def _replace(node, path, value):
    *head, last = path
    for k in head:
        node = node[k]
    node[last] = value


def _paths(data, prefix=()):
    """Every key path in the GOOD template's front matter."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


WRONG = [["a", "b"], {"k": "v"}, {"k": {"deep": [1]}}, 7, -1, 2.5, True, False, None, "", "text", [[1]], [{}]]
FRONT = yaml.safe_load(GOOD.split("---")[1])
PATHS = list(_paths(FRONT))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: ".".join(map(str, p)))
def test_a_wrong_type_anywhere_in_the_front_matter_is_a_line_error_never_a_traceback(path):
    body = GOOD.split("---\n", 2)[2]
    for value in WRONG:
        data = yaml.safe_load(GOOD.split("---")[1])
        _replace(data, path, value)
        text = "---\n" + yaml.safe_dump(data, sort_keys=False) + "---\n" + body
        try:
            t = parse_template(text, "t.prompt")
        except TemplateError as exc:
            assert exc.line >= 2, (path, value, str(exc))
            assert " — " in str(exc)
        else:
            Renderer(t)
            try:
                space = Space(t)
                Renderer(t).messages(space.fill(space.digits(0)))
            except StudioError:
                pass
        for p in lint_text(text, "t.prompt"):  # lint never raises, and never says "could not be checked"
            assert "could not be checked" not in p.message, (path, value, p)


@pytest.mark.parametrize("bad", [
    _bomb(),
    "---\nname: x\nname: y\n---\nhi\n",
    "---\nname: x\ninputs: 5\nslots: [1, 2]\n---\nhi\n",
    "---\nname: [x\n---\nhi\n",
    "no front matter at all\n",
    "---\nname: x\nslots:\n  s: {file: [a, b]}\n---\n{{ s }}\n",
    "---\nname: x\nparams: {api_key: sk-live-0123456789abcdef}\n---\nhi\n",
])
def test_one_bad_template_never_stops_lint_or_name_lookup_of_the_others(tmp_path, bad):
    ws = Workspace(tmp_path)
    ws.templates_dir.mkdir()
    (ws.templates_dir / "a-bad.prompt").write_text(bad)
    (ws.templates_dir / "a-latin1.prompt").write_bytes(b"---\nname: caf\xe9\n---\nhi\n")
    (ws.templates_dir / "z.prompt").write_text("---\nname: the-good-one\nslots:\n  s: [x]\n---\n{{ s }}\n")
    problems = lint_paths([ws.templates_dir])
    assert {p.path.rsplit("/", 1)[-1] for p in problems if p.severity == "error"} == {"a-bad.prompt", "a-latin1.prompt"}
    assert all(p.line >= 1 for p in problems), problems
    assert ws.find_template("the-good-one").name == "z.prompt"


def test_a_byte_order_mark_and_windows_line_ends_are_read_as_the_template_meant():
    text = "\ufeff---\r\nname: t\r\nslots:\r\n  s: [x]\r\n---\r\nsystem:\r\nBe brief.\r\nuser:\r\nSay {{ s }}.\r\n"
    t = parse_template(text, "t.prompt")
    assert t.text == text  # kept as written: its hash is the version
    assert Renderer(t).messages(Fill.from_values({"s": "x"})) == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say x."}]
    assert lint_text(text, "t.prompt") == []


@pytest.mark.parametrize("expression,fragment", [
    ("{{ n | int + 'x' }}", "rendering failed: TypeError"),
    ("{{ tone.nope }}", "has no attribute 'nope'"),
    ("{{ tone.__class__ }}", "refused by the sandbox"),
    ("{{ (n | int) // 0 }}", "ZeroDivisionError"),
    ("{% for x in n | int %}{% endfor %}", "TypeError"),
])
def test_a_runtime_error_names_the_line_that_failed(expression, fragment):
    text = ("---\nname: t\nslots:\n  tone: [formal]\n  n: [3]\n---\nsystem:\nBe {{ tone }}.\n"
            "user:\nfirst line {{ tone }}\nsecond line {{ n }}\nthird " + expression + "\nfourth\n")
    t = parse_template(text, "t.prompt")
    space = Space(t)
    with pytest.raises(TemplateError) as err:
        Renderer(t).messages(space.fill(space.digits(0)))
    assert fragment in str(err.value)
    assert err.value.line == 12, str(err.value)  # "third ..." is line 12 of the file
    assert [p.line for p in lint_text(text, "t.prompt")] == [12]


@pytest.mark.parametrize("tag", ["{% extends 'base.prompt' %}", "{% include 'other.prompt' %}",
                                 "{% import 'macros' as m %}", "{% from 'macros' import x %}"])
def test_extends_include_and_import_get_the_sandboxs_own_refusal(tag):
    text = f"---\nname: t\nslots:\n  s: [x]\n---\nuser:\n{{{{ s }}}}\n{tag}\n"
    with pytest.raises(TemplateError) as err:
        Renderer(parse_template(text, "t.prompt"))
    assert "is refused by the sandbox: a template cannot read other files" in str(err.value)
    assert err.value.line == 8
    problems = lint_text(text, "t.prompt")
    assert [(p.line, "refused by the sandbox" in p.message) for p in problems] == [(8, True)]


def test_lint_flags_a_field_no_row_has_and_rows_read_as_data_first(tmp_path):
    (tmp_path / "rows.jsonl").write_text('{"text": "a", "values": "V", "count": "C"}\n{"text": "b", "values": "W"}\n')
    head = "---\nname: t\nmode: generate\nslots:\n  r: {file: rows.jsonl}\ncombine: product\n---\n"
    path = tmp_path / "t.prompt"
    path.write_text(head + "{{ r }} {{ r.values }} {{ r['keys'] }} {{ r.get('count', '-') }}\n")
    problems = [p for p in lint_text(path.read_text(), path) if p.severity == "error"]
    assert [(p.line, p.message) for p in problems] == [(8, "no row of slot 'r' (rows.jsonl [text]) has a field 'keys'")]
    path.write_text(head + "{{ r }} {{ r.values }} {{ r.count }} {{ r.items }}\n")
    problems = [p for p in lint_text(path.read_text(), path) if p.severity == "error"]
    assert [p.message for p in problems] == ["no row of slot 'r' (rows.jsonl [text]) has a field 'items'"]
    path.write_text(head + "{{ r }} {{ r.values }} {{ r.get('count', '-') }}\n")
    assert [p for p in lint_text(path.read_text(), path) if p.severity == "error"] == []
    t = parse_template(path.read_text(), path)
    space = Space(t)
    assert [Renderer(t).text(space.fill(space.digits(i))) for i in range(2)] == ["a V C", "b W -"]
