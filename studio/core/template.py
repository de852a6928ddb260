"""Template files: YAML front matter (metadata, slots, combination rules) and a Jinja2 body.

The format follows Prompty and Dotprompt so a template reads well and diffs cleanly:

    ---
    name: contrast-pairs
    mode: generate
    slots:
      concept: [entropy, inflation]
    ---
    system:
    You are a patient teacher.
    user:
    Explain {{ concept }} ...

Lines that are exactly ``system:``, ``user:`` or ``assistant:`` split the body into chat
messages; a body without them is one user message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

import yaml

from studio.core.errors import Problem, TemplateError
from studio.core.params import check_param_types
from studio.core.secrets import check_params

MODES = ("render", "generate", "structured")
STRATEGIES = ("product", "sample", "cover", "pairwise")
ROLES = ("system", "user", "assistant")
KNOWN_KEYS = frozenset(
    {"name", "description", "targets", "tags", "mode", "slots", "combine", "schema", "followups",
     "model", "params", "inputs", "use_when"}
)
SLOT_KEYS = frozenset({"values", "file", "dataset", "column", "field", "personas", "weights", "limit", "display"})
_ROLE_LINE = re.compile(r"^(system|user|assistant):[ \t]*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class SlotSpec:
    """Where a slot's values come from; resolved into values by `studio.core.slots`."""

    name: str
    values: list[Any] | None = None
    weights: list[float] | None = None
    file: str | None = None  # txt, csv, jsonl/json or parquet, relative to the template's folder
    field: str | None = None  # column (csv/parquet) or field (jsonl) to read; None reads whole rows
    personas: str | None = None  # "builtin" or a persona file
    limit: int | None = None
    line: int = dataclasses.field(default=0, compare=False)

    @property
    def broken(self) -> bool:
        """No source: the placeholder `parse_template(..., problems=)` keeps for a slot it could not read."""
        return self.values is None and self.file is None and self.personas is None

    @property
    def source(self) -> str:
        """Where the slot's values come from, in words ("inline list", "weighted list", "rows.csv [name]",
        "personas: built-in generator")."""
        if self.personas:
            return "personas: built-in generator" if self.personas == "builtin" else f"personas: {self.personas}"
        if self.file:
            return f"{self.file}" + (f" [{self.field}]" if self.field else "")
        return "weighted list" if self.weights else "inline list"

    def to_yaml(self) -> Any:
        """The slot as written in a template file's front matter (a list, or a mapping)."""
        if self.values is not None and not self.weights and self.limit is None:
            return list(self.values)
        out: dict[str, Any] = {}
        if self.values is not None:
            out["values"] = dict(zip(self.values, self.weights)) if self.weights else list(self.values)
        if self.file:
            out["file"] = self.file
        if self.field:
            out["field"] = self.field
        if self.personas:
            out["personas"] = self.personas
        if self.limit is not None:
            out["limit"] = self.limit
        return out


@dataclass
class Combine:
    """A template's `combine:` settings: the strategy (sample, product, cover, pairwise), `n` prompts (None: the
    strategy's default), the `seed`, and `exclude` rules ({slot: [values]}; their file lines in `exclude_lines`)."""

    strategy: str = "sample"
    n: int | None = None
    seed: int = 0
    exclude: list[dict[str, list[str]]] = field(default_factory=list)
    exclude_lines: list[int] = field(default_factory=list, compare=False)

    def to_yaml(self) -> dict[str, Any]:
        """The `combine:` mapping as written in a template file."""
        out: dict[str, Any] = {"strategy": self.strategy}
        if self.n is not None:
            out["n"] = self.n
        out["seed"] = self.seed
        if self.exclude:
            out["exclude"] = [{k: (v[0] if len(v) == 1 else v) for k, v in rule.items()} for rule in self.exclude]
        return out


@dataclass
class Section:
    """One role section of a template body: `role` (system / user / assistant), its Jinja `source`, and the file
    `line` of its first body line (for errors)."""

    role: str
    source: str
    line: int  # file line of the section's first body line


