"""Lint: every problem in a template file, each with its line and what to do.

Used by `studio lint` and live by the TUI's editor, so it must be fast and never raise.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from jinja2 import nodes

from studio.core.errors import Problem, StudioError
from studio.core.files import read_user_text
from studio.core.sandbox import TemplateSyntaxError, environment, refused_tags, undeclared_names
from studio.core.template import (
    KNOWN_KEYS,
    Section,
    Template,
    _split_front_matter,
    parse_template,
    split_sections,
)


def lint_text(text: str, path: str | Path | None = None, known_templates: Iterable[str] | None = None,
              check_data: bool = True) -> list[Problem]:
    """Every problem in template text (`path` names it in messages), sorted by line: [Problem(file, line,
    message, hint)], [] when clean. Independent problems are all reported in one run: each setting's and each
    slot's, the body's syntax, its unknown names, each slot's data; a front matter that cannot be read at all
    is reported with the body's syntax errors. Never raises for bad input.
    `check_data`: also read the slot files and render one fill."""
    where = str(path) if path else "<template>"
    try:
        problems: list[Problem] = []
        try:
            template = parse_template(text, path, problems)
        except StudioError as exc:
            return _by_line([exc.problem, *_body_syntax(text, where)])
        return _by_line(problems + lint_template(template, known_templates, check_data=check_data, where=where))
    except StudioError as exc:
        return [exc.problem]
    except Exception as exc:  # a bug of ours must not hide the other files' problems (or crash the editor)
        return [Problem(where, 0, f"could not be checked: {type(exc).__name__}: {exc}",
                        "this is a bug in the studio; please report it with the file")]


def _by_line(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line)


def _syntax(section: Section, add: Callable[..., None]) -> nodes.Template | None:
    """The section's Jinja tree, or None with its syntax error added."""
    try:
        return environment().parse(section.source)
    except TemplateSyntaxError as exc:
        add(section.line + (exc.lineno or 1) - 1, f"template syntax error: {exc.message}",
            "check the {{ }} and {% %} tags on that line")
        return None


def _loose_reads(source: str) -> list[tuple[str, int]]:
    """(name, line) read by each `{{ ... }}` of a section that does not parse as a whole (a syntax error
    elsewhere): each expression parsed alone. Names that any {% %} tag mentions may be loop or set variables,
    so they are left out: this can miss a name, never invent one."""
    try:
        tokens = list(environment().lex(source))
    except TemplateSyntaxError:
        return []
    in_block, in_var, tagged = False, False, set()
    reads: list[tuple[str, int]] = []
    expr: list[str] = []
    start = 0
    for line, kind, value in tokens:
        if kind == "block_begin":
            in_block = True
        elif kind == "block_end":
            in_block = False
        elif kind == "variable_begin":
            in_var, expr, start = True, [], line
        elif kind == "variable_end":
            in_var = False
            try:
                reads.extend((n, start) for n in sorted(undeclared_names("{{ " + " ".join(expr) + " }}")))
            except TemplateSyntaxError:
                pass
        elif in_block and kind == "name":
            tagged.add(value)
        elif in_var:
            expr.append(repr(value) if kind == "string" else str(value))
    return [(n, line) for n, line in reads if n not in tagged]


def _body_syntax(text: str, where: str) -> list[Problem]:
    """The body's syntax errors when the front matter cannot be read (its own error says why)."""
    problems: list[Problem] = []
    try:
        _, body, _, body_line = _split_front_matter(text.removeprefix("\ufeff").replace("\r\n", "\n"), where)
    except StudioError:
        return problems
    for section in split_sections(body, body_line):
        _syntax(section, lambda line, message, hint: problems.append(Problem(where, line, message, hint)))
    return problems


