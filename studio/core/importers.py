"""Prompt files people already have -> studio templates: Prompty (.prompty) and Dotprompt (.prompt).

Each importer maps what the studio has a place for (name, description, tags, the model, its parameters,
inputs -> slots holding their sample values, role sections, an output schema -> structured mode) and
lists everything else as a `Note` naming the line, so nothing is dropped silently. Dotprompt bodies are
Handlebars: `{{#if}}`, `{{#unless}}`, `{{#each}}`, `{{#with}}`, `{{else}}`, `{{role}}`, comments, `{{json}}`
and `ifEquals`/`unlessEquals` become Jinja2; what has no Jinja2 meaning here (partials, media, custom helpers)
is refused with its line.

The studio's own templates also end in `.prompt`; `detect` tells them apart by their front matter keys
(`slots`, `mode`, `combine`, ...) and by Handlebars syntax in the body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from studio.core.errors import TemplateError

PROMPTY, DOTPROMPT, STUDIO = "prompty", "dotprompt", "studio"
_STUDIO_ONLY = {"slots", "mode", "combine", "targets", "followups", "params", "use_when"}
_DOTPROMPT_ONLY = {"config", "input", "output", "variant", "tools", "metadata", "raw"}
_HANDLEBARS = re.compile(r"\{\{~?\s*(?:[#/^>!@]|else\s*~?\}\}|role\s+[\"']|json\s+[^}\s]|media\s+\w+=|section\s+[\"'])")


@dataclass
class Note:
    """Something the import could not map (or mapped differently), with the line it came from."""

    line: int
    message: str

    def render(self, path: str | Path) -> str:
        """The note as `path:line: message`."""
        return f"{path}:{self.line}: {self.message}"


@dataclass
class Imported:
    """One imported file: the template `name`, the `kind` it was read as ("prompty" / "dotprompt"), the studio
    template's file `text`, and `notes` (file:line of what was not mapped)."""

    name: str
    kind: str
    text: str                                      # the studio template's file text
    notes: list[Note] = field(default_factory=list)


# -- reading ------------------------------------------------------------------------------------------------

def _split(text: str, path: str) -> tuple[dict, int, str, int]:
    """Front matter (dict), its first line, the body, the body's first line."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    if not text.startswith("---"):
        return {}, 1, text, 1
    end = re.search(r"^---[ \t]*$", text[3:], re.M)
    if end is None:
        raise TemplateError("the front matter has no closing ---", path=path, line=1,
                            hint="end the YAML block with a line holding only ---")
    head = text[3:3 + end.start()]
    body = text[3 + end.end():]
    try:
        meta = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TemplateError(f"the front matter is not valid YAML: {getattr(exc, 'problem', exc)}", path=path,
                            line=(mark.line + 2) if mark else 1, hint="fix the YAML between the --- lines") from None
    if not isinstance(meta, dict):
        raise TemplateError("the front matter is not a mapping", path=path, line=2, hint="use key: value lines")
    body_line = head.count("\n") + 2 + (1 if body.startswith("\n") else 0)
    return meta, 2, body.lstrip("\n"), body_line


def _key_lines(text: str) -> dict[str, int]:
    """Line of each front-matter key (top level and one level down as 'a.b'), for notes."""
    out: dict[str, int] = {}
    parent = None
    for i, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if i > 1 and line.strip() == "---":
            break
        m = re.match(r"^( *)([A-Za-z_$][\w$-]*)\??(?:\([^)]*\))?\s*:", line)
        if not m:
            continue
        if not m.group(1):
            parent = m.group(2)
            out.setdefault(parent, i)
        elif parent:
            out.setdefault(f"{parent}.{m.group(2)}", i)
    return out


def detect(path: str | Path, text: str) -> str:
    """prompty, dotprompt or studio."""
    if str(path).lower().endswith(".prompty"):
        return PROMPTY
    try:
        meta, _, body, _ = _split(text, str(path))
    except TemplateError:
        return STUDIO                # unreadable front matter: lint (or the import) says what is wrong
    keys = set(meta)
    if keys & _STUDIO_ONLY and not keys & _DOTPROMPT_ONLY and not _HANDLEBARS.search(body):
        return STUDIO
    if keys & _DOTPROMPT_ONLY or _HANDLEBARS.search(body):
        return DOTPROMPT
    return STUDIO


def slug(text: str) -> str:
    """`text` as a template name: runs of other characters become "-", lower case; "imported" when empty."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text).strip()).strip("-.").lower()
    return s or "imported"


