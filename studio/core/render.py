"""Rendering a template with a fill into chat messages, in the sandbox."""

from __future__ import annotations

from typing import Any

from studio.core.errors import TemplateError
from studio.core.expand import Fill
from studio.core.sandbox import (RefusedTag, SecurityError, TemplateSyntaxError, UndefinedError, compile_source,
                                 template_line)
from studio.core.template import Template


class Record(dict):
    """A slot value with attributes: prints as its text, `{{ slot.field }}` reads an attribute."""

    __slots__ = ("text",)

    def __init__(self, attrs: dict[str, Any], text: str):
        super().__init__(attrs)
        self.text = text

    def __str__(self) -> str:
        return self.text


class Renderer:
    """Compiles a template's sections once; renders many fills fast."""

    def __init__(self, template: Template):
        self.template = template
        self._compiled = []
        for section in template.sections():
            try:
                self._compiled.append((section.role, compile_source(section.source), section.line))
            except RefusedTag as exc:
                raise TemplateError(exc.message, path=template.where, line=section.line + (exc.lineno or 1) - 1,
                                    hint="put the text in this template, or its varying parts in a slot") from None
            except TemplateSyntaxError as exc:
                raise TemplateError(f"template syntax error: {exc.message}", path=template.where,
                                    line=section.line + (exc.lineno or 1) - 1,
                                    hint="check the {{ }} and {% %} tags on that line") from None

    def context(self, fill: Fill, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        ctx: dict[str, Any] = dict(fill.values)
        attrs = fill.attrs
        for name, a in attrs.items():
            ctx[name] = Record(a, ctx[name])
        if extra:
            ctx.update(extra)
        return ctx

    def messages(self, fill: Fill, extra: dict[str, Any] | None = None) -> list[dict[str, str]]:
        ctx = self.context(fill, extra)
        out = []
        for role, compiled, first in self._compiled:
            try:
                content = compiled.render(ctx)
            except TemplateError:
                raise
            except Exception as exc:
                raise self._error(exc, first) from None
            out.append({"role": role, "content": content.strip()})
        return out

    def _error(self, exc: Exception, first: int) -> TemplateError:
        """A runtime failure as a TemplateError on the line that failed (not the section's first line)."""
        found = template_line(exc)
        line = first + found - 1 if found else first
        where = self.template.where
        if isinstance(exc, SecurityError):
            return TemplateError(f"refused by the sandbox: {exc}", path=where, line=line,
                                 hint="templates may only read slot values; remove the attribute access")
        if isinstance(exc, UndefinedError):
            return TemplateError(f"{exc.message}", path=where, line=line,
                                 hint="declare it under slots: (or inputs:) in the front matter, or fix the field name")
        # a filter or operation failing on a value, e.g. int('x')
        return TemplateError(f"rendering failed: {type(exc).__name__}: {exc}", path=where, line=line,
                             hint="check the expressions on that line")

    def text(self, fill: Fill, extra: dict[str, Any] | None = None) -> str:
        """The filled template as one text (the sample itself in render mode)."""
        msgs = self.messages(fill, extra)
        if len(msgs) == 1:
            return msgs[0]["content"]
        return "\n\n".join(f"{m['role']}:\n{m['content']}" for m in msgs)
