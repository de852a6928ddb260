"""Lint: every problem in a template file, each with its line and what to do.

Used by `studio lint` and live by the TUI's editor, so it must be fast and never raise.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from jinja2 import nodes

from studio.core.errors import Problem, StudioError
from studio.core.sandbox import TemplateSyntaxError, environment, undeclared_names
from studio.core.template import KNOWN_KEYS, Template, parse_template


def lint_text(text: str, path: str | Path | None = None, known_templates: Iterable[str] | None = None,
              check_data: bool = True) -> list[Problem]:
    where = str(path) if path else "<template>"
    try:
        template = parse_template(text, path)
    except StudioError as exc:
        return [exc.problem]
    return lint_template(template, known_templates, check_data=check_data, where=where)


def lint_template(template: Template, known_templates: Iterable[str] | None = None, *, check_data: bool = True,
                  where: str | None = None) -> list[Problem]:
    where = where or template.where
    problems: list[Problem] = []

    def add(line: int, message: str, hint: str = "", severity: str = "error") -> None:
        problems.append(Problem(where, line, message, hint, severity))

    for key in template.key_lines:
        if len(key) == 1 and key[0] not in KNOWN_KEYS:
            add(template.key_lines[key], f"unknown setting {key[0]!r} (ignored)",
                f"known settings: {', '.join(sorted(KNOWN_KEYS))}", "warning")

    used: set[str] = set()
    syntax_ok = True
    for section in template.sections():
        try:
            ast = environment().parse(section.source)
        except TemplateSyntaxError as exc:
            syntax_ok = False
            add(section.line + (exc.lineno or 1) - 1, f"template syntax error: {exc.message}",
                "check the {{ }} and {% %} tags on that line")
            continue
        for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
            attr = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if isinstance(attr, str) and attr.startswith("_"):
                add(section.line + node.lineno - 1, f"access to {attr!r} is refused by the sandbox",
                    "templates may only read slot values and their fields")
        names = undeclared_names(section.source)
        used |= names
        declared = set(template.slots) | set(template.inputs)
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
    if known_templates is not None:
        known = set(known_templates)
        for i, name in enumerate(template.followups):
            if name not in known:
                add(template.line_of("followups", i), f"follow-up template {name!r} not found",
                    f"templates here: {', '.join(sorted(known))}")
    if check_data and not any(p.severity == "error" for p in problems):
        problems.extend(_check_render(template, where))
    return problems


def _first_use(source: str, name: str) -> int:
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    for i, line in enumerate(source.split("\n")):
        if pattern.search(line):
            return i
    return 0


def _check_render(template: Template, where: str) -> list[Problem]:
    """Read the data files and render one fill: catches missing files and runtime refusals."""
    from studio.core.expand import Space
    from studio.core.render import Renderer

    try:
        space = Space(template)
        renderer = Renderer(template)
        fill = space.fill(space.digits(0))
        renderer.messages(fill, {name: f"<{name}>" for name in template.inputs})
    except StudioError as exc:
        p = exc.problem
        if not p.path:
            p.path = where
        return [p]
    return []


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
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            parsed.append((f, None, [Problem(str(f), 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}",
                                             "check the path (and that the file is UTF-8 text)")]))
            continue
        try:
            names.add(parse_template(text, f).name)
        except StudioError:
            pass
        parsed.append((f, text, []))
    siblings = {p.parent for p in files}
    for folder in siblings:  # follow-ups may name templates beside the linted ones
        for other in folder.glob("*.prompt"):
            try:
                names.add(parse_template(other.read_text(encoding="utf-8"), other).name)
            except (StudioError, OSError, UnicodeDecodeError):
                pass
    problems: list[Problem] = []
    for f, text, early in parsed:
        problems.extend(early if text is None else lint_text(text, f, names))
    return problems
