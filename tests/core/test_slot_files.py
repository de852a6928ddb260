"""Editing a file-based slot's values in the file: only the edited line changes, with a preview first."""

import pytest

from studio.core.errors import SlotError
from studio.core.slot_files import add_file_value, delete_file_value, edit_file_value, file_values
from studio.core.slots import resolve_all
from studio.core.template import parse_template

FILES = {
    "txt": ("data.txt", "# a comment\nweather\n\nspeed\n\\#tag\n", None),
    "csv": ("data.csv", 'concept,contrast\nweather,climate\n"speed, fast",velocity\n#tag,x\n', "concept"),
    "jsonl": ("data.jsonl", '{"concept": "weather", "contrast": "climate"}\n{"concept": "speed, fast", "n": 2}\n'
                            '{"concept": "#tag"}\n', "concept"),
}


def _template(tmp_path, kind, crlf=False):
    name, text, fld = FILES[kind]
    if crlf:
        text = text.replace("\n", "\r\n")
    (tmp_path / name).write_bytes(text.encode())
    spec = f"{{file: {name}" + (f", field: {fld}}}" if fld else "}")
    return parse_template(f"---\nname: t\nslots:\n  x: {spec}\n---\n{{{{ x }}}}\n", tmp_path / "t.prompt")


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("kind", list(FILES))
def test_change_add_delete_touch_only_their_line_and_the_slot_reads_the_result(tmp_path, kind, crlf):
    t = _template(tmp_path, kind, crlf)
    first = file_values(t, "x")
    assert first[0] == "weather" and "#tag" in first
    src = resolve_all(t)["x"]
    assert [src.text(i) for i in range(len(src))] == first  # the pane lists what the slot reads

    edit = edit_file_value(t, "x", 0, "rain, or not")
    assert edit.changes == {"weather": "rain, or not"}
    assert len([d for d in edit.diff() if d.startswith("-")]) == 1 and len([d for d in edit.diff()
                                                                              if d.startswith("+")]) == 1
    edit.write()
    after = file_values(t, "x")
    assert after == ["rain, or not", *first[1:]]
    raw = edit.path.read_bytes().decode()
    assert ("\r\n" in raw) == crlf and (raw.count("\n") == edit.old_text.count("\n"))
    if kind == "csv":
        assert resolve_all(t)["x"].attrs(0)["contrast"] == "climate"  # the row's other fields kept

    added = add_file_value(t, "x", "#new")
    added.write()
    assert file_values(t, "x")[-1] == "#new" and added.added == ["#new"]
    if kind == "csv":
        assert "contrast" in added.note

    gone = delete_file_value(t, "x", 1)
    assert gone.changes == {first[1]: None}
    gone.write()
    assert first[1] not in file_values(t, "x")


def test_what_is_not_edited_here_says_why(tmp_path):
    (tmp_path / "d.json").write_text('[{"v": "a"}]')
    t = parse_template("---\nname: t\nslots:\n  x: {file: d.json, field: v}\n  y: [1, 2]\n---\n{{ x }}{{ y }}\n",
                       tmp_path / "t.prompt")
    with pytest.raises(SlotError, match="not edited in the studio"):
        file_values(t, "x")
    with pytest.raises(SlotError, match="no data file"):
        file_values(t, "y")
    t2 = _template(tmp_path, "txt")
    with pytest.raises(SlotError, match="empty value"):
        edit_file_value(t2, "x", 0, "  ")
    with pytest.raises(SlotError, match="one line"):
        add_file_value(t2, "x", "a\nb")


@pytest.mark.parametrize("bad,fragment", [
    ('{"concept": "bad \\ud83d surrogate"}', "lone surrogate"),
    ('{"concept": "\\udc00 low half alone"}', "lone surrogate"),
    ('{"bad \\ud83d key": "x", "concept": "y"}', "lone surrogate"),
    ('{"concept": "weather"', "not valid JSON"),
])
def test_the_slot_editor_refuses_an_unreadable_jsonl_row_on_its_line(tmp_path, bad, fragment):
    (tmp_path / "data.jsonl").write_text('{"concept": "ok"}\n' + bad + '\n{"concept": "fine"}\n')
    t = parse_template("---\nname: t\nslots:\n  x: {file: data.jsonl, field: concept}\n---\n{{ x }}\n",
                       tmp_path / "t.prompt")
    for act in (lambda: file_values(t, "x"), lambda: edit_file_value(t, "x", 0, "new")):
        with pytest.raises(SlotError) as err:
            act()
        assert fragment in str(err.value) and err.value.line == 2 and " — " in str(err.value)
