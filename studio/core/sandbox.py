"""The one Jinja2 environment every template renders in: sandboxed, strict about unknown names."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "environment",
    "compile_source",
    "undeclared_names",
    "SecurityError",
    "TemplateSyntaxError",
    "UndefinedError",
    "RefusedTag",
    "refused_tags",
    "template_line",
]

# Tags that read other template files: there are none to read, so the sandbox refuses them by name.
_FILE_TAGS = {nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from"}


class RefusedTag(TemplateSyntaxError):
    """`{% extends %}`, `{% include %}` or `{% import %}`: a template is one file; nothing else is read."""

# Names Jinja provides itself, never slots.
BUILTIN_NAMES = frozenset({"range", "loop", "dict", "lipsum", "cycler", "joiner", "namespace", "true", "false", "none"})


class _StudioSandbox(ImmutableSandboxedEnvironment):
    """Refuses dunder and private attributes, and any attribute of modules, functions and types."""

    def is_safe_attribute(self, obj, attr, value):  # noqa: ANN001
        if attr.startswith("_"):
            return False
        if isinstance(obj, type) or callable(value) and getattr(value, "__module__", "") in ("os", "sys", "subprocess", "builtins"):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj, attribute):  # noqa: ANN001
        """A row's fields first: `{{ row.values }}` is the row's `values` field, not dict.values."""
        if isinstance(obj, Mapping):
            try:
                if attribute in obj:
                    return obj[attribute]
            except TypeError:
                pass
        return super().getattr(obj, attribute)


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """A sandboxed Jinja2 environment for templates: immutable, strict undefined names, no autoescape.
    No loader: templates cannot {% include %} or {% import %} files from disk."""
    env = _StudioSandbox(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.pop("lipsum", None)
    return env


def refused_tags(ast: nodes.Template) -> list[tuple[str, int]]:
    """(tag, line) of every tag that would read another template file."""
    return [(_FILE_TAGS[type(n)], n.lineno) for n in ast.find_all(tuple(_FILE_TAGS))]


def compile_source(source: str):
    """Compile template source; raises TemplateSyntaxError (RefusedTag for file tags) with a line number
    relative to `source`."""
    env = environment()
    ast = env.parse(source)
    for tag, line in refused_tags(ast):
        raise RefusedTag(f"{{% {tag} %}} is refused by the sandbox: a template cannot read other files", line)
    compiled = env.from_string(ast)
    # Jinja keeps a template's globals as a ChainMap over the environment's, copied into every render's context
    # (iterating a ChainMap is slow: a third of a short render); the environment's globals never change, so
    # one flat dict gives the same names at a fraction of the cost
    compiled.globals = dict(compiled.globals)
    return compiled


def template_line(exc: BaseException) -> int | None:
    """The line (relative to the rendered source) where a runtime error happened, from Jinja's traceback."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def undeclared_names(source: str) -> set[str]:
    """Names the source reads from its context (slots and inputs)."""
    ast = environment().parse(source)
    return set(meta.find_undeclared_variables(ast)) - BUILTIN_NAMES
