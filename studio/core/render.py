"""Rendering a template with a fill into chat messages, in the sandbox."""

from __future__ import annotations

import re
from typing import Any

from studio.core.errors import TemplateError
from studio.core.expand import Fill
from studio.core.sandbox import (RefusedTag, SecurityError, TemplateSyntaxError, UndefinedError, compile_source,
                                 template_line)
from studio.core.template import Template


_NO_FIELD = re.compile(r"^'studio\.core\.render\.Record object' has no attribute '(.*)'$")


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
        """The names a template sees for `fill`: each slot's text, its row fields / persona attributes, and
        `extra` (values for the template's declared inputs)."""
        ctx: dict[str, Any] = dict(fill.values)
        attrs = fill.attrs
        for name, a in attrs.items():
            ctx[name] = Record(a, ctx[name])
        if extra:
            ctx.update(extra)
        return ctx

    def messages(self, fill: Fill, extra: dict[str, Any] | None = None) -> list[dict[str, str]]:
        """The rendered prompt for `fill`: [{"role", "content"}] one per section, content stripped.
        Raises TemplateError with the section's line for a runtime error (an unknown field, a refused call)."""
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
            m = _NO_FIELD.match(exc.message or "")
            if m:
                return TemplateError(f"this row has no field {m.group(1)!r}", path=where, line=line,
                                     hint="fix the field name (studio lint lists the fields the rows have) or the data")
            return TemplateError(f"{exc.message}", path=where, line=line,
                                 hint="declare it under slots: (or inputs:) in the front matter, or fix the field name")
        # a filter or operation failing on a value, e.g. int('x')
        return TemplateError(f"rendering failed: {type(exc).__name__}: {exc}", path=where, line=line,
                             hint="check the expressions on that line")

    def text(self, fill: Fill, extra: dict[str, Any] | None = None) -> str:
        """The filled template as one text (a preview: what `studio render` shows)."""
        return preview_text(self.messages(fill, extra))

    def conversation(self, fill: Fill, extra: dict[str, Any] | None = None
                     ) -> tuple[list[dict[str, str]], str | None, list[dict[str, str]]]:
        """Render mode: the filled sections as a sample -> (prompt messages, completion or None, all messages).

        Everything before the last `assistant:` section is the prompt and that section is the completion
        (the mad-lib's reply). Without an assistant section there is no completion: the sample is a
        preview of a prompt, not a training pair. Text after the last assistant section would be in no
        sample, so it is refused (lint says so too).
        """
        msgs = self.messages(fill, extra)
        split = split_conversation(self.template)
        if split is None:
            return msgs, None, msgs
        return msgs[:split], msgs[split]["content"], msgs


def split_conversation(template: Template) -> int | None:
    """Index of the section that is a render-mode sample's completion (the last `assistant:`), or None.

    Raises TemplateError when sections follow it (their text would be lost from the sample).
    """
    sections = template.sections()
    last = max((i for i, s in enumerate(sections) if s.role == "assistant"), default=None)
    if last is not None and last != len(sections) - 1:
        after = sections[last + 1]
        raise TemplateError(f"render mode: the {after.role}: section after the last assistant: section would be "
                            "in no sample", path=template.where, line=after.line - 1,
                            hint="end the template with the assistant: section (the reply); everything before "
                                 "it is the prompt")
    return last


def preview_text(messages: list[dict[str, str]]) -> str:
    """Messages as one text for people (one message: its text; several: labelled by role)."""
    if len(messages) == 1:
        return messages[0]["content"]
    return "\n\n".join(f"{m['role']}:\n{m['content']}" for m in messages)


def render_problem(template: Template) -> str | None:
    """Why this template cannot be a version (a Jinja syntax error in a section, as `file:line: what — what
    to do`), or None when every section compiles. Saving (the TUI's ctrl+s) and the version comparison's
    defaults use it, so a version that cannot render is never made or picked."""
    try:
        Renderer(template)
    except TemplateError as exc:
        return str(exc)
    return None