def version_hash(text: str, data: str | None = None) -> str:
    """A template version: 12 hex of the text's SHA-256; with `data` (a digest of its slot files, given only
    when they changed since the text first ran) the hash of both, so an unchanged template keeps its hash."""
    if data:
        text = f"{text}\n\x00data {data}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Template:
    """A parsed template file (`parse_template`): front matter settings, slots, the Jinja body and its sections.
    `version` is the 12-hex hash of `text` (the file as written); `path` where it was read from, if anywhere."""

    name: str
    body: str
    description: str = ""
    targets: str = ""
    use_when: str = ""
    tags: list[str] = field(default_factory=list)
    mode: str = "generate"
    slots: dict[str, SlotSpec] = field(default_factory=dict)
    combine: Combine = field(default_factory=Combine)
    schema: dict[str, Any] | None = None
    followups: list[str] = field(default_factory=list)
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    path: Path | None = field(default=None, compare=False)
    text: str = field(default="", compare=False, repr=False)
    body_line: int = field(default=1, compare=False)
    key_lines: dict[tuple, int] = field(default_factory=dict, compare=False, repr=False)
    # the digest of the slot files' contents when they differ from the data this text first ran with
    # (set by studio.store.versions.pin_data_version); None: the version is the text's hash alone
    data_digest: str | None = field(default=None, compare=False, repr=False)

    @property
    def version(self) -> str:
        """Content hash of the file text (and of its slot files' data once that was edited): every saved
        edit is a new version."""
        return version_hash(self.text or dump_template(self), self.data_digest)

    @property
    def text_version(self) -> str:
        """The hash of the text alone: the version this text had with the data it first ran with."""
        return version_hash(self.text or dump_template(self))

    @property
    def where(self) -> str:
        """The template's file path, or "<name>" when it came from text."""
        return str(self.path) if self.path else f"<{self.name}>"

    @property
    def base_dir(self) -> Path:
        """The folder slot files are relative to: the template's, else the current folder."""
        return self.path.parent if self.path else Path.cwd()

    def line_of(self, *keys: Any) -> int:
        """File line of a front-matter key path, falling back to its nearest parent."""
        while keys:
            if keys in self.key_lines:
                return self.key_lines[keys]
            keys = keys[:-1]
        return 1

    def sections(self) -> list[Section]:
        """The body split into role sections (system/user/assistant), each with its first line in the file."""
        return split_sections(self.body, self.body_line)


def split_sections(body: str, first_line: int = 1) -> list[Section]:
    """`body` split at `system:` / `user:` / `assistant:` lines into Sections (a body without them is one user
    section); `first_line` is the body's line in the file, so each section knows its own."""
    sections: list[Section] = []
    role, start, buf = "user", first_line, list[str]()
    explicit = False
    for offset, line in enumerate(body.split("\n")):
        m = _ROLE_LINE.match(line)
        if m:
            if buf and (explicit or "".join(buf).strip()):
                sections.append(Section(role, "\n".join(buf).strip("\n"), start))
            role, start, buf, explicit = m.group(1), first_line + offset + 1, [], True
        else:
            if not buf and not line.strip():
                start = first_line + offset + 1
                continue
            buf.append(line)
    if buf or not sections:
        sections.append(Section(role, "\n".join(buf).strip("\n"), start))
    return sections


def _split_front_matter(text: str, where: str) -> tuple[str, str, int, int]:
    """Return (yaml text, body, yaml first line, body first line)."""
    lines = text.split("\n")
    i = 0
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")) and lines[i].strip() != "---":
        i += 1
    if i >= len(lines) or lines[i].strip() != "---":
        raise TemplateError(
            "no front matter: a template starts with a line '---', YAML settings, another '---', then the prompt",
            path=where, line=1, hint="add the front matter (see templates/contrast-pairs.prompt)",
        )
    for j in range(i + 1, len(lines)):
        if lines[j].strip() == "---":
            return "\n".join(lines[i + 1:j]), "\n".join(lines[j + 1:]), i + 2, j + 2
    raise TemplateError("the front matter is never closed", path=where, line=i + 1,
                        hint="add a line '---' between the settings and the prompt")


