"""Change one slot in a template's front matter and leave every other line as the person wrote it.

The slots pane's edits (add, edit, delete, weight, import) used to re-dump the whole front matter with PyYAML:
comments gone, quotes changed, flow lists turned into block lists, keys reordered. Here the front matter is
loaded with ruamel.yaml's round-trip loader (it keeps comments, quoting, flow or block style and key order),
the slot is changed in place, the result dumped, and only the slot's own lines are spliced into the original
text: every line outside them stays byte-identical. Numbers stay numbers (the caller types them); a new string
that PyYAML (which reads templates, YAML 1.1) would read as something else (`yes`, `1_000`, `1:20`) is quoted.
"""

from __future__ import annotations

import io
import re
from typing import Any, Callable

import yaml as pyyaml

from studio.core.errors import SlotError

DASH = re.compile(r"^(\s*)-(\s+)")


def _yaml(indent: tuple[int, int, int]) -> Any:
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096                     # never fold a long value onto a second line
    rt.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return rt


def _front(text: str) -> tuple[list[str], int, int]:
    """The text's lines and the [start, end) line indexes of its front matter (between the two '---')."""
    lines = text.split("\n")
    i = 0
    while i < len(lines) and lines[i].strip() != "---":
        i += 1
    j = i + 1
    while j < len(lines) and lines[j].strip() != "---":
        j += 1
    if j >= len(lines):
        raise ValueError("no closed front matter")
    return lines, i + 1, j


def _indent(lines: list[str]) -> tuple[int, int, int]:
    """ruamel's (mapping, sequence, offset) as this file writes them: the first block list item under a key."""
    mapping = 2
    for k, line in enumerate(lines):
        key = re.match(r"^(\s*)[^\s#-][^:]*:\s*(#.*)?$", line)
        if not key:
            continue
        nxt = next((x for x in lines[k + 1:] if x.strip() and not x.lstrip().startswith("#")), "")
        dash = DASH.match(nxt)
        width = len(nxt) - len(nxt.lstrip())
        if width > len(key.group(1)) and not dash:
            mapping = width - len(key.group(1))
        if dash:
            offset = len(dash.group(1)) - len(key.group(1))
            return mapping, offset + len(dash.group(2)) + 1, offset
    return mapping, mapping, 0


def _span(doc: Any, slot: str, count: int) -> tuple[int, int]:
    """[first, end) lines of slot `slot` in the loaded front matter (`count` lines): from its key to the next
    slot's key, or to the next top-level key after `slots`. The whole `slots:` entry when it is one flow line."""
    slots = doc["slots"]
    keys = list(slots)
    top = list(doc)
    after_slots = next((doc.lc.key(k)[0] for k in top[top.index("slots") + 1:]), count)
    if slots.fa.flow_style():
        return doc.lc.key("slots")[0], after_slots
    first = slots.lc.key(slot)[0]
    later = keys[keys.index(slot) + 1:]
    return first, (slots.lc.key(later[0])[0] if later else after_slots)


