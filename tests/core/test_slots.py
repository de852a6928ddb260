"""Slot sources: inline, weighted, files of every kind, datasets and personas."""

import json

import pytest

from studio.core.errors import SlotError
from studio.core.expand import Space
from studio.core.personas import PersonaGenerator
from studio.core.slots import resolve


def _t(tmp_path, slots_yaml: str, body: str = "{{ s }}"):
    path = tmp_path / "t.prompt"
    path.write_text(f"---\nname: t\nmode: render\nslots:\n{slots_yaml}---\n{body}\n")
    from studio.core.template import load_template

    return load_template(path)


def _values(t, name="s"):
    src = resolve(t, t.slots[name])
    return [src.text(i) for i in range(len(src))]


def test_inline_and_weighted_lists(tmp_path):
    assert _values(_t(tmp_path, "  s: [a, b, 3]\n")) == ["a", "b", "3"]
    t = _t(tmp_path, "  s:\n    values: {a: 9, b: 1}\n")
    assert _values(t) == ["a", "b"] and resolve(t, t.slots["s"]).weights == [9.0, 1.0]


def test_text_file_one_value_per_line_skipping_blanks_and_comments(tmp_path):
    (tmp_path / "v.txt").write_text("# header\nalpha\n\n beta \n")
    assert _values(_t(tmp_path, "  s: {file: v.txt}\n")) == ["alpha", "beta"]


def test_csv_column_jsonl_field_and_parquet_column(tmp_path):
    (tmp_path / "v.csv").write_text("name,kind\nx,1\n\"y, z\",2\n")
    assert _values(_t(tmp_path, "  s: {file: v.csv, column: name}\n")) == ["x", "y, z"]
    (tmp_path / "v.jsonl").write_text('{"q": "one", "k": 1}\n{"q": "two", "k": 2}\n')
    t = _t(tmp_path, "  s: {dataset: v.jsonl, field: q}\n", "{{ s }}/{{ s.k }}")
    assert _values(t) == ["one", "two"]
    from studio.core.render import Renderer

    space = Space(t)
    assert Renderer(t).text(space.fill(space.digits(1))) == "two/2"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"c": ["p", "q", "r"]}), tmp_path / "v.parquet")
    assert _values(_t(tmp_path, "  s: {file: v.parquet, column: c}\n")) == ["p", "q", "r"]


def test_persona_files_personahub_jsonl_and_csv_with_attributes(tmp_path):
    (tmp_path / "p.jsonl").write_text(json.dumps({"persona": "a beekeeper who loves puns"}) + "\n")
    assert _values(_t(tmp_path, "  s: {personas: p.jsonl}\n")) == ["a beekeeper who loves puns"]
    (tmp_path / "p.csv").write_text("persona,age_band\na retired nurse,sixties\n")
    t = _t(tmp_path, "  s: {personas: p.csv}\n")
    space = Space(t)
    fill = space.fill((0,))
    assert fill.values == {"s": "a retired nurse"}
    assert fill.persona["age_band"] == "sixties"


def test_the_persona_generator_gives_millions_of_distinct_readable_personas():
    gen = PersonaGenerator()
    assert len(gen) >= 1_000_000
    sample = [gen[i] for i in range(0, len(gen), len(gen) // 2000)]
    assert len(set(sample)) == len(sample)
    text = gen[123_456]
    assert text.startswith(("a ", "an ")) and " who " in text and "  " not in text
    attrs = gen.attrs(123_456)
    assert attrs["text"] == text and {"occupation", "age_band", "region", "goal"} <= set(attrs)


@pytest.mark.parametrize("files,slot,fragment,line", [
    ({}, "  s: {file: missing.txt}\n", "not found", 5),
    ({"v.jsonl": '{"q": 1}\n{oops\n'}, "  s: {file: v.jsonl, field: q}\n", "not valid JSON", 2),
    ({"v.jsonl": '{"q": 1}\n{"r": 2}\n'}, "  s: {file: v.jsonl, field: q}\n", "no field 'q'", 2),
    ({"v.json": '[\n  {"q": 1},\n  {"r":\n    2}\n]'}, "  s: {file: v.json, field: q}\n", "no field 'q'", 3),
    ({"v.json": '[{"q": 1}, {"q": 2},\n\n {"r": 2}]'}, "  s: {file: v.json, field: q}\n", "no field 'q'", 3),
    ({"v.csv": "a,b\n1,2,3\n"}, "  s: {file: v.csv, column: a}\n", "more cells", 2),
    ({"v.xlsx": "x"}, "  s: {file: v.xlsx}\n", "unsupported", 0),
    ({"v.txt": "# only a comment\n"}, "  s: {file: v.txt}\n", "no values", 5),
])
def test_bad_data_files_name_the_file_and_line(tmp_path, files, slot, fragment, line):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    t = _t(tmp_path, slot)
    with pytest.raises(SlotError) as err:
        resolve(t, t.slots["s"])
    assert fragment in str(err.value)
    assert err.value.line == line
    assert " — " in str(err.value)