def key_lines_of(node: yaml.Node, offset: int, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """{key path: file line} of every key and list item under `node` (its text starting on line `offset`)."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = (*path, k.value)
            out[key] = k.start_mark.line + offset
            key_lines_of(v, offset, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for idx, item in enumerate(node.value):
            key = (*path, idx)
            out[key] = item.start_mark.line + offset
            key_lines_of(item, offset, key, out)
    return out


MAX_YAML_NODES = 100_000  # front matter that would expand past this (aliases of aliases) is refused


def _check_nodes(root: yaml.Node, where: str, offset: int, what: str = "front matter",
                 duplicates: list[tuple[str, int, int]] | None = None) -> None:
    """Refuse duplicate keys (naming both lines) and alias bombs, before anything is built from the YAML.
    With `duplicates`, each duplicate key is added there as (key, first line, line) instead of refused.

    PyYAML keeps the last of two equal keys silently; a slot defined twice must be an error. Aliases are
    shared nodes, so the size after expansion is counted over the graph with a memo: a few lines of `&a [*b,
    *b, ...]` that would unfold into billions of nodes are refused at once, not walked.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = ([c for kv in node.value for c in kv] if isinstance(node, yaml.MappingNode)
                    else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if not done:
            if isinstance(node, yaml.MappingNode):
                seen: dict[str, yaml.Node] = {}
                for key, _ in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                        if key.value in seen:
                            first = seen[key.value].start_mark.line + offset
                            if duplicates is not None:
                                duplicates.append((key.value, first, key.start_mark.line + offset))
                                continue
                            raise TemplateError(
                                f"duplicate key {key.value!r}: on line {first} and again on line "
                                f"{key.start_mark.line + offset}", path=where, line=key.start_mark.line + offset,
                                hint="YAML keeps only the last one; remove or rename one of them")
                        seen[key.value] = key
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        sizes[id(node)] = size = 1 + sum(sizes.get(id(c), 1) for c in children)
        if size > MAX_YAML_NODES:
            raise TemplateError(f"the {what} expands to more than {MAX_YAML_NODES:,} values "
                                "(aliases of aliases)", path=where, line=node.start_mark.line + offset,
                                hint="write the values out, or use fewer '*' aliases")


def _check_storable_nodes(root: yaml.Node, where: str, offset: int, what: str = "front matter") -> None:
    """A `"\\ud83d"` escape in front matter is a lone surrogate: refused at its line (sessions are UTF-8)."""
    from studio.core.files import check_storable

    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            check_storable(node.value, TemplateError, path=where, line=offset + node.start_mark.line,
                           what=f"this {what} value")
        elif isinstance(node, yaml.MappingNode):
            stack.extend(c for kv in node.value for c in kv)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def load_yaml(front: str, where: str, yaml_line: int = 1, what: str = "front matter",
              duplicates: list[tuple[str, int, int]] | None = None) -> tuple[Any, yaml.Node | None]:
    """(data, root node) of YAML text that starts on file line `yaml_line` of `where`; a syntax error, a
    duplicate key, an alias bomb or a lone surrogate is a TemplateError naming the file and line (`what`:
    the text's name in messages). Also reads the studio's other YAML files (keymap.yaml). With `duplicates`
    (a list), duplicate keys are listed there as (key, first line, line) instead, the last value kept."""
    try:
        loader = yaml.SafeLoader(front)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_nodes(node, where, yaml_line, what, duplicates)
                _check_storable_nodes(node, where, yaml_line, what)
            data = loader.construct_document(node) if node is not None else {}
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = yaml_line + (mark.line if mark else 0)
        started = exc.context_mark if exc.context and exc.context_mark and mark is not exc.context_mark else None
        since = (f" ({exc.context} that started on line {yaml_line + started.line})"
                 if started and started.line != (mark.line if mark else -1) else "")
        raise TemplateError(f"{what} is not valid YAML: {exc.problem or exc}{since}", path=where, line=line,
                            hint="check indentation and quote values that contain ':' or '#'") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"{what} is not valid YAML: {exc}", path=where, line=yaml_line,
                            hint="check indentation and quote values that contain ':' or '#'") from None
    except RecursionError:
        raise TemplateError(f"{what} nests too deeply", path=where, line=yaml_line,
                            hint="flatten the settings") from None
    return data, node


def parse_template(text: str, path: str | Path | None = None, problems: list[Problem] | None = None) -> Template:
    """Parse a template file's text; every error names the file and line, never a traceback.

    A byte-order mark is ignored and Windows line ends (CRLF) read as line feeds; `Template.text` keeps
    the text as given (its hash is the version).
    `problems`: collect each independent setting's or slot's error there and go on with a default (a broken
    slot stays declared with no source, see `SlotSpec.broken`), so lint reports them all in one run; only a
    front matter that cannot be read at all still raises.
    """
    where = str(path) if path else "<template>"
    original = text
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    front, body, yaml_line, body_line = _split_front_matter(text, where)
    data, node = load_yaml(front, where, yaml_line)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TemplateError("front matter must be a mapping of settings (key: value)", path=where, line=yaml_line,
                            hint="write settings as 'name: my-template' lines")
    key_lines = key_lines_of(node, yaml_line) if node is not None else {}

    def fail(msg: str, *keys: Any, hint: str = "") -> TemplateError:
        line = yaml_line
        k = keys
        while k:
            if k in key_lines:
                line = key_lines[k]
                break
            k = k[:-1]
        return TemplateError(msg, path=where, line=line, hint=hint)

    default_name = Path(where).name.split(".")[0] if path else "template"

    def attempt(check: Callable[[], Any], default: Any) -> Any:
        """`check()`, or (collecting) its error noted and `default` in its place."""
        try:
            return check()
        except TemplateError as exc:
            if problems is None:
                raise
            problems.append(exc.problem)
            return default

    def text_of(key: str, default: str = "") -> str:
        value = data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, (dict, list)):
            raise fail(f"{key} must be text, not a {'mapping' if isinstance(value, dict) else 'list'}", key,
                       hint=f"write {key}: some text (quote it if it contains ':' or '#')")
        return str(value)

    def names_of(key: str, example: str) -> list[str]:
        value = data.get(key)
        if value is None or value == "" or value == []:
            return []
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise fail(f"{key} must be a list of names, not {_kind(value)}", key, hint=f"write {key}: {example}")
        for i, item in enumerate(value):
            if isinstance(item, (dict, list)) or item is None:
                raise fail(f"{key} must be a list of names; item {i + 1} is {_kind(item)}", key, i,
                           hint=f"write {key}: {example}")
        return [str(v) for v in value]

    def mode_of() -> str:
        mode = text_of("mode", "generate")
        if mode not in MODES:
            raise fail(f"unknown mode {mode!r}", "mode", hint=f"use one of: {', '.join(MODES)}")
        return mode

    name = attempt(lambda: text_of("name", default_name), default_name)
    mode = attempt(mode_of, "generate")
    tags: list[str] = attempt(lambda: names_of("tags", "[safety, refusal]"), [])

    def slots_of() -> dict:
        slots_data = data.get("slots") or {}
        if not isinstance(slots_data, dict):
            raise fail("slots must be a mapping of slot name to its values", "slots",
                       hint="write 'slots:' then one indented 'name: [value, value]' per slot")
        return slots_data

    slots: dict[str, SlotSpec] = {}
    slots_data: dict[Any, Any] = attempt(slots_of, {})
    def slot_of(sname: Any, spec: Any, line: int) -> SlotSpec:
        return _parse_slot(str(sname), spec, lambda msg, *k, hint="": fail(msg, "slots", sname, *k, hint=hint), line)

    for sname, spec in slots_data.items():
        line = key_lines.get(("slots", sname), yaml_line)
        slots[str(sname)] = attempt(partial(slot_of, sname, spec, line), SlotSpec(str(sname), line=line))

    combine = attempt(lambda: _parse_combine(data.get("combine") or {}, fail, key_lines, slots), Combine())

    def schema_of() -> dict | None:
        schema = data.get("schema")
        if schema is not None and not isinstance(schema, dict):
            raise fail("schema must be a JSON Schema mapping", "schema",
                       hint="write schema: {type: object, properties: {...}}")
        return schema

    def params_of() -> dict:
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise fail("params must be a mapping", "params", hint="write params: {temperature: 0.7, max_tokens: 300}")
        params = {str(k): v for k, v in params.items()}
        check_params(params, fail)  # a literal key is refused here, so it never reaches a session or the screen
        check_param_types(params, fail)  # `max_tokens: many` is a file:line error, never a crash mid-run
        return params

    schema = attempt(schema_of, None)
    followups: list[str] = attempt(lambda: names_of("followups", "[double-check]"), [])
    inputs: list[str] = attempt(lambda: names_of("inputs", "[prompt, output]"), [])
    params: dict[str, Any] = attempt(params_of, {})
    model = attempt(lambda: text_of("model"), "") or None
    return Template(
        name=name,
        body=body,
        description=text_of("description"),
        targets=text_of("targets"),
        use_when=text_of("use_when"),
        tags=tags,
        mode=mode,
        slots=slots,
        combine=combine,
        schema=schema,
        followups=followups,
        model=model,
        params=params,
        inputs=inputs,
        path=Path(path) if path else None,
        text=original,
        body_line=body_line,
        key_lines=key_lines,
    )


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false", type(None): "empty"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else "text")


