"""Syntax highlighting for template files (YAML front matter + Jinja2 chat body) without tree-sitter.

Returns TextArea highlight names per line, as byte ranges (what TextArea's highlight map expects).
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^(\s*-?\s*)([A-Za-z_][\w-]*)\s*:")
_COMMENT = re.compile(r"(^|\s)#.*$")
_STRING = re.compile(r"\"[^\"]*\"|'[^']*'")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(\.\d+)?(?![\w.])")
_ROLE = re.compile(r"^(system|user|assistant):\s*$")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")


def _b(line: str, i: int) -> int:
    return len(line[:i].encode("utf-8"))


def highlight_lines(lines: list[str]) -> dict[int, list[tuple[int, int | None, str]]]:
    out: dict[int, list[tuple[int, int | None, str]]] = {}
    fences = 0
    for row, line in enumerate(lines):
        spans: list[tuple[int, int | None, str]] = []
        if fences < 2 and line.strip() == "---":
            fences += 1
            spans.append((0, None, "heading.marker"))
        elif fences == 1:  # front matter
            m = _KEY.match(line)
            if m:
                spans.append((_b(line, m.start(2)), _b(line, m.end(2)), "yaml.field"))
            for s in _STRING.finditer(line):
                spans.append((_b(line, s.start()), _b(line, s.end()), "string"))
            for n in _NUMBER.finditer(line):
                spans.append((_b(line, n.start()), _b(line, n.end()), "number"))
            c = _COMMENT.search(line)
            if c and not _STRING.search(line[c.start():]):
                spans.append((_b(line, c.start()), None, "comment"))
        else:  # prompt body
            if _ROLE.match(line):
                spans.append((0, None, "heading"))
            for j in _JINJA.finditer(line):
                kind = {"{{": "variable", "{%": "keyword", "{#": "comment"}[j.group()[:2]]
                spans.append((_b(line, j.start()), _b(line, j.end()), kind))
        if spans:
            out[row] = spans
    return out