def lint_template(template: Template, known_templates: Iterable[str] | None = None, *, check_data: bool = True,
                  where: str | None = None) -> list[Problem]:
    """Problems in a parsed template: unknown names, refused attribute access, follow-ups that are not in
    `known_templates`, slot data that cannot be read or rendered (with `check_data`). Never raises."""
    where = where or template.where
    problems: list[Problem] = []

    def add(line: int, message: str, hint: str = "", severity: str = "error") -> None:
        problems.append(Problem(where, line, message, hint, severity))

    for key in template.key_lines:
        if len(key) == 1 and key[0] not in KNOWN_KEYS:
            add(template.key_lines[key], f"unknown setting {key[0]!r} (ignored)",
                f"known settings: {', '.join(sorted(KNOWN_KEYS))}", "warning")

    used: set[str] = set()
    fields: list[tuple[str, str, int]] = []  # (slot, field, line) read as {{ slot.field }}
    syntax_ok = True
    for section in template.sections():
        ast = _syntax(section, add)
        declared = set(template.slots) | set(template.inputs)
        if ast is None:
            syntax_ok = False
            for name, line in _loose_reads(section.source):
                if name not in declared:
                    add(section.line + line - 1, f"{{{{ {name} }}}} is not a slot",
                        f"declare it under slots: (or inputs:), or fix the name; "
                        f"slots: {', '.join(template.slots) or '(none)'}")
            continue
        for tag, line in refused_tags(ast):
            add(section.line + line - 1, f"{{% {tag} %}} is refused by the sandbox: a template cannot read other files",
                "put the text in this template, or its varying parts in a slot")
        fields.extend((slot, attr, section.line + line - 1) for slot, attr, line in _field_reads(ast))
        for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
            attr = node.attr if isinstance(node, nodes.Getattr) else getattr(getattr(node, "arg", None), "value", None)
            if isinstance(attr, str) and attr.startswith("_"):
                add(section.line + node.lineno - 1, f"access to {attr!r} is refused by the sandbox",
                    "templates may only read slot values and their fields")
        names = undeclared_names(section.source)
        used |= names
        for name in sorted(names - declared):
            add(section.line + _first_use(section.source, name), f"{{{{ {name} }}}} is not a slot",
                f"declare it under slots: (or inputs:), or fix the name; slots: {', '.join(template.slots) or '(none)'}")
    if not template.body.strip():
        add(template.body_line, "the prompt body is empty", "write the prompt below the closing '---'")
    for name, spec in template.slots.items():
        if syntax_ok and name not in used:
            add(spec.line, f"slot {name!r} is never used in the prompt", f"use {{{{ {name} }}}} or remove the slot",
                "warning")
    if template.mode == "structured":
        if template.schema is None:
            add(template.line_of("mode"), "structured mode needs a schema", "add schema: {type: object, properties: ...}")
        else:
            try:
                from jsonschema.validators import validator_for

                validator_for(template.schema).check_schema(template.schema)
            except Exception as exc:  # SchemaError carries the reason
                add(template.line_of("schema"), f"schema is not a valid JSON Schema: {getattr(exc, 'message', exc)}",
                    "see json-schema.org for the keywords")
    elif template.schema is not None:
        add(template.line_of("schema"), f"schema is ignored in {template.mode} mode", "set mode: structured", "warning")
    if template.mode == "render":
        problems.extend(_check_conversation(template, where))
    if known_templates is not None:
        known = set(known_templates)
        for i, name in enumerate(template.followups):
            if name not in known:
                add(template.line_of("followups", i), f"follow-up template {name!r} not found",
                    f"templates here: {', '.join(sorted(known))}")
    try:  # a key referenced from an unset variable: a run would stop at once, say so now
        from studio.core.secrets import resolve_params

        resolve_params(template.params, where=where, line_of=template.line_of)
    except StudioError as exc:
        add(exc.problem.line, f"{exc.problem.message} here", exc.problem.hint, "warning")
    if check_data:  # each slot's data is independent of the body: read it even when the body has errors
        render = not any(p.severity == "error" for p in problems)
        problems.extend(_check_data(template, where, fields, render))
    return problems


def _field_reads(ast: nodes.Template) -> list[tuple[str, str, int]]:
    """`{{ slot.field }}` and `{{ slot['field'] }}` reads (not method calls such as `slot.get('x')`)."""
    called = {id(c.node) for c in ast.find_all(nodes.Call)}
    out = []
    node: Any  # Getattr or Getitem (jinja2's find_all is typed as returning the base Node)
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in called or not isinstance(node.node, nodes.Name):
            continue
        attr = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(attr, str):
            out.append((node.node.name, attr, node.lineno))
    return out


def _rows_of(source) -> Sequence | None:
    """The rows of a slot source (dicts of fields), None for plain values; the generator's first persona."""
    from studio.core.slots import ValueSource

    if isinstance(source, ValueSource):
        return source.rows
    return [source.attrs(i) for i in range(min(len(source), 1))]


def _check_fields(sources: dict[str, Any], fields: list[tuple[str, str, int]], where: str) -> list[Problem]:
    """A template reading a field no row of its slot's file has: an error now, not a failure mid-run.
    Each check stops at the first row that has the field (usually the first row)."""
    problems = []
    rows_of: dict[str, Sequence | None] = {}
    for slot, attr, line in fields:
        if slot not in sources or attr == "text":
            continue
        if slot not in rows_of:
            rows_of[slot] = _rows_of(sources[slot])
        rows = rows_of[slot]
        if rows is None or any(isinstance(r, dict) and attr in r for r in rows):
            continue
        known = sorted({str(k) for r in rows[:1000] if isinstance(r, dict) for k in r})
        origin = getattr(sources[slot], "origin", slot)
        problems.append(Problem(where, line, f"no row of slot {slot!r} ({origin}) has a field {attr!r}",
                                f"fields: {', '.join(known) or '(none)'}; fix the name or the data"))
    return problems