def _parse_slot(name: str, spec: Any, fail, line: int) -> SlotSpec:
    if not _NAME.match(name):
        raise fail(f"slot name {name!r} is not a valid name", hint="use letters, digits and '_' (e.g. customer_name)")
    if isinstance(spec, list):
        return SlotSpec(name, values=_scalars(spec, fail, name), line=line)
    if isinstance(spec, str):
        return SlotSpec(name, file=spec, line=line)
    if not isinstance(spec, dict):
        raise fail(f"slot {name!r} needs values, a file, a dataset or personas",
                   hint="write e.g. 'tone: [formal, casual]' or 'issue: {file: data/issues.txt}'")
    weighted = bool(spec) and all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in spec.values())
    if weighted and not set(spec) & SLOT_KEYS:
        spec = {"values": spec}                      # `tone: {formal: 3, casual: 1}`: values with their weights
    unknown = set(spec) - SLOT_KEYS
    if unknown:
        hint = f"known settings: {', '.join(sorted(SLOT_KEYS))}"
        if weighted:                                 # a value named like a setting makes the short form ambiguous
            hint = (f"values named like a setting ({', '.join(sorted(set(spec) & SLOT_KEYS))}) need the long "
                    f"form: values: {{{', '.join(f'{k}: {w}' for k, w in spec.items())}}}")
        raise fail(f"slot {name!r} has unknown setting(s): {', '.join(sorted(map(str, unknown)))}",
                   sorted(unknown)[0], hint=hint)
    out = SlotSpec(name, line=line)
    values = spec.get("values")
    if isinstance(values, dict):
        out.values = _scalars(list(values.keys()), fail, name, "values")
        try:
            out.weights = [float(w) for w in values.values()]
        except (TypeError, ValueError):
            raise fail(f"slot {name!r}: weights must be numbers", "values", hint="write values: {formal: 3, casual: 1}") from None
        if any(w < 0 for w in out.weights) or not sum(out.weights) > 0:
            raise fail(f"slot {name!r}: weights must be positive", "values", hint="use weights above zero")
    elif isinstance(values, list):
        out.values = _scalars(values, fail, name, "values")
        weights = spec.get("weights")
        if weights is not None:
            if not isinstance(weights, list) or len(weights) != len(values):
                raise fail(f"slot {name!r}: weights must be a list as long as values", "weights",
                           hint="give one weight per value")
            try:
                out.weights = [float(w) for w in weights]
            except (TypeError, ValueError):
                raise fail(f"slot {name!r}: weights must be numbers", "weights", hint="write weights: [3, 1]") from None
            if any(w < 0 for w in out.weights) or not sum(out.weights) > 0:
                raise fail(f"slot {name!r}: weights must be positive", "weights", hint="use weights above zero")
    elif values is not None:
        raise fail(f"slot {name!r}: values must be a list or a mapping of value to weight", "values",
                   hint="write values: [a, b] or values: {a: 2, b: 1}")
    for key in ("file", "dataset", "field", "column"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, (str, int, float)) or isinstance(value, bool)):
            raise fail(f"slot {name!r}: {key} must be {'a file name' if key in ('file', 'dataset') else 'a field name'}",
                       key, hint=f"write {key}: {'data/values.csv' if key in ('file', 'dataset') else 'concept'}")
    out.file = _opt_str(spec.get("file") or spec.get("dataset"))
    out.field = _opt_str(spec.get("field") or spec.get("column"))
    personas = spec.get("personas")
    if personas is not None:
        if isinstance(personas, (dict, list)) or personas is False:
            raise fail(f"slot {name!r}: personas must be 'builtin' or a file name", "personas",
                       hint="write personas: builtin, or personas: data/personas.jsonl")
        out.personas = "builtin" if personas in (True, "builtin", "generated", "generator") else str(personas)
    if spec.get("limit") is not None:
        try:
            raw = spec["limit"]
            out.limit = int(raw)
            if isinstance(raw, bool) or isinstance(raw, float) and raw != out.limit or out.limit < 1:
                raise ValueError
        except (TypeError, ValueError):
            raise fail(f"slot {name!r}: limit must be a whole number above 0", "limit", hint="write limit: 1000") from None
    sources = sum(x is not None for x in (out.values, out.file, out.personas))
    if sources != 1:
        raise fail(f"slot {name!r} needs exactly one source (values, file/dataset or personas), it has {sources}",
                   hint="keep one of values:, file:, dataset: or personas:")
    if out.values is not None and not out.values:
        raise fail(f"slot {name!r} has no values", "values", hint="add at least one value")
    return out


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _scalars(values: list, fail, name: str, *key: str) -> list[Any]:
    """Inline values as the slot keeps them; an empty one is refused (as the studio's slot editor refuses it):
    it would render as nothing ("hi ") in every prompt it fills."""
    for i, v in enumerate(values):
        if isinstance(v, (dict, list)):
            raise fail("slot values must be plain text or numbers", hint="quote the value or move rows to a data file")
        if v is None or (isinstance(v, str) and not v.strip()):
            raise fail(f"slot {name!r}: value {i + 1} is empty", *key, i,
                       hint="write the value, or remove it (a slot value cannot be empty)")
    return [v if isinstance(v, (int, float)) and not isinstance(v, bool) else ("" if v is None else str(v)) for v in values]


