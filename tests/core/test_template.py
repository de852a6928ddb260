"""Template files: the format round-trips, and every mistake names its file and line."""

from pathlib import Path

import pytest

from studio.core.errors import TemplateError
from studio.core.template import dump_template, load_template, parse_template, split_sections
from studio.core.workspace import shipped_templates_dir

SHIPPED = sorted(shipped_templates_dir().glob("*.prompt"))


def test_the_library_ships_one_template_per_use_in_the_talk():
    names = {load_template(p).name for p in SHIPPED}
    assert names >= {"support-madlib", "contrast-pairs", "diversity-lists", "persona-iteration",
                     "constitutional-safety", "cross-dataset-mixing", "feedback-structuring", "double-check"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_template_says_when_to_use_it_and_round_trips(path: Path):
    assert path.read_text().lstrip().startswith("# Use when:")
    t = load_template(path)
    again = parse_template(dump_template(t), path)
    assert again == t
    assert parse_template(dump_template(again), path) == t


def test_a_template_declares_metadata_slots_strategy_mode_and_params():
    t = parse_template("""---
name: demo
description: d
targets: answers too short
tags: [a, b]
mode: structured
model: openai/gpt-4o-mini
params: {temperature: 0.2, max_tokens: 50}
followups: [double-check]
schema: {type: object}
slots:
  tone: {values: {formal: 3, casual: 1}}
  topic: [x, y]
combine: {strategy: pairwise, seed: 4, exclude: [{tone: casual, topic: x}]}
---
{{ tone }} {{ topic }}
""", "demo.prompt")
    assert (t.name, t.mode, t.model, t.targets) == ("demo", "structured", "openai/gpt-4o-mini", "answers too short")
    assert t.slots["tone"].weights == [3.0, 1.0]
    assert t.combine.strategy == "pairwise" and t.combine.seed == 4
    assert t.combine.exclude == [{"tone": ["casual"], "topic": ["x"]}]
    assert t.params["max_tokens"] == 50 and t.followups == ["double-check"]


def test_the_version_is_a_content_hash_that_changes_with_any_edit():
    text = "---\nname: v\n---\nHello\n"
    assert parse_template(text).version == parse_template(text).version
    assert parse_template(text).version != parse_template(text.replace("Hello", "Hi")).version


def test_role_lines_split_the_body_into_messages():
    sections = split_sections("system:\nBe brief.\nuser:\nHi {{ x }}\n", first_line=5)
    assert [(s.role, s.source, s.line) for s in sections] == [("system", "Be brief.", 6), ("user", "Hi {{ x }}", 8)]
    assert [s.role for s in split_sections("Just a prompt")] == ["user"]


@pytest.mark.parametrize("text,line,fragment", [
    ("name: x\n---\nbody", 1, "no front matter"),
    ("---\nname: x\nbody", 1, "never closed"),
    ("---\nname: x\nslots:\n  a: [1, 2\n---\nbody", 4, "not valid YAML"),
    ("---\nname: x\nmode: fancy\n---\nbody", 3, "unknown mode"),
    ("---\nname: x\nslots:\n  a: {values: [1], file: f.txt}\n---\nbody", 4, "exactly one source"),
    ("---\nname: x\nslots:\n  a:\n    colour: red\n---\nbody", 5, "unknown setting"),
    ("---\nname: x\nslots:\n  a: [1]\ncombine:\n  strategy: random\n---\nbody", 6, "unknown strategy"),
    ("---\nname: x\nslots:\n  a: [1]\ncombine:\n  exclude:\n    - {b: 1}\n---\nbody", 7, "unknown slot"),
    ("---\nname: x\nslots:\n  a: {values: {p: x}}\n---\nbody", 4, "weights must be numbers"),
    ("---\n- a\n- b\n---\nbody", 2, "must be a mapping"),
])
def test_bad_files_give_the_file_the_line_and_what_to_do(text, line, fragment):
    with pytest.raises(TemplateError) as err:
        parse_template(text, "bad.prompt")
    assert err.value.path == "bad.prompt"
    assert err.value.line == line, str(err.value)
    assert fragment in str(err.value)
    assert " — " in str(err.value)  # every message says what to do


def test_a_missing_or_binary_file_is_a_clear_error(tmp_path):
    with pytest.raises(TemplateError, match="no such template file"):
        load_template(tmp_path / "nope.prompt")
    bad = tmp_path / "bin.prompt"
    bad.write_bytes(b"---\nname: \xff\n---\n")
    with pytest.raises(TemplateError, match="not UTF-8"):
        load_template(bad)


# README's short form: a mapping of value -> weight is a weighted slot when its keys are not slot settings and
# its values are all numbers; the long form `values: {...}` always works (and is needed for values named
# like a setting).
@pytest.mark.parametrize("slot, values, weights", [
    ("{a: 3, b: 1}", ["a", "b"], [3.0, 1.0]),
    ("{values: {a: 3, b: 1}}", ["a", "b"], [3.0, 1.0]),
    ("{formal: 0.5, casual: 2}", ["formal", "casual"], [0.5, 2.0]),
    ("{values: {file: 3, b: 1}}", ["file", "b"], [3.0, 1.0]),
    ("{1: 2, 2: 1}", [1, 2], [2.0, 1.0]),
    ("{only: 1}", ["only"], [1.0]),
])
def test_a_mapping_of_value_to_weight_is_a_weighted_slot(slot, values, weights):
    t = parse_template(f"---\nname: x\nslots:\n  a: {slot}\n---\n{{{{ a }}}}\n", "w.prompt")
    assert (t.slots["a"].values, t.slots["a"].weights) == (values, weights)


@pytest.mark.parametrize("slot, says", [
    ("{file: 3, b: 1}", "need the long form: values: {file: 3, b: 1}"),
    ("{a: 3, b: x}", "unknown setting(s): a, b"),
    ("{a: 3, b: true}", "unknown setting(s): a, b"),
    ("{a: -1, b: 1}", "weights must be positive"),
    ("{a: 0, b: 0}", "weights must be positive"),
])
def test_a_short_weighted_mapping_that_is_ambiguous_or_wrong_is_refused_with_what_to_do(slot, says):
    with pytest.raises(TemplateError) as err:
        parse_template(f"---\nname: x\nslots:\n  a: {slot}\n---\n{{{{ a }}}}\n", "w.prompt")
    assert err.value.line == 4 and says in str(err.value) and " — " in str(err.value), str(err.value)


def test_the_readme_slot_example_parses_as_it_says():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "n: [2, 3, 4]" in readme and "{a: 3, b: 1} is weighted" in readme
    t = parse_template("---\nname: x\nslots:\n  n: {a: 3, b: 1}\n---\n{{ n }}\n", "r.prompt")
    assert t.slots["n"].weights == [3.0, 1.0]