def _first_use(source: str, name: str) -> int:
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    for i, line in enumerate(source.split("\n")):
        if pattern.search(line):
            return i
    return 0


def _check_conversation(template: Template, where: str) -> list[Problem]:
    """Render mode: the sections are the sample (prompt, then the last assistant: section as the reply)."""
    from studio.core.render import split_conversation

    try:
        last = split_conversation(template)
    except StudioError as exc:
        p = exc.problem
        p.path = where
        return [p]
    if last is None:
        return [Problem(where, template.body_line, "render mode without an assistant: section: each sample is the "
                        "filled prompt with no reply (a preview), left out of chat exports",
                        "add an assistant: section holding the reply; the sections before it are the prompt",
                        "warning")]
    sections = template.sections()
    roles = [x.role for x in sections[:last]]
    body = roles[1:] if roles[:1] == ["system"] else roles
    if not body or body != ["user", "assistant"] * (len(body) // 2) + ["user"]:
        return [Problem(where, sections[last].line - 1, f"render mode: the sections before the reply are "
                        f"{', '.join(roles) or '(none)'}, not a conversation a trainer accepts",
                        "use an optional system:, then user: and assistant: in turn, ending with user: before "
                        "the last assistant: section (the reply)")]
    return []


def _placed(p: Problem, where: str) -> Problem:
    if not p.path:
        p.path = where
    return p


def _check_data(template: Template, where: str, fields: Sequence[tuple[str, str, int]], render: bool) -> list[Problem]:
    """Read each slot's data (a problem per slot that cannot be read: missing file, empty list, bad row), check
    the fields the body reads, then, when all is well so far and `render`, render one fill: catches runtime
    refusals."""
    from studio.core.expand import Space
    from studio.core.render import Renderer
    from studio.core.slots import resolve

    problems: list[Problem] = []
    sources: dict[str, Any] = {}
    for name, spec in template.slots.items():
        if spec.broken:  # its front-matter problem is reported already
            continue
        try:
            sources[name] = resolve(template, spec)
        except StudioError as exc:
            problems.append(_placed(exc.problem, where))
    problems.extend(_check_fields(sources, list(fields), where))
    if problems or not render or len(sources) != len(template.slots):
        return problems
    try:
        space = Space(template, sources)
        renderer = Renderer(template)
        fill = space.fill(space.digits(0))
        renderer.messages(fill, {name: f"<{name}>" for name in template.inputs})
    except StudioError as exc:
        return [_placed(exc.problem, where)]
    return []


def _name_of(text: str, path: Path) -> set[str]:
    """The template's name, or nothing when it does not parse (its own lint says why)."""
    try:
        return {parse_template(text, path).name}
    except Exception:  # any failure here is reported when the file itself is linted
        return set()


def lint_paths(paths: Iterable[str | Path]) -> list[Problem]:
    """Lint files and folders of templates (folders: every *.prompt inside)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(p.glob("*.prompt")))
        else:
            files.append(p)
    names: set[str] = set()
    parsed: list[tuple[Path, str | None, list[Problem]]] = []
    for f in files:
        try:
            text = read_user_text(f, StudioError, what="template file")
        except StudioError as exc:
            parsed.append((f, None, [exc.problem]))
            continue
        names.update(_name_of(text, f))
        parsed.append((f, text, []))
    siblings = {p.parent for p in files}
    for folder in siblings:  # follow-ups may name templates beside the linted ones
        for other in folder.glob("*.prompt"):
            try:
                names.update(_name_of(read_user_text(other, StudioError), other))
            except StudioError:
                pass
    problems: list[Problem] = []
    for f, text, early in parsed:
        foreign = _foreign(f, text) if text is not None else None
        if foreign:                  # a Prompty or Dotprompt file: say how to convert it, not its misreadings
            problems.append(Problem(str(f), 1, f"this is a {foreign} file, not a studio template",
                                    f"convert it: studio import {f}"))
            continue
        problems.extend(early if text is None else lint_text(text, f, names))
    return problems


def _foreign(path: Path, text: str) -> str | None:
    from studio.core.importers import DOTPROMPT, PROMPTY, detect

    kind = detect(path, text)
    return {PROMPTY: "Prompty", DOTPROMPT: "Dotprompt"}.get(kind)