def _parse_combine(data: Any, fail, key_lines, slots) -> Combine:
    if isinstance(data, str):
        data = {"strategy": data}
    if not isinstance(data, dict):
        raise fail("combine must be a mapping", "combine", hint="write combine: {strategy: sample, n: 100, seed: 1}")
    strategy = str(data.get("strategy", "sample"))
    if strategy not in STRATEGIES:
        raise fail(f"unknown strategy {strategy!r}", "combine", "strategy", hint=f"use one of: {', '.join(STRATEGIES)}")
    out = Combine(strategy=strategy)
    for key in ("n", "seed"):
        if data.get(key) is not None:
            try:
                setattr(out, key, int(data[key]))
            except (TypeError, ValueError):
                raise fail(f"combine.{key} must be a whole number", "combine", key, hint=f"write {key}: 100") from None
    rules = data.get("exclude") or []
    if not isinstance(rules, list):
        raise fail("combine.exclude must be a list of rules", "combine", "exclude",
                   hint="write exclude: [{persona: child, topic: alcohol}]")
    for idx, rule in enumerate(rules):
        if not isinstance(rule, dict) or not rule:
            raise fail("an exclusion rule maps slot names to values", "combine", "exclude", idx,
                       hint="write {persona: child, topic: alcohol}")
        for slot in rule:
            if str(slot) not in slots:
                raise fail(f"exclusion names unknown slot {slot!r}", "combine", "exclude", idx,
                           hint=f"slots are: {', '.join(slots) or '(none)'}")
        out.exclude.append({str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in rule.items()})
        out.exclude_lines.append(key_lines.get(("combine", "exclude", idx), 0))
    return out


