"""Slot value edits return new template text that parses and says what was asked; files are real ones."""

import json

import pytest

from studio.core import slot_edit
from studio.core.errors import SlotError
from studio.core.template import load_template, parse_template

TEXT = """# Use when: greeting people politely.
# Second comment line.
---
name: greet
mode: render
slots:
  name: [Ana, Ben, Chidi]
  mood:
    values: {calm: 3, busy: 1}
  issue:
    file: issues.txt
---
Hello {{ name }}, you seem {{ mood }} about {{ issue }}.
"""


@pytest.fixture
def template(tmp_path):
    (tmp_path / "issues.txt").write_text("a late parcel\na broken lid\n")
    path = tmp_path / "greet.prompt"
    path.write_text(TEXT)
    return load_template(path)


def reparse(text, tmp_path):
    """What the editor would hold after the edit, read back as a template."""
    path = tmp_path / "edited.prompt"
    path.write_text(text)
    return load_template(path)


def test_add_value_appends_to_a_plain_list(template, tmp_path):
    t = reparse(slot_edit.add_value(template, "name", "Dana"), tmp_path)
    assert t.slots["name"].values == ["Ana", "Ben", "Chidi", "Dana"]
    assert t.slots["name"].weights is None


def test_add_value_to_a_weighted_list_gets_weight_one_or_the_given_weight(template, tmp_path):
    t = reparse(slot_edit.add_value(template, "mood", "tired"), tmp_path)
    assert t.slots["mood"].values == ["calm", "busy", "tired"] and t.slots["mood"].weights == [3, 1, 1]
    t = reparse(slot_edit.add_value(t, "mood", "angry", weight=2.5), tmp_path)
    assert t.slots["mood"].weights == [3, 1, 1, 2.5]


def test_edit_value_replaces_only_that_value(template, tmp_path):
    t = reparse(slot_edit.edit_value(template, "name", 1, "Bea"), tmp_path)
    assert t.slots["name"].values == ["Ana", "Bea", "Chidi"]
    assert t.slots["mood"].values == ["calm", "busy"]


def test_delete_value_removes_the_value_and_its_weight(template, tmp_path):
    t = reparse(slot_edit.delete_value(template, "mood", 0), tmp_path)
    assert t.slots["mood"].values == ["busy"] and t.slots["mood"].weights == [1]
    t = reparse(slot_edit.delete_value(t, "name", 2), tmp_path)
    assert t.slots["name"].values == ["Ana", "Ben"]


def test_the_last_value_of_a_slot_cannot_be_deleted(template, tmp_path):
    t = reparse(slot_edit.delete_value(template, "mood", 0), tmp_path)
    with pytest.raises(SlotError, match="at least one value") as err:
        slot_edit.delete_value(t, "mood", 0)
    assert err.value.problem.hint


def test_set_weight_turns_a_plain_list_into_a_weighted_one(template, tmp_path):
    t = reparse(slot_edit.set_weight(template, "name", 2, 4), tmp_path)
    assert t.slots["name"].values == ["Ana", "Ben", "Chidi"] and t.slots["name"].weights == [1, 1, 4]


def test_a_weight_must_be_above_zero(template):
    with pytest.raises(SlotError, match="above zero"):
        slot_edit.set_weight(template, "name", 0, 0)


def test_a_file_slot_is_not_edited_in_place(template):
    with pytest.raises(SlotError, match="reads its values from") as err:
        slot_edit.add_value(template, "issue", "a wet box")
    assert "import" in err.value.problem.hint


def test_an_unknown_slot_is_reported(template):
    with pytest.raises(SlotError, match="no slot named 'nope'"):
        slot_edit.edit_value(template, "nope", 0, "x")


def test_import_reads_a_text_file_relative_to_the_template(template, tmp_path):
    (tmp_path / "names.txt").write_text("# a comment\nEve\nFinn\n\nGus\n")
    t = reparse(slot_edit.import_values(template, "name", "names.txt"), tmp_path)
    assert t.slots["name"].values == ["Eve", "Finn", "Gus"]


def test_import_turns_a_file_slot_into_inline_values_from_a_jsonl_field(template, tmp_path):
    rows = [{"text": "a cracked screen", "id": 1}, {"text": "no refund yet", "id": 2}]
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    t = reparse(slot_edit.import_values(template, "issue", str(tmp_path / "rows.jsonl"), "text"), tmp_path)
    assert t.slots["issue"].values == ["a cracked screen", "no refund yet"]
    assert t.slots["issue"].file is None


def test_importing_an_empty_file_is_refused(template, tmp_path):
    (tmp_path / "empty.txt").write_text("\n# only a comment\n")
    with pytest.raises(SlotError, match="no values"):
        slot_edit.import_values(template, "name", "empty.txt")


def test_edits_keep_the_leading_comment_lines_and_the_body(template):
    text = slot_edit.add_value(template, "name", "Dana")
    assert text.startswith("# Use when: greeting people politely.\n# Second comment line.\n---\n")
    assert text.rstrip().endswith("Hello {{ name }}, you seem {{ mood }} about {{ issue }}.")


def test_a_template_without_leading_comments_gets_none_added(tmp_path):
    t = parse_template(TEXT.split("\n", 2)[2], tmp_path / "plain.prompt")
    assert slot_edit.edit_value(t, "name", 0, "Ann").startswith("---\n")


@pytest.mark.parametrize("value", ["", "   ", "\t"])
@pytest.mark.parametrize("edit", ["add", "edit"])
def test_an_empty_value_is_refused(template, value, edit):
    with pytest.raises(SlotError, match="cannot be empty"):
        if edit == "add":
            slot_edit.add_value(template, "name", value)
        else:
            slot_edit.edit_value(template, "name", 0, value)


@pytest.mark.parametrize("typed,want", [("5", 5), (" 7 ", 7), ("2.5", 2.5), ("five", "five")])
def test_numbers_stay_numbers_in_a_slot_of_numbers(tmp_path, typed, want):
    path = tmp_path / "n.prompt"
    path.write_text("---\nname: n\nmode: render\nslots:\n  n: [2, 3, 4]\n  word: [a, b]\n---\n{{ n }} {{ word }}\n")
    template = load_template(path)
    t = reparse(slot_edit.add_value(template, "n", typed), tmp_path)
    assert t.slots["n"].values == [2, 3, 4, want]
    t = reparse(slot_edit.edit_value(load_template(path), "n", 0, typed), tmp_path)
    assert t.slots["n"].values[0] == want and type(t.slots["n"].values[0]) is type(want)
    t = reparse(slot_edit.add_value(load_template(path), "word", "5"), tmp_path)
    assert t.slots["word"].values == ["a", "b", "5"]  # a slot of words keeps the text
