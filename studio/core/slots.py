"""Slot sources: turn a SlotSpec into an indexable list of values (text plus optional attributes).

A source never has to be materialised: the persona generator is indexed lazily; files are read
once per expansion. Every read error names the data file and line, and the template line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from studio.core.errors import SlotError
from studio.core.files import check_storable, lines as split_lines, read_user_text
from studio.core.personas import PersonaGenerator
from studio.core.template import SlotSpec, Template

TEXT_FIELDS = ("persona", "text", "name", "value")


class Source(Protocol):
    """A slot's values: how many (len), the display text of value i, and its attributes (row fields or
    persona attributes; None for plain values)."""

    def __len__(self) -> int: ...
    def text(self, i: int) -> str: ...
    def attrs(self, i: int) -> dict[str, Any] | None: ...


@dataclass
class ValueSource:
    """Values held in memory: an inline list, or lines/rows read from a file."""

    values: Sequence[str]
    rows: Sequence[dict[str, Any]] | None = None
    weights: Sequence[float] | None = None
    origin: str = "inline list"

    def __len__(self) -> int:
        return len(self.values)

    def text(self, i: int) -> str:
        """The display text of value `i`."""
        return self.values[i]

    def attrs(self, i: int) -> dict[str, Any] | None:
        """The row fields of value `i` (file rows), or None for plain values."""
        return self.rows[i] if self.rows is not None else None


@dataclass
class GeneratedPersonas:
    """The built-in persona generator as a slot source: `len` personas (capped at `limit`), each a description
    (`text(i)`) and its attributes (`attrs(i)`); drawn uniformly (`weights` None)."""

    generator: PersonaGenerator
    limit: int | None = None
    weights = None
    origin: str = "personas: built-in generator"

    def __len__(self) -> int:
        n = len(self.generator)
        return min(n, self.limit) if self.limit else n

    def text(self, i: int) -> str:
        """The description of persona `i`."""
        return self.generator[i]

    def attrs(self, i: int) -> dict[str, Any] | None:
        """The attributes of persona `i`."""
        return self.generator.attrs(i)


def resolve(template: Template, spec: SlotSpec) -> Source:
    """The values of one slot; raises SlotError naming the file and line on bad input."""
    if spec.values is not None:
        values = [str(v) for v in spec.values]
        src = ValueSource(values, weights=spec.weights)
    elif spec.personas == "builtin":
        return GeneratedPersonas(PersonaGenerator(), spec.limit)
    elif spec.personas:
        src = load_persona_file(_data_path(template, spec, spec.personas), template, spec)
    else:
        src = load_values_file(_data_path(template, spec, spec.file), spec.field, template, spec)
    if spec.limit and len(src) > spec.limit:
        src = ValueSource(src.values[: spec.limit], src.rows[: spec.limit] if src.rows is not None else None,
                          src.weights[: spec.limit] if src.weights else None, src.origin)
    if len(src) == 0:
        hint = (f"add values to the slot's list in the template (line {spec.line}), or remove the slot"
                if spec.values is not None else
                f"add values to the file {spec.file or spec.personas} or point the slot at another file")
        raise SlotError(f"slot {spec.name!r} has no values ({src.origin} is empty)", path=template.where,
                        line=spec.line, hint=hint)
    return src


def resolve_all(template: Template) -> dict[str, Source]:
    """{slot name: its values source} for every slot of the template. Raises SlotError as `resolve`."""
    return {name: resolve(template, spec) for name, spec in template.slots.items()}


def data_digest(template: Template) -> str | None:
    """A digest of the data files the template's slots read (their bytes, in slot order), None when it reads
    none: part of the version once the data changed (studio.store.versions.pin_data_version)."""
    import hashlib

    h, any_file = hashlib.sha256(), False
    for name, spec in template.slots.items():
        ref = spec.file if spec.values is None and not spec.personas else \
            spec.personas if spec.personas and spec.personas != "builtin" else None
        if not ref:
            continue
        any_file = True
        path = Path(ref) if Path(ref).is_absolute() else template.base_dir / ref
        try:
            content = path.read_bytes()
        except OSError:
            content = b"\x00missing"
        h.update(f"{name}\x00{len(content)}\x00".encode())
        h.update(content)
    return h.hexdigest()[:16] if any_file else None


def _data_path(template: Template, spec: SlotSpec, name: str | None) -> Path:
    path = Path(name or "")
    if not path.is_absolute():
        path = template.base_dir / path
    if not path.is_file():
        raise SlotError(f"slot {spec.name!r}: data file {name!r} not found (looked at {path})", path=template.where,
                        line=spec.line, hint="paths are relative to the template's folder; check the name")
    return path


def load_values_file(path: Path, field: str | None, template: Template | None = None, spec: SlotSpec | None = None) -> ValueSource:
    """Read one value per line (txt), or a column/field (csv, jsonl, json, parquet); rows are kept as attributes."""
    suffix = path.suffix.lower()
    if suffix in (".txt", ".text", ".lst", ""):
        return ValueSource(text_values(_read_text(path)), origin=str(path.name))
    if suffix == ".csv":
        rows = _read_csv(path)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _read_jsonl(path)
    elif suffix == ".json":
        rows = _read_json(path)
    elif suffix == ".parquet":
        rows = _read_parquet(path)
    else:
        raise SlotError(f"unsupported data file type {suffix!r}", path=path,
                        hint="use .txt (one value per line), .csv, .jsonl, .json or .parquet")
    return _rows_to_source(rows, field, path, template, spec)


def _rows_to_source(rows: list[tuple[int, dict]], field: str | None, path: Path, template, spec) -> ValueSource:
    if not rows:
        return ValueSource([], [], origin=path.name)
    if field is None:
        first = rows[0][1]
        field = next((f for f in TEXT_FIELDS if f in first), None)
        if field is None and len(first) == 1:
            field = next(iter(first))
    values, kept = [], []
    for line, row in rows:
        if field is None:
            values.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
        else:
            if field not in row:
                where_hint = f"fields in this row: {', '.join(map(str, row)) or '(none)'}"
                raise SlotError(f"row has no field {field!r}", path=path, line=line,
                                hint=f"{where_hint}; fix the row or change the slot's field"
                                + (f" ({template.where}:{spec.line})" if template and spec else ""))
            value = row[field]
            values.append("" if value is None else str(value))
        kept.append(row)
    return ValueSource(values, kept, origin=f"{path.name}" + (f" [{field}]" if field else ""))


_ESCAPED_HASH = re.compile(r"^\\+#")


def text_skipped(text: str) -> tuple[int, int]:
    """(comment lines, blank lines) a .txt slot file's reading skips: `studio slots` reports them."""
    comments = blanks = 0
    for line in split_lines(text):
        value = line.strip(" \t")
        comments += value.startswith("#")
        blanks += not value
    return comments, blanks