def import_file(path: str | Path, text: str | None = None) -> Imported:
    """The studio template for one Prompty or Dotprompt file; TemplateError (with the line) when refused."""
    p = Path(path)
    if text is None:
        from studio.core.files import read_user_text

        text = read_user_text(p, what="prompt file")
    kind = detect(p, text)
    if kind == STUDIO:
        _split(text, str(p))         # a broken front matter is said as such, with its line
        raise TemplateError("this is already a studio template", path=p, line=1,
                            hint="copy it into templates/ as it is; `studio import` reads .prompty and Dotprompt files")
    return (_prompty if kind == PROMPTY else _dotprompt)(p, text)


# -- shared -------------------------------------------------------------------------------------------------

_PARAMS = {  # Prompty/OpenAI and Dotprompt (camelCase) names -> litellm's
    "temperature": "temperature", "max_tokens": "max_tokens", "maxOutputTokens": "max_tokens",
    "max_completion_tokens": "max_tokens", "top_p": "top_p", "topP": "top_p", "top_k": "top_k", "topK": "top_k",
    "stop": "stop", "stopSequences": "stop", "frequency_penalty": "frequency_penalty",
    "frequencyPenalty": "frequency_penalty", "presence_penalty": "presence_penalty",
    "presencePenalty": "presence_penalty", "seed": "seed", "n": None, "candidateCount": None,
}


def _params(given: Any, where: str, line: int, notes: list[Note]) -> dict:
    out: dict = {}
    if not isinstance(given, dict):
        return out
    for k, v in given.items():
        target = _PARAMS.get(str(k), "?")
        if target and target != "?" and isinstance(v, (int, float, str, list)) and not isinstance(v, bool):
            out[target] = v
        elif k == "response_format" and isinstance(v, dict) and v.get("type") == "json_object":
            notes.append(Note(line, f"{where}.response_format json_object: not mapped (the studio asks for JSON "
                                    "in structured mode, which needs a schema: add mode: structured and schema:)"))
        else:
            notes.append(Note(line, f"{where}.{k}: not mapped (the studio sends temperature, max_tokens, top_p, "
                                    "top_k, stop, penalties and seed; one sample per request)"))
    return out


def _slots_and_inputs(front: dict, slots: dict, runtime: list[str], notes: list[Note], line: int,
                      what: str) -> None:
    """Put the inputs with values into `front` as slots (every combination), and the rest as run-time
    `inputs`, with a note at `line` that `what` (sample / default) values were missing for them."""
    if slots:
        front["slots"] = slots
        front["combine"] = {"strategy": "product"}
    if runtime:
        front["inputs"] = runtime
        notes.append(Note(line, f"input(s) {', '.join(runtime)} have no {what} value: declared "
                                "as run-time inputs; add values under slots: to generate from them"))


def _slot_values(name: str, value: Any, line: int, notes: list[Note], fixed: dict) -> list | None:
    """A sample value as a slot's values (text and numbers). A list or object cannot be a slot value (slots
    hold text): it is written into the template as a fixed value (`{% set %}`) and the notes say so."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        fixed[name] = value                          # a slot value cannot be empty: a fixed "" instead
        return []
    if isinstance(value, (str, int, float, bool)):
        return [value]
    fixed[name] = value
    notes.append(Note(line, f"input {name}: its sample is a {'list' if isinstance(value, list) else 'mapping'}; "
                            "the studio's slots hold text, so it is written into the template as a fixed value "
                            "({% set %}); vary it with a file slot of rows if you need to"))
    return []


def _literal(value: Any) -> str:
    """A Jinja2 literal for a JSON-like value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_literal(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


_ROLE_LINE = re.compile(r"^(system|user|assistant):[ \t]*$", re.M)


def _inline(body: str, fixed: dict) -> str:
    """`{% set name = value %}` at the top of each role section that uses one of the fixed values."""
    if not fixed:
        return body
    parts = _ROLE_LINE.split(body)               # [before, role, text, role, text, ...]
    def with_sets(text: str) -> str:
        used = [k for k in fixed if re.search(rf"\b{re.escape(k)}\b", text)]
        return "".join(f"{{% set {k} = {_literal(fixed[k])} %}}" for k in used) + text
    out = [with_sets(parts[0]) if parts[0].strip() else parts[0]]
    for i in range(1, len(parts), 2):
        text = parts[i + 1]
        lead = "\n" if text.startswith("\n") else ""
        out.append(f"{parts[i]}:" + lead + with_sets(text[len(lead):]))
    return "".join(out)


def _json_schema(kind: Any) -> dict:
    simple = {"string": "string", "str": "string", "number": "number", "float": "number", "integer": "integer",
              "int": "integer", "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array",
              "object": "object", "dict": "object"}
    return {"type": simple.get(str(kind).lower(), "string")}


def _dump(header: list[str], front: dict, body: str) -> str:
    text = "".join(f"# {h}\n" for h in header) + "---\n"
    text += yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100) + "---\n"
    return text + body.strip("\n") + "\n"