def load_template(path: str | Path) -> Template:
    """Read and parse a template file. Raises TemplateError (file:line) for a file that cannot be read or parsed."""
    from studio.core.files import read_user_text

    text = read_user_text(path, TemplateError, what="template file",
                          missing_hint="check the name with 'studio lint templates/'")
    return parse_template(text, Path(path))


class _Dumper(yaml.SafeDumper):
    """Safe YAML, but text holding a Unicode line break (NEL, U+2028, U+2029) or a carriage return is written
    double-quoted with escapes: PyYAML writes those raw inside single quotes, where reading folds them away."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = '"' if any(c in value for c in "\x85\u2028\u2029\r") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_template(t: Template) -> str:
    """Serialise a template back to file text; `parse_template(dump_template(t)) == t`."""
    data: dict[str, Any] = {"name": t.name}
    if t.description:
        data["description"] = t.description
    if t.targets:
        data["targets"] = t.targets
    if t.use_when:
        data["use_when"] = t.use_when
    if t.tags:
        data["tags"] = list(t.tags)
    data["mode"] = t.mode
    if t.model:
        data["model"] = t.model
    if t.params:
        data["params"] = dict(t.params)
    if t.inputs:
        data["inputs"] = list(t.inputs)
    if t.slots:
        data["slots"] = {name: s.to_yaml() for name, s in t.slots.items()}
    data["combine"] = t.combine.to_yaml()
    if t.schema is not None:
        data["schema"] = t.schema
    if t.followups:
        data["followups"] = list(t.followups)
    front = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{front}---\n{t.body}"