def edit_slot(text: str, slot: str, change: Callable[[Any, str], None]) -> str:
    """`text` with `change(slots_mapping, slot)` applied to the ruamel node of its front matter's `slots:`;
    only the slot's own lines differ. Raises ValueError when the front matter cannot be edited this way."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines, start, end = _front(text.removeprefix("\ufeff").replace("\r\n", "\n"))
    front = lines[start:end]
    rt = _yaml(_indent(front))
    doc = rt.load("\n".join(front))
    if not isinstance(doc, dict) or not isinstance(doc.get("slots"), dict) or slot not in doc["slots"]:
        raise ValueError("no such slot mapping")
    a0, a1 = _span(doc, slot, len(front))
    change(doc["slots"], slot)
    out = io.StringIO()
    rt.dump(doc, out)
    new = out.getvalue().rstrip("\n").split("\n")
    b0, b1 = _span(rt.load("\n".join(new)), slot, len(new)) if slot in doc["slots"] else (a0, a0)
    spliced = front[:a0] + new[b0:b1] + front[a1:]
    result = lines[:start] + spliced + lines[end:]
    return bom + newline.join(result)


# -- the changes the slots pane makes -----------------------------------------------------------------------

def _plain(value: Any, like: Any = None) -> Any:
    """A new value for the file: a string in the quoting of `like` (its neighbour) when that was quoted, or
    quoted when PyYAML would read it back as something else; numbers as numbers."""
    if not isinstance(value, str):
        return value
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString, SingleQuotedScalarString

    if isinstance(like, ScalarString) and type(like) is not ScalarString:
        return type(like)(value)
    try:
        same = pyyaml.safe_load(value) == value
    except pyyaml.YAMLError:
        same = False
    if same:
        return value
    return SingleQuotedScalarString(value) if "'" not in value and value.isprintable() \
        else DoubleQuotedScalarString(value)


def _number(weight: float) -> int | float:
    return int(weight) if float(weight).is_integer() else float(weight)


def _values_node(node: Any) -> tuple[Any, Any]:
    """(the slot's values: a list, or a {value: weight} mapping; its `weights:` list or None)."""
    if isinstance(node, list):
        return node, None
    if isinstance(node, dict) and "values" in node:
        return node["values"], node.get("weights")
    if isinstance(node, dict) and not ({"file", "dataset", "personas"} & set(node)):
        return node, None                   # `tone: {formal: 3, casual: 1}`
    raise SlotError("not an inline slot")


def change_value(index: int, value: Any) -> Callable[[Any, str], None]:
    """The change for `edit_slot` that sets value `index` to `value` (a weighted value keeps its weight)."""
    def change(slots: Any, slot: str) -> None:
        values, _ = _values_node(slots[slot])
        if isinstance(values, list):
            values[index] = _plain(value, values[index])
        else:
            keys = list(values)
            weight = values.pop(keys[index])
            values.insert(index, _plain(value, keys[index]), weight)
    return change


def append_value(value: Any, weight: float | None) -> Callable[[Any, str], None]:
    """The change for `edit_slot` that appends `value` (with `weight`, default 1, when the slot is weighted)."""
    def change(slots: Any, slot: str) -> None:
        values, weights = _values_node(slots[slot])
        if isinstance(values, list):
            values.append(_plain(value, values[-1] if values else None))
            if weights is not None:
                weights.append(_number(1 if weight is None else weight))
        else:
            keys = list(values)
            values[_plain(value, keys[-1] if keys else None)] = _number(1 if weight is None else weight)
    return change


def remove_value(index: int) -> Callable[[Any, str], None]:
    """The change for `edit_slot` that removes value `index` (and its weight)."""
    def change(slots: Any, slot: str) -> None:
        values, weights = _values_node(slots[slot])
        if isinstance(values, list):
            del values[index]
            if weights is not None:
                del weights[index]
        else:
            del values[list(values)[index]]
    return change


def weigh_value(index: int, weight: float) -> Callable[[Any, str], None]:
    """Weight value `index`; a plain list becomes a {value: weight} mapping in the same flow or block style."""
    def change(slots: Any, slot: str) -> None:
        node = slots[slot]
        values, weights = _values_node(node)
        if weights is not None:
            weights[index] = _number(weight)
        elif isinstance(values, dict):
            values[list(values)[index]] = _number(weight)
        else:
            from ruamel.yaml.comments import CommentedMap

            weighted = CommentedMap((v, _number(weight) if i == index else 1) for i, v in enumerate(values))
            if values.fa.flow_style():
                weighted.fa.set_flow_style()
            if node is values:
                slots[slot] = weighted
            else:
                node["values"] = weighted
    return change


def replace_values(values: list[Any]) -> Callable[[Any, str], None]:
    """The slot becomes an inline list of `values` (its file, field, personas dropped)."""
    def change(slots: Any, slot: str) -> None:
        from ruamel.yaml.comments import CommentedSeq

        slots[slot] = CommentedSeq(_plain(v) for v in values)
    return change