# -- Prompty ------------------------------------------------------------------------------------------------

_PROMPTY_ROLE = re.compile(r"^\s*#?\s*(system|user|assistant|function|tool|developer)\s*:\s*$", re.I)


def _prompty_model(model: Any, lines: dict, notes: list[Note]) -> tuple[str | None, dict]:
    line = lines.get("model", 1)
    if model is None:
        return None, {}
    if isinstance(model, str):
        return model, {}
    if not isinstance(model, dict):
        notes.append(Note(line, "model: not a mapping or a name; not mapped"))
        return None, {}
    params = _params(model.get("parameters") or model.get("options"), "model.parameters",
                     lines.get("model.parameters", lines.get("model.options", line)), notes)
    name = None
    if model.get("id"):                                   # Prompty 2: model.id (+ provider)
        provider = str(model.get("provider") or "").lower()
        name = {"openai": "openai/", "azure": "azure/", "azure_openai": "azure/", "anthropic": "anthropic/",
                "ollama": "ollama/"}.get(provider, "") + str(model["id"])
    conf = model.get("configuration") or model.get("connection") or {}
    if not isinstance(conf, dict):
        conf = {}
    kind = str(conf.get("type") or conf.get("kind") or "").lower()
    if name is None:
        deployment = conf.get("azure_deployment") or conf.get("deployment")
        base = conf.get("model") or conf.get("name")
        if kind in ("azure_openai", "azure") and deployment:
            name = f"azure/{deployment}"
        elif base:
            name = base if "/" in str(base) else f"openai/{base}"
        elif deployment:
            name = f"azure/{deployment}"
    for k, v in conf.items():
        if k in ("type", "kind", "azure_deployment", "deployment", "model", "name"):
            continue
        what = "read from the environment as litellm does" if "key" in k.lower() else \
            "pass it with --api-base when you run" if "endpoint" in k.lower() or "base" in k.lower() else "not mapped"
        notes.append(Note(lines.get("model.configuration", line),
                          f"model.configuration.{k}: {what}" + ("" if isinstance(v, str) and v.startswith("${")
                                                                else "")))
    if model.get("api") not in (None, "chat"):
        notes.append(Note(line, f"model.api {model.get('api')}: the studio sends chat requests"))
    for k in model:
        if k not in ("api", "configuration", "connection", "parameters", "options", "id", "provider", "response"):
            notes.append(Note(line, f"model.{k}: not mapped"))
    if name is None:
        notes.append(Note(line, "model: no model name or deployment found; the session's model is used"))
    return name, params


