"""Slot edits keep numbers as numbers and the file's own YAML style (issue 16 §4): each edit of the slots
pane changes only the edited slot's lines; comments, quoting, flow or block lists, indentation and key order
elsewhere (and in the slot's other lines) stay byte-identical. Table: (front matter, edit, the front matter
after it)."""

from __future__ import annotations

import pytest

from studio.core import slot_edit
from studio.core.template import parse_template

BODY = "---\nuser:\nTell me about {{ topic }} {{ n }} {{ tone }}.\n"


def template(front: str):
    return parse_template(f"# Use when: testing\n---\n{front}{BODY}", "t.prompt")


def front_of(text: str) -> str:
    assert text.startswith("# Use when: testing\n---\n") and text.endswith(BODY)
    return text[len("# Use when: testing\n---\n"):-len(BODY)]


FLOW = """\
name: t   # the name
# the slots, with comments
slots:
  topic: [red, "green", 'blue']   # three colours
  n: [2, 3, 4]
  tone: {formal: 3, casual: 1}
combine: {strategy: product, seed: 7}
mode: generate
"""

BLOCK = """\
mode: generate
slots:
    topic:
        - red        # first
        - "green"
        - 'blue'
    n:
        - 2
        - 3
    tone:
        values:
            formal: 3
            casual: 1
name: t
"""

BLOCK_NO_OFFSET = """\
name: t
slots:
  topic:
  - red
  - green
  n: [1, 2]
  tone:
    values: [formal, casual]
    weights: [3, 1]
"""

TOPIC = """  topic: [red, "green", 'blue']   # three colours"""


def topic(items: str) -> str:
    """FLOW with the topic list changed: its end-of-line comment keeps its column (one space when pushed)."""
    line = f"  topic: [{items}]"
    return FLOW.replace(TOPIC, line + " " * max(1, TOPIC.index("#") - len(line)) + "# three colours")


CASES = [
    # (id, front, edit, expected front)
    ("flow edit plain", FLOW, ("edit", "topic", 0, "crimson"),
     topic("""crimson, "green", 'blue'""")),
    ("flow edit keeps double quotes", FLOW, ("edit", "topic", 1, "lime"),
     topic("""red, "lime", 'blue'""")),
    ("flow edit keeps single quotes", FLOW, ("edit", "topic", 2, "navy"),
     FLOW.replace("'blue'", "'navy'")),
    ("flow add quotes like its neighbour", FLOW, ("add", "topic", None, "teal"),
     topic("""red, "green", 'blue', 'teal'""")),
    ("flow delete", FLOW, ("delete", "topic", 0, None),
     topic(""""green", 'blue'""")),
    ("number edit stays a number", FLOW, ("edit", "n", 1, "5"),
     FLOW.replace("[2, 3, 4]", "[2, 5, 4]")),
    ("number add stays a number", FLOW, ("add", "n", None, "7"),
     FLOW.replace("[2, 3, 4]", "[2, 3, 4, 7]")),
    ("weighted flow mapping: edit keeps the weight", FLOW, ("edit", "tone", 1, "chatty"),
     FLOW.replace("casual: 1}", "chatty: 1}")),
    ("weighted flow mapping: weight", FLOW, ("weight", "tone", 0, 2.5),
     FLOW.replace("formal: 3", "formal: 2.5")),
    ("plain list weighted becomes a flow mapping", FLOW, ("weight", "n", 0, 2),
     FLOW.replace("[2, 3, 4]", "{2: 2, 3: 1, 4: 1}")),
    ("block edit keeps the other items and their comments", BLOCK, ("edit", "topic", 0, "crimson"),
     BLOCK.replace("- red        # first", "- crimson    # first")),
    ("block add", BLOCK, ("add", "n", None, "4"),
     BLOCK.replace("        - 3\n", "        - 3\n        - 4\n")),
    ("block delete", BLOCK, ("delete", "topic", 1, None),
     BLOCK.replace('        - "green"\n', "")),
    ("block weighted mapping edit", BLOCK, ("edit", "tone", 0, "stiff"),
     BLOCK.replace("formal: 3", "stiff: 3")),
    ("block list with no dash offset", BLOCK_NO_OFFSET, ("add", "topic", None, "blue"),
     BLOCK_NO_OFFSET.replace("  - green\n", "  - green\n  - blue\n")),
    ("values and weights lists: add", BLOCK_NO_OFFSET, ("add", "tone", None, "dry"),
     BLOCK_NO_OFFSET.replace("[formal, casual]", "[formal, casual, dry]").replace("[3, 1]", "[3, 1, 1]")),
    ("values and weights lists: weight", BLOCK_NO_OFFSET, ("weight", "tone", 1, 4),
     BLOCK_NO_OFFSET.replace("[3, 1]", "[3, 4]")),
    ("a string PyYAML would read as a boolean is quoted", FLOW, ("edit", "topic", 0, "yes"),
     topic("""'yes', "green", 'blue'""")),
    ("a string that looks like a number in a string list stays a string", BLOCK_NO_OFFSET,
     ("edit", "topic", 1, "42"), BLOCK_NO_OFFSET.replace("  - green\n", "  - '42'\n")),
    ("a value with a colon and a hash", BLOCK_NO_OFFSET, ("edit", "topic", 0, "a: b # c"),
     BLOCK_NO_OFFSET.replace("  - red\n", "  - 'a: b # c'\n")),
]


def apply(t, edit):
    kind, slot, index, value = edit
    if kind == "edit":
        return slot_edit.edit_value(t, slot, index, value)
    if kind == "add":
        return slot_edit.add_value(t, slot, value)
    if kind == "delete":
        return slot_edit.delete_value(t, slot, index)
    return slot_edit.set_weight(t, slot, index, value)


@pytest.mark.parametrize("front,edit,want", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_slot_edit_changes_only_that_slot_and_keeps_the_files_style(front, edit, want):
    text = apply(template(front), edit)
    assert front_of(text) == want
    parse_template(text, "t.prompt")  # and it reads back


def test_numbers_read_back_as_numbers_and_strings_as_strings():
    t = parse_template(apply(template(FLOW), ("edit", "n", 0, "9")), "t.prompt")
    assert t.slots["n"].values == [9, 3, 4]
    t = parse_template(apply(template(FLOW), ("edit", "topic", 0, "yes")), "t.prompt")
    assert t.slots["topic"].values == ["yes", "green", "blue"]


def test_import_replaces_the_slot_and_keeps_the_rest(tmp_path):
    (tmp_path / "colours.txt").write_text("cyan\nmagenta\n")
    t = parse_template(f"---\n{FLOW}{BODY}", tmp_path / "t.prompt")
    text = slot_edit.import_values(t, "topic", "colours.txt")
    lines, before = text.split("\n"), f"---\n{FLOW}{BODY}".split("\n")
    assert [x for x in lines if "topic" not in x and "cyan" not in x and "magenta" not in x] == \
        [x for x in before if "topic" not in x]
    assert parse_template(text, tmp_path / "t.prompt").slots["topic"].values == ["cyan", "magenta"]


def test_windows_line_ends_and_a_bom_are_kept():
    text = "\ufeff---\r\n" + FLOW.replace("\n", "\r\n") + BODY.replace("\n", "\r\n")
    out = slot_edit.edit_value(parse_template(text, "t.prompt"), "topic", 0, "crimson")
    assert out == "\ufeff---\r\n" + topic("""crimson, "green", 'blue'""").replace("\n", "\r\n") + BODY.replace("\n", "\r\n")
