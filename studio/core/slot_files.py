"""Edits of a file-based slot's values (txt lines, CSV rows, JSONL lines), made in the data file itself.

The slots pane shows a file slot's values and edits them here: change a value, add one, remove one.
Each edit touches only its own line (the file's other lines, quoting and line endings stay as they were),
is worked out first as a `FileEdit` with a preview (the lines before and after, and what each old value
becomes) and is written only when the person says yes (`FileEdit.write`, atomic). `FileEdit.changes`
({old value: new value, or None when removed}) is what a regeneration follows: a data file's earlier
contents are not kept anywhere else.
JSON and Parquet files are not edited here (one edit would rewrite the whole file).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.errors import SlotError
from studio.core.files import atomic_write_text, check_storable, read_user_text
from studio.core.template import SlotSpec, Template

EDITABLE = (".txt", ".text", ".lst", ".csv", ".jsonl", ".ndjson")


@dataclass
class FileEdit:
    """A planned change to a slot's data file: its `path`, the text before and after, `changes` {old value: new
    value, None when removed}, `added` values and a `note`; nothing is written until `write()`."""

    path: Path
    old_text: str
    new_text: str
    changes: dict[str, str | None] = field(default_factory=dict)  # old value -> new (None: removed)
    added: list[str] = field(default_factory=list)
    note: str = ""  # e.g. the other fields a new CSV row leaves empty

    def diff(self) -> list[str]:
        """The changed lines, `-old` / `+new`, as a preview."""
        return [line.rstrip("\n") for line in difflib.unified_diff(
            self.old_text.splitlines(True), self.new_text.splitlines(True), n=0, lineterm="\n")
            if not line.startswith(("---", "+++", "@@"))]

    def write(self) -> None:
        """Write the new text over the data file (atomically). Raises OSError."""
        atomic_write_text(self.path, self.new_text)


def _spec(template: Template, slot: str) -> tuple[SlotSpec, Path]:
    spec = template.slots.get(slot)
    if spec is None:
        raise SlotError(f"no slot named {slot!r}", path=template.where, hint="pick a slot in the slots pane")
    if not spec.file:
        raise SlotError(f"slot {slot!r} has no data file ({spec.source})", path=template.where, line=spec.line,
                        hint="inline values are edited with a / e / d in the slots pane")
    path = Path(spec.file)
    if not path.is_absolute():
        path = template.base_dir / path
    if path.suffix.lower() not in EDITABLE:
        raise SlotError(f"{path.name}: {path.suffix} files are not edited in the studio", path=path,
                        hint="edit it with another tool, or point the slot at a .txt, .csv or .jsonl file")
    return spec, path


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _entries(path: Path, spec: SlotSpec, text: str) -> tuple[list[tuple[int, str, dict | None]], list[str]]:
    """(value entries [(0-based line, value, row)], header names) in the order the slot reads them."""
    from studio.core.slots import TEXT_FIELDS, text_values

    lines = text.split("\n")
    suffix = path.suffix.lower()
    out: list[tuple[int, str, dict | None]] = []
    names: list[str] = []
    if suffix in (".txt", ".text", ".lst"):
        for i, line in enumerate(lines):
            got = text_values(line)
            if got:
                out.append((i, got[0], None))
    elif suffix == ".csv":
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None) or []
        names = [h.strip() for h in header]
        start = reader.line_num
        for cells in reader:
            first, start = start, reader.line_num
            if not cells:
                continue
            if start - first != 1:
                raise SlotError("a row spanning several lines (a quoted line break) is not edited here", path=path,
                                line=first + 1, hint="edit that row with another tool")
            row = dict(zip(names, cells))
            out.append((first, "", row))
    else:
        for i, line in enumerate(lines):
            if line.strip():
                try:
                    row = json.loads(line, strict=False)
                except json.JSONDecodeError as exc:
                    raise SlotError(f"not valid JSON: {exc.msg} (column {exc.colno})", path=path, line=i + 1,
                                    hint="each line must be one JSON object") from None
                check_storable(row, SlotError, path=path, line=i + 1, what="this row")
                out.append((i, "", row if isinstance(row, dict) else {"text": row}))
    if suffix not in (".txt", ".text", ".lst"):
        fld = spec.field or (next((f for f in TEXT_FIELDS if out and f in out[0][2]), None) if out else None)
        if fld is None:
            raise SlotError("the slot reads whole rows (no field): its values are not edited one by one",
                            path=path, hint="give the slot a field: in the template")
        out = [(i, "" if (row or {}).get(fld) is None else str(row[fld]), row) for i, _, row in out]
    if spec.limit:
        out = out[: spec.limit]
    return out, names


def _field(path: Path, spec: SlotSpec, rows: list) -> str:
    from studio.core.slots import TEXT_FIELDS

    return spec.field or next(f for f in TEXT_FIELDS if rows and f in rows[0][2])


def _line_for(path: Path, spec: SlotSpec, value: str, row: dict | None, names: list[str], rows: list) -> str:
    suffix = path.suffix.lower()
    if suffix in (".txt", ".text", ".lst"):
        return "\\" + value if value.startswith("#") else value
    fld = _field(path, spec, rows)
    new = dict(row or {})
    new[fld] = value
    if suffix == ".csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(["" if new.get(n) is None else new.get(n) for n in names])
        return buf.getvalue()
    return json.dumps(new, ensure_ascii=False)


def _check(value: str) -> str:
    if not value.strip():
        raise SlotError("an empty value is not a value", hint="type the value, or delete the row instead")
    if "\n" in value or "\r" in value:
        raise SlotError("a value in a data file is one line", hint="remove the line break")
    return value


def _read(path: Path) -> str:
    return read_user_text(path, SlotError, missing_hint="check the slot's file name")


def _rebuild(text: str, lines: list[str]) -> str:
    return _newline(text).join(line.rstrip("\r") for line in lines)


def file_values(template: Template, slot: str) -> list[str]:
    """The slot's values as the file holds them (what the slots pane lists)."""
    spec, path = _spec(template, slot)
    entries, _ = _entries(path, spec, _read(path))
    return [v for _, v, _ in entries]