def _prompty(path: Path, text: str) -> Imported:
    meta, _, body, body_line = _split(text, str(path))
    lines = _key_lines(text)
    notes: list[Note] = []
    name = slug(meta.get("name") or path.stem)
    front: dict[str, Any] = {"name": name}
    if meta.get("description"):
        front["description"] = " ".join(str(meta["description"]).split())
    if isinstance(meta.get("tags"), list):
        front["tags"] = [str(t) for t in meta["tags"]]
    model, params = _prompty_model(meta.get("model"), lines, notes)
    if model:
        front["model"] = model
    front["mode"] = "generate"
    if params:
        front["params"] = params
    # inputs: Prompty 1 (`inputs: {x: {type, default, sample}}` and/or `sample: {x: ...}`), Prompty 2 (a list)
    samples = meta.get("sample") if isinstance(meta.get("sample"), dict) else {}
    if isinstance(meta.get("sample"), str):
        notes.append(Note(lines.get("sample", 1), f"sample: {meta['sample']!r} names a file; not read (put the "
                                                  "values under slots:, or use a file slot)"))
    declared: dict[str, dict] = {}
    raw_inputs = meta.get("inputs")
    if isinstance(raw_inputs, dict):
        declared = {str(k): (v if isinstance(v, dict) else {"default": v}) for k, v in raw_inputs.items()}
    elif isinstance(raw_inputs, list):
        declared = {str(i.get("name")): i for i in raw_inputs if isinstance(i, dict) and i.get("name")}
    slots: dict[str, Any] = {}
    runtime: list[str] = []
    fixed: dict[str, Any] = {}
    for key in list(dict.fromkeys([*declared, *samples])):
        spec = declared.get(key, {})
        value = samples.get(key, spec.get("sample", spec.get("example", spec.get("default"))))
        values = _slot_values(key, value, lines.get(f"inputs.{key}", lines.get(f"sample.{key}", lines.get("inputs", 1))),
                              notes, fixed)
        if values is None:
            runtime.append(key)
        elif values:
            slots[key] = values
    _slots_and_inputs(front, slots, runtime, notes, lines.get("inputs", 1), "sample")
    outputs = meta.get("outputs")
    if isinstance(outputs, dict) and outputs:
        props = {str(k): {**_json_schema((v or {}).get("type") if isinstance(v, dict) else v),
                          **({"description": v["description"]} if isinstance(v, dict) and v.get("description")
                             else {})} for k, v in outputs.items()}
        front["mode"] = "structured"
        front["schema"] = {"type": "object", "required": list(props), "properties": props}
    template = meta.get("template")
    fmt = template.get("format") or template.get("type") if isinstance(template, dict) else template
    for k in meta:
        if k not in ("name", "description", "tags", "model", "sample", "inputs", "outputs", "template", "$schema",
                     "authors", "version", "metadata"):
            notes.append(Note(lines.get(k, 1), f"{k}: not mapped"))
    header = [f"Imported from {path.name} (Prompty) by `studio import`."]
    if meta.get("authors") or meta.get("version"):
        header.append("Authors: " + ", ".join(map(str, meta.get("authors") or [])) +
                      (f"; version {meta['version']}" if meta.get("version") else ""))
    out_lines, role = [], None
    for offset, raw in enumerate(body.split("\n")):
        m = _PROMPTY_ROLE.match(raw)
        if m:
            role = m.group(1).lower()
            mapped = {"developer": "system"}.get(role, role)
            if mapped not in ("system", "user", "assistant"):
                raise TemplateError(f"a {role}: section has no place in a studio template", path=path,
                                    line=body_line + offset, hint="remove it or make it a user: section")
            out_lines.append(f"{mapped}:")
        else:
            out_lines.append(raw)
    body_out = "\n".join(out_lines)
    if str(fmt or "jinja2").lower() in ("mustache", "handlebars"):
        body_out, more = handlebars_to_jinja(body_out, str(path), body_line, {*slots, *runtime, *fixed})
        notes += more
    elif str(fmt or "jinja2").lower() not in ("jinja2", "jinja"):
        raise TemplateError(f"template format {fmt!r} is not one the studio reads", path=path,
                            line=lines.get("template", 1), hint="the studio renders Jinja2 (Mustache is converted)")
    return Imported(name, PROMPTY, _dump(header, front, _inline(body_out, fixed)), notes)


# -- Dotprompt ----------------------------------------------------------------------------------------------

_PICO = re.compile(r"^([A-Za-z_$][\w$]*)(\?)?(?:\((\w+)(?:,\s*[^)]*)?\))?$")


