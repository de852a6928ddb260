"""The one Jinja2 environment every template renders in: sandboxed, strict about unknown names."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "environment",
    "compile_source",
    "undeclared_names",
    "SecurityError",
    "TemplateSyntaxError",
    "UndefinedError",
]

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


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    # No loader: templates cannot {% include %} or {% import %} files from disk.
    env = _StudioSandbox(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.pop("lipsum", None)
    return env


def compile_source(source: str):
    """Compile template source; raises TemplateSyntaxError with a line number relative to `source`."""
    return environment().from_string(source)


def undeclared_names(source: str) -> set[str]:
    """Names the source reads from its context (slots and inputs)."""
    ast = environment().parse(source)
    return set(meta.find_undeclared_variables(ast)) - BUILTIN_NAMES