def edit_file_value(template: Template, slot: str, index: int, value: str) -> FileEdit:
    """The FileEdit that changes value `index` of file slot `slot` to `value` (only its own line). Raises SlotError."""
    spec, path = _spec(template, slot)
    text = _read(path)
    entries, names = _entries(path, spec, text)
    line, old, row = entries[index]
    value = _check(value)
    lines = text.split("\n")
    lines[line] = _line_for(path, spec, value, row, names, entries)
    return FileEdit(path, text, _rebuild(text, lines), {old: value} if old != value else {})


def add_file_value(template: Template, slot: str, value: str) -> FileEdit:
    """The FileEdit that appends `value` to file slot `slot`'s data file. Raises SlotError."""
    spec, path = _spec(template, slot)
    text = _read(path)
    entries, names = _entries(path, spec, text)
    value = _check(value)
    lines = text.split("\n")
    trailing = bool(lines) and lines[-1] == ""
    if trailing:
        lines.pop()
    lines.append(_line_for(path, spec, value, None, names, entries))
    if trailing or not text:
        lines.append("")
    note = ""
    if names:
        others = [n for n in names if n != _field(path, spec, entries)]
        note = f"the new row's other fields are empty: {', '.join(others)}" if others else ""
    return FileEdit(path, text, _rebuild(text, lines), {}, [value], note)


def delete_file_value(template: Template, slot: str, index: int) -> FileEdit:
    """The FileEdit that removes value `index` of file slot `slot` (its line). Raises SlotError for the last value."""
    spec, path = _spec(template, slot)
    text = _read(path)
    entries, _ = _entries(path, spec, text)
    if len(entries) <= 1:
        raise SlotError(f"slot {slot!r} needs at least one value", path=path, hint="add another value first")
    line, old, _ = entries[index]
    lines = text.split("\n")
    del lines[line]
    gone: dict[str, str | None] = {}
    if old not in [v for i, (_, v, _) in enumerate(entries) if i != index]:
        gone[old] = None
    return FileEdit(path, text, _rebuild(text, lines), gone)