def picoschema(schema: Any, path: str, line: int) -> tuple[dict, list[str]]:
    """A Picoschema (Dotprompt's compact schema) as JSON Schema; also the names of optional fields."""
    if isinstance(schema, str):
        kind, _, desc = schema.partition(",")
        out: dict[str, Any] = _json_schema(kind.strip())
        if kind.strip() == "any":
            out = {}
        if desc.strip():
            out["description"] = desc.strip()
        return out, []
    if not isinstance(schema, dict):
        raise TemplateError("a Picoschema must be a mapping of field: type", path=path, line=line,
                            hint="e.g. name: string, count?: integer")
    if "type" in schema and isinstance(schema.get("type"), str) and ("properties" in schema or "items" in schema):
        return schema, []                            # already JSON Schema
    props: dict[str, Any] = {}
    required: list[str] = []
    optional: list[str] = []
    for key, value in schema.items():
        m = _PICO.match(str(key))
        if m is None:
            raise TemplateError(f"Picoschema field {key!r} is not name, name? or name(type)", path=path, line=line,
                                hint="see Dotprompt's Picoschema reference")
        name, opt, kind = m.group(1), m.group(2), m.group(3)
        if kind == "array":
            item, _ = picoschema(value, path, line)
            prop = {"type": "array", "items": item}
        elif kind == "object":
            prop, _ = picoschema(value, path, line)
        elif kind == "enum":
            prop = {"enum": list(value) if isinstance(value, list) else [value]}
        else:
            prop, _ = picoschema(value, path, line)
        props[name] = prop
        (optional if opt else required).append(name)
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out, optional


def _dotprompt(path: Path, text: str) -> Imported:
    meta, _, body, body_line = _split(text, str(path))
    lines = _key_lines(text)
    notes: list[Note] = []
    name = slug(meta.get("name") or path.stem) + (f"-{slug(meta['variant'])}" if meta.get("variant") else "")
    front: dict[str, Any] = {"name": name}
    if meta.get("description"):
        front["description"] = " ".join(str(meta["description"]).split())
    model = meta.get("model")
    if isinstance(model, str):
        provider, _, rest = model.partition("/")
        mapped = {"googleai": "gemini", "vertexai": "vertex_ai", "openai": "openai", "anthropic": "anthropic",
                  "ollama": "ollama"}.get(provider)
        front["model"] = f"{mapped}/{rest}" if mapped and rest else model
        if mapped and mapped != provider:
            notes.append(Note(lines.get("model", 1), f"model {model}: written as {front['model']} (litellm's "
                                                     "name for the provider)"))
    elif model is not None:
        notes.append(Note(lines.get("model", 1), "model: not a model name; not mapped"))
    front["mode"] = "generate"
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    params = _params({k: v for k, v in config.items() if k != "version"}, "config", lines.get("config", 1), notes)
    if config.get("version"):
        notes.append(Note(lines.get("config.version", lines.get("config", 1)),
                          f"config.version {config['version']}: not mapped (name the exact model in model:)"))
    if params:
        front["params"] = params
    inp = meta.get("input") if isinstance(meta.get("input"), dict) else {}
    defaults = inp.get("default") if isinstance(inp.get("default"), dict) else {}
    schema, optional = (picoschema(inp["schema"], str(path), lines.get("input.schema", 1))
                        if inp.get("schema") is not None else ({"properties": {}}, []))
    if isinstance(inp.get("schema"), str):
        notes.append(Note(lines.get("input.schema", 1), f"input.schema {inp['schema']!r} names a registered "
                                                         "schema; its fields are unknown here"))
        schema = {"properties": {}}
    slots: dict[str, Any] = {}
    runtime: list[str] = []
    fixed: dict[str, Any] = {}
    for key in list(dict.fromkeys([*schema.get("properties", {}), *defaults])):
        values = _slot_values(key, defaults.get(key), lines.get("input.default", 1), notes, fixed)
        if values is None and key in optional:
            fixed[key] = ""                          # an optional input left out: {{#if}} sees it empty
            values = []                              # (fixed, as a slot value cannot be empty)
        if values is None:
            runtime.append(key)
        elif values:
            slots[key] = values
    _slots_and_inputs(front, slots, runtime, notes, lines.get("input", 1), "default")
    out = meta.get("output") if isinstance(meta.get("output"), dict) else {}
    if out.get("schema") is not None and not isinstance(out.get("schema"), str):
        front["mode"] = "structured"
        front["schema"], _ = picoschema(out["schema"], str(path), lines.get("output.schema", 1))
    elif out.get("format") == "json" or isinstance(out.get("schema"), str):
        notes.append(Note(lines.get("output", 1), "output: JSON without an inline schema; kept as generate mode "
                                                  "(add mode: structured and a schema: to validate replies)"))
    for k in meta:
        if k not in ("name", "description", "model", "config", "input", "output", "variant"):
            notes.append(Note(lines.get(k, 1), f"{k}: not mapped" + (" (the studio does not call tools)"
                                                                     if k == "tools" else "")))
    body_out, more = handlebars_to_jinja(body, str(path), body_line, {*slots, *runtime, *fixed})
    notes += more
    header = [f"Imported from {path.name} (Dotprompt) by `studio import`."]
    return Imported(name, DOTPROMPT, _dump(header, front, _inline(body_out, fixed)), notes)