TXT_RULES = ("one value a line; lines starting with # are comments (write \\# for a value that starts with #); "
             "spaces and tabs around a line are removed")


def text_values(text: str) -> list[str]:
    """The values of a .txt slot file: one a line (split at line feeds only, so U+2028, form feeds and
    the like stay inside a value), surrounding spaces and tabs removed, blank lines and `#` comment lines
    skipped. A value that starts with `#` is written with a backslash: `\\#hashtag` is the value `#hashtag`
    (one leading backslash before a `#` is always removed, so `\\\\#x` is `\\#x`)."""
    values = []
    for line in split_lines(text):
        value = line.strip(" \t")
        if not value or value.startswith("#"):
            continue
        if _ESCAPED_HASH.match(value):
            value = value[1:]
        values.append(value)
    return values


def _read_text(path: Path) -> str:
    return read_user_text(path, SlotError, missing_hint="check the slot's file name")


def _read_csv(path: Path) -> list[tuple[int, dict]]:
    """Rows of a CSV file with a header, read by the csv module (quoted cells keep their commas, quotes and
    line breaks exactly); the header's names lose surrounding spaces, cells are kept as written."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    rows = []
    try:
        header = next(reader, None)
        if header is None:
            return []
        names = [h.strip() for h in header]
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not cells:
                continue  # a blank line
            if len(cells) > len(names):
                raise SlotError(f"row has more cells than the header ({len(cells)}, the header has {len(names)})", path=path, line=line,
                                hint="quote cells that contain commas")
            row = dict(zip(names, cells))
            for name in names[len(cells):]:
                row[name] = None  # a short row: the missing cells are empty, as spreadsheets write them
            rows.append((line, row))
    except csv.Error as exc:
        raise SlotError(f"not valid CSV: {exc}", path=path, line=reader.line_num,
                        hint="fix the quoting on that line (a quote inside a quoted cell is written twice: \"\")") from None
    return rows


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    rows = []
    for n, line in enumerate(split_lines(_read_text(path)), 1):
        if not line.strip():
            continue
        try:
            # strict=False: a raw tab or form feed inside a string is read as text, not refused
            row = json.loads(line, strict=False)
        except json.JSONDecodeError as exc:
            raise SlotError(f"not valid JSON: {exc.msg} (column {exc.colno})", path=path, line=n,
                            hint="each line must be one JSON object") from None
        check_storable(row, SlotError, path=path, line=n, what="this row")
        if isinstance(row, str):
            row = {"text": row}
        if not isinstance(row, dict):
            raise SlotError("each line must be a JSON object", path=path, line=n, hint='write {"field": "value"}')
        rows.append((n, row))
    return rows


def _read_json(path: Path) -> list[tuple[int, dict]]:
    """A .json list of rows; each row keeps the line it starts on (for errors that name it)."""
    text = _read_text(path)
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise SlotError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno, hint="fix the JSON syntax") from None
    if not isinstance(data, list):
        raise SlotError("a .json data file must hold a list", path=path, line=1, hint="write [{...}, {...}] or use .jsonl")
    rows = [(line, row if isinstance(row, dict) else {"text": row}) for line, row in zip(_item_lines(text), data)]
    for line, row in rows:
        check_storable(row, SlotError, path=path, line=line, what="this item")
    return rows


def _item_lines(text: str):
    """The line each item of a (valid) top-level JSON list starts on."""
    decoder = json.JSONDecoder(strict=False)
    ws = re.compile(r"[ \t\n\r]*")
    i = ws.match(text, 0).end() + 1  # past "["
    line = text.count("\n", 0, i) + 1
    last = i
    while True:
        i = ws.match(text, i).end()
        if i >= len(text) or text[i] == "]":
            return
        line += text.count("\n", last, i)
        last = i
        yield line
        _, i = decoder.raw_decode(text, i)
        i = ws.match(text, i).end()
        if i < len(text) and text[i] == ",":
            i += 1


def _read_parquet(path: Path) -> list[tuple[int, dict]]:
    try:
        import pyarrow.parquet as pq  # heavy; only when a parquet slot is used
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many types for bad files
        raise SlotError(f"cannot read Parquet: {exc}", path=path, hint="check the file is a Parquet table") from None
    return [(i + 2, row) for i, row in enumerate(table.to_pylist())]


def load_persona_file(path: Path, template: Template | None = None, spec: SlotSpec | None = None) -> ValueSource:
    """PersonaHub JSONL ({"persona": ...}), CSV (a persona column; other columns become attributes), or text."""
    src = load_values_file(path, spec.field if spec else None, template, spec)
    src.origin = f"personas: {path.name}"
    return src
