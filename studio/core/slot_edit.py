"""Slot value edits (the TUI slots pane's add/edit/delete/weight/import) as new template text:
parse → change the slot → dump. Pure core logic, so any front end can use it and it is tested without a UI.

The result goes into the editor as an unsaved change; saving makes the new template version.
Only the slot's own lines change (studio.core.front_matter: comments, quoting, flow or block lists and key
order are kept); a front matter that cannot be edited that way is re-dumped whole (comments lost).
"""

from __future__ import annotations

from pathlib import Path

from studio.core.errors import SlotError
from studio.core.template import Template, dump_template, parse_template


def _inline(template: Template, slot: str):
    spec = template.slots.get(slot)
    if spec is None:
        raise SlotError(f"no slot named {slot!r}", path=template.where, hint="pick a slot in the slots pane")
    if spec.values is None:
        raise SlotError(f"slot {slot!r} reads its values from {spec.source}", path=template.where, line=spec.line,
                        hint="edit that file, or import it as inline values with i")
    return spec


def _dump(template: Template) -> str:
    head = []
    for line in (template.text or "").split("\n"):  # keep the leading comment lines ("# Use when: ...")
        if line.strip() == "---":
            break
        head.append(line)
    text = dump_template(template)
    out = "\n".join(head) + "\n" + text if any(h.strip() for h in head) else text
    parse_template(out, template.path)  # never hand back text that does not parse
    return out


def _write(template: Template, slot: str, change) -> str:
    """The new text: the slot's lines changed in place (front_matter.edit_slot), checked to read back as the
    slot now is (`template` was changed first); else the whole front matter dumped again."""
    from studio.core import front_matter

    spec = template.slots[slot]
    try:
        out = front_matter.edit_slot(template.text or "", slot, change)
        after = parse_template(out, template.path).slots[slot]
        same = after.values == spec.values and (after.weights or None) == (spec.weights or None)
    except Exception:  # noqa: BLE001 - any shape the in-place edit does not handle falls back to the full dump
        same = False
    return out if same else _dump(template)


def _value(spec, value, template: Template):
    """A typed value as the slot keeps it: refused when empty; a number stays a number when the slot's
    values are numbers (n: [2, 3, 4] gets 5, not '5')."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        raise SlotError("a slot value cannot be empty", path=template.where, line=spec.line,
                        hint="type the value, or delete it with d")
    numbers = [v for v in spec.values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers and len(numbers) == len(spec.values):
        for kind in (int, float):
            try:
                return kind(value.strip())
            except ValueError:
                pass
    return value


def add_value(template: Template, slot: str, value: str, weight: float | None = None) -> str:
    """The template's new text with `value` appended to inline slot `slot` (and its `weight` when weighted).
    Raises SlotError when the slot is not an inline list or the value is empty."""
    from studio.core.front_matter import append_value

    spec = _inline(template, slot)
    typed = _value(spec, value, template)
    spec.values.append(typed)
    if spec.weights is not None:
        spec.weights.append(1.0 if weight is None else weight)
    return _write(template, slot, append_value(typed, weight))


def edit_value(template: Template, slot: str, index: int, value: str) -> str:
    """The template's new text with value `index` of inline slot `slot` replaced by `value`. Raises SlotError
    (also for an empty value)."""
    from studio.core.front_matter import change_value

    spec = _inline(template, slot)
    spec.values[index] = _value(spec, value, template)
    return _write(template, slot, change_value(index, spec.values[index]))


def delete_value(template: Template, slot: str, index: int) -> str:
    """The template's new text without value `index` of inline slot `slot`. Raises SlotError for the last value."""
    spec = _inline(template, slot)
    if len(spec.values) <= 1:
        raise SlotError(f"slot {slot!r} needs at least one value", path=template.where, line=spec.line,
                        hint="add another value first, or remove the slot in the editor")
    del spec.values[index]
    if spec.weights is not None:
        del spec.weights[index]
    from studio.core.front_matter import remove_value

    return _write(template, slot, remove_value(index))


def set_weight(template: Template, slot: str, index: int, weight: float) -> str:
    """The template's new text with value `index` of `slot` weighted `weight` (> 0; others default to 1).
    Raises SlotError for a weight <= 0 or a slot that is not inline."""
    spec = _inline(template, slot)
    if weight <= 0:
        raise SlotError("a weight must be above zero", path=template.where, line=spec.line, hint="write e.g. 2 or 0.5")
    if spec.weights is None:
        spec.weights = [1.0] * len(spec.values)
    spec.weights[index] = weight
    from studio.core.front_matter import weigh_value

    return _write(template, slot, weigh_value(index, weight))


def import_values(template: Template, slot: str, path: str, field: str | None = None) -> str:
    """Replace the slot's source with the values read from a file (txt, csv, jsonl, json, parquet)."""
    from studio.core.slots import load_values_file

    spec = template.slots.get(slot)
    if spec is None:
        raise SlotError(f"no slot named {slot!r}", path=template.where, hint="pick a slot in the slots pane")
    file = Path(path).expanduser()
    if not file.is_absolute():
        file = template.base_dir / file
    source = load_values_file(file, field)
    spec.values = [source.text(i) for i in range(len(source))]
    spec.weights, spec.file, spec.field, spec.personas = None, None, None, None
    if not spec.values:
        raise SlotError("the file has no values", path=file, hint="pick a file with one value per line or row")
    from studio.core.front_matter import replace_values

    return _write(template, slot, replace_values(spec.values))


def value_changes(old: Template, new: Template) -> dict[str, dict[str, str | None]]:
    """What each inline value of `old` became in `new`, per slot: its new text (edited in place) or None
    (removed). Values both versions have are left out. The two lists are aligned (difflib), so an edit in
    the middle of a list, an insertion or a deletion read as the person made them; a run of k values
    replaced by m values maps the first min(k, m) one to one and retires the rest. Only slots whose
    values are inline in both versions: a data file's earlier contents are not kept anywhere."""
    import difflib

    out: dict[str, dict[str, str | None]] = {}
    for name, spec in old.slots.items():
        after = new.slots.get(name)
        if spec.values is None:
            continue
        a = [str(v) for v in spec.values]
        if after is None or after.values is None:
            if after is None:  # the slot itself is gone: every value is retired
                out[name] = dict.fromkeys(a)
            continue
        b = [str(v) for v in after.values]
        keep = set(b)
        changes: dict[str, str | None] = {}
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op in ("replace", "delete"):
                for k, v in enumerate(a[i1:i2]):
                    if v in keep:
                        continue  # moved, not changed: the value is still there
                    changes[v] = b[j1 + k] if op == "replace" and j1 + k < j2 else None
        if changes:
            out[name] = changes
    return out