# -- Handlebars -> Jinja2 -----------------------------------------------------------------------------------

_TAG = re.compile(r"\{\{(~?)(\{?)(.*?)(\}?)(~?)\}\}", re.S)
_ARG = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[^\s]+')
_PATH = re.compile(r"^(?:\.\./)*(?:@?[A-Za-z_$][\w$-]*|this)(?:\.[A-Za-z_$][\w$-]*|\.\[\d+\])*$")


class _Block:
    def __init__(self, kind: str, line: int, var: str | None = None, key: str | None = None,
                 params: tuple[str, ...] = ()) -> None:
        self.kind, self.line, self.var, self.key, self.params = kind, line, var, key, params


def source_line(source: str, message: str, default: int = 1) -> int:
    """The source file's line where a name a lint message quotes (`{{ name }}`) is first used in a tag, so a
    refusal of the converted text points into the file the user has, not the one never written."""
    for name in re.findall(r"\{\{ ?([\w$.@/-]+) ?\}\}|attribute '([\w$-]+)'", message):
        name = "".join(name)
        word = re.compile(r"(?<![\w$.@])" + re.escape(name.split(".")[0]) + r"(?![\w$])")
        for i, line in enumerate(source.replace("\r\n", "\n").split("\n"), 1):
            if any(word.search(tag) for tag in re.findall(r"\{\{.*?\}\}|\{%.*?%\}", line)):
                return i
    return default


def handlebars_to_jinja(body: str, path: str, first_line: int,
                        names: set[str] | frozenset[str] = frozenset()) -> tuple[str, list[Note]]:
    """Dotprompt's Handlebars as Jinja2; TemplateError with the line for what has no Jinja2 meaning here.

    `names` are the template's top-level names (slots, inputs, fixed values). Inside `{{#each}}`/`{{#with}}` a
    bare name resolves as Handlebars looks it up: a block parameter (`as |x|`) as is; else the current item's
    field; a name that is also a top-level name reads the item's field when the item has it, else the outer one.
    `../` steps out one block."""
    notes: list[Note] = []
    out: list[str] = []
    stack: list[_Block] = []
    pos = 0

    def line_at(i: int) -> int:
        return first_line + body.count("\n", 0, i)

    def refuse(i: int, what: str, hint: str) -> TemplateError:
        return TemplateError(what, path=path, line=line_at(i), hint=hint)

    def blk(content: str, m: re.Match, ltrim: str, rtrim: str, open_: str = "{%", close: str = "%}") -> str:
        """A Jinja2 block tag that keeps Handlebars' whitespace: a tag alone on its line takes the line
        with it (trim_blocks/lstrip_blocks do that); any other keeps the newline after it (`+%}`)."""
        start = body.rfind("\n", 0, m.start()) + 1
        end = body.find("\n", m.end())
        end = len(body) if end < 0 else end
        alone = not body[start:m.start()].strip() and not body[m.end():end].strip()
        if not alone and not rtrim and body[m.end():m.end() + 1] == "\n":
            rtrim = "+"
        if not alone and not ltrim and start < m.start() and not body[start:m.start()].strip():
            ltrim = "+"
        return f"{open_}{ltrim} {content} {rtrim}{close}"

    def expr(token: str, i: int) -> str:
        if token.startswith(("'", '"')):
            return json.dumps(token[1:-1])
        if re.fullmatch(r"-?\d+(?:\.\d+)?|true|false|null", token):
            return {"true": "true", "false": "false", "null": "none"}.get(token, token)
        if not _PATH.match(token):
            raise refuse(i, f"{{{{{token}}}}} is not a value the import can read",
                         "use a plain name, a dotted path, this or @index/@first/@last/@key")
        loop = next((b for b in reversed(stack) if b.kind == "each"), None)
        scopes = [b for b in stack if b.kind in ("each", "with")]
        params = {p for b in scopes for p in b.params}
        while token.startswith("../"):
            token = token[3:]                         # each ../ steps out of one each/with block
            scopes = scopes[:-1]
        ctx = scopes[-1] if scopes else None
        if token in ("@index", "@first", "@last"):
            if loop is None:
                raise refuse(i, f"{token} outside {{{{#each}}}}", "use it inside an each block")
            return {"@index": "loop.index0", "@first": "loop.first", "@last": "loop.last"}[token]
        if token == "@key":
            if loop is None or loop.key is None:
                raise refuse(i, "@key outside {{#each}} over an object", "use it inside an each block")
            return loop.key
        if token.startswith("@"):
            raise refuse(i, f"{token} has no Jinja2 equivalent here", "use @index, @first, @last or @key")
        token = re.sub(r"\.\[(\d+)\]", r"[\1]", token)
        if token == "this" or token.startswith("this."):
            if ctx is None:
                raise refuse(i, "this outside {{#each}} or {{#with}}", "name the input instead")
            return ctx.var + token[4:]
        head = re.split(r"[.\[]", token, maxsplit=1)[0]
        if ctx is None or head in params:
            return token
        field = f"{ctx.var}.{token}"
        if head in names:                             # Handlebars: the current item first, then the outer name
            return f"({field} if {ctx.var}.{head} is defined else {token})"
        return field

    for m in _TAG.finditer(body):
        text = body[pos:m.start()]
        out.append(text.replace("{%", "{{ '{%' }}").replace("{#", "{{ '{#' }}"))
        pos = m.end()
        ltrim, rtrim = "-" if m.group(1) else "", "-" if m.group(5) else ""
        inner = m.group(3).strip()
        i = m.start()
        if m.group(2) and not m.group(4):
            inner = "{" + inner
        if inner.startswith("!"):                     # {{! c }} / {{!-- c --}}
            c = inner[1:].removeprefix("--").removesuffix("--").strip()
            out.append(blk(c.replace("#}", "# }"), m, ltrim, rtrim, "{#", "#}"))
            continue
        if inner.startswith(">"):
            raise refuse(i, f"partial {{{{{inner}}}}}: partials live in other files",
                         "paste the partial's text in its place, then import again")
        if inner.startswith("#"):
            words = _ARG.findall(inner[1:])
            helper, args = (words[0], words[1:]) if words else ("", [])
            if helper == "if" and len(args) == 1:
                out.append(blk(f"if {expr(args[0], i)}", m, ltrim, rtrim))
                stack.append(_Block("if", line_at(i)))
            elif helper == "unless" and len(args) == 1:
                out.append(blk(f"if not {expr(args[0], i)}", m, ltrim, rtrim))
                stack.append(_Block("unless", line_at(i)))
            elif helper in ("ifEquals", "unlessEquals") and len(args) == 2:
                op = "==" if helper == "ifEquals" else "!="
                out.append(blk(f"if {expr(args[0], i)} {op} {expr(args[1], i)}", m, ltrim, rtrim))
                stack.append(_Block(helper, line_at(i)))
            elif helper == "each" and args:
                source = expr(args[0], i)
                var, key = "item", None
                if len(args) >= 3 and args[1] == "as":
                    aliases = " ".join(args[2:]).strip("|").split()
                    var = aliases[0].strip("|") if aliases else "item"
                    key = aliases[1].strip("|") if len(aliases) > 1 else None
                depth = sum(b.kind == "each" for b in stack)
                if var == "item" and depth:
                    var = f"item{depth + 1}"
                rest = body[m.end():]
                close = rest.find("{{/each}}")
                uses_key = "@key" in (rest[:close] if close >= 0 else rest)
                if uses_key and key is None:
                    key = "key" if depth == 0 else f"key{depth + 1}"
                block = _Block("each", line_at(i), var, key,
                               tuple(n.strip("|") for n in " ".join(args[2:]).split() if n.strip("|"))
                               if len(args) >= 3 and args[1] == "as" else ())
                head = f"{key}, {var} in ({source}).items()" if key else f"{var} in {source}"
                out.append(blk(f"for {head}", m, ltrim, rtrim))
                stack.append(block)
            elif helper == "with" and (len(args) == 1 or (len(args) == 3 and args[1] == "as")):
                source = expr(args[0], i)
                depth = sum(b.kind == "with" for b in stack)
                var = args[2].strip("|") if len(args) == 3 else f"ctx{depth + 1 if depth else ''}"
                out.append(blk(f"if {source} %}}{{% with {var} = {source}", m, ltrim, rtrim))
                stack.append(_Block("with", line_at(i), var, None, (var,) if len(args) == 3 else ()))
            elif helper == "with":
                raise refuse(i, f"{{{{#{inner[1:]}}}}} is not converted", "use {{#with name}} or write full paths")
            else:
                raise refuse(i, f"block helper {{{{#{helper}}}}} is not one the import knows",
                             "use #if, #unless, #each, #ifEquals or #unlessEquals; custom helpers do not exist here")
            continue
        if inner.startswith("/"):
            helper = inner[1:].strip()
            if not stack:
                raise refuse(i, f"{{{{/{helper}}}}} closes nothing", "remove it or add the opening block")
            block = stack.pop()
            want = {"ifEquals": "ifEquals", "unlessEquals": "unlessEquals"}.get(block.kind, block.kind)
            if helper != want:
                raise refuse(i, f"{{{{/{helper}}}}} closes the {{{{#{block.kind}}}}} of line {block.line}",
                             f"close it with {{{{/{want}}}}}")
            end = {"each": "endfor", "with": "endwith %}{% endif"}.get(block.kind, "endif")
            out.append(blk(end, m, ltrim, rtrim))
            continue
        if inner == "else" or inner.startswith("else "):
            if not stack:
                raise refuse(i, "{{else}} outside a block", "put it inside #if, #unless or #each")
            if stack[-1].kind == "with":
                raise refuse(i, "{{else}} inside {{#with}} is not converted",
                             "wrap the block in {{#if name}} … {{else}} … {{/if}} instead")
            if inner != "else":
                words = _ARG.findall(inner)
                if len(words) != 3 or words[1] != "if" or stack[-1].kind != "if":
                    raise refuse(i, f"{{{{{inner}}}}} is not converted", "use {{else}} or {{else if x}} inside #if")
                out.append(blk(f"elif {expr(words[2], i)}", m, ltrim, rtrim))
                continue
            out.append(blk("else", m, ltrim, rtrim))
            continue
        words = _ARG.findall(inner)
        if not words:
            continue
        head = words[0]
        if head == "role" and len(words) == 2:
            role = words[1].strip("'\"")
            mapped = {"model": "assistant"}.get(role, role)
            if mapped not in ("system", "user", "assistant"):
                raise refuse(i, f"role {role!r} has no place in a studio template", "use system, user or model")
            if stack:
                raise refuse(i, "{{role}} inside a block", "put role markers outside #if/#each")
            before = "".join(out)
            out.clear()
            out.append(before.rstrip(" \t") + ("" if not before or before.endswith("\n") else "\n")
                       + f"{mapped}:\n")
            if body[pos:pos + 1] == "\n":
                pos += 1
            continue
        if head == "history":
            notes.append(Note(line_at(i), "{{history}} dropped: a studio sample has no earlier conversation"))
            continue
        if head == "section":
            notes.append(Note(line_at(i), f"{{{{{inner}}}}} dropped: the studio has no sections"))
            continue
        if head == "media":
            raise refuse(i, "{{media}} sends an image or file; studio templates are text",
                         "remove it (or describe the media in words), then import again")
        if head == "json" and len(words) >= 2:
            indent = next((w.split("=", 1)[1] for w in words[2:] if w.startswith("indent=")), None)
            arg = f"indent={indent}" if indent else ""
            out.append(f"{{{{{ltrim} {expr(words[1], i)} | tojson({arg}) {rtrim}}}}}")
            continue
        if len(words) > 1 or "=" in head:
            raise refuse(i, f"helper {{{{{inner}}}}} is not one the import knows",
                         "custom helpers do not exist in the studio; write the text or a Jinja2 filter instead")
        out.append(f"{{{{{ltrim} {expr(head, i)} {rtrim}}}}}")
    if stack:
        b = stack[-1]
        raise TemplateError(f"{{{{#{b.kind}}}}} is never closed", path=path, line=b.line,
                            hint=f"add {{{{/{b.kind}}}}}")
    out.append(body[pos:].replace("{%", "{{ '{%' }}").replace("{#", "{{ '{#' }}"))
    text = "".join(out)
    first = re.search(r"^(system|user|assistant):[ \t]*\n", text, re.M)
    if first and first.start() and not re.sub(r"\{#.*?#\}", "", text[:first.start()], flags=re.S).strip():
        # comments before the first role marker would make an empty first message: move them inside it
        text = text[first.start():first.end()] + text[:first.start()].strip("\n") + "\n" + text[first.end():]
    return text, notes
