"""Keys in a template's `params`: referenced from the environment and used, or refused — never kept.

A template is a file people commit, share and store in sessions, so a key written into it leaks. Like
litellm's proxy config, a secret-named parameter (`api_key`, `token`, ... see `record.is_secret_name`)
must name an environment variable — `api_key: ${OPENAI_API_KEY}` or `api_key: os.environ/OPENAI_API_KEY`
— and is read from it only when a request is made. Header mappings (`extra_headers`) may hold plain
headers; a header with a secret name (Authorization, X-Api-Key, ...) must reference a variable inside
its value (`Authorization: Bearer ${TOKEN}`). Anything else is a `file:line` error that never repeats
the value. `redact_template_text` is the last guard before a template's text is stored anywhere.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Mapping

from studio.core.errors import StudioError
from studio.core.record import is_secret_name, redact_keys

REDACTED = "[redacted]"
HEADER_KEYS = frozenset({"extra_headers", "headers", "default_headers"})
_VAR = r"[A-Za-z_][A-Za-z0-9_]*"
ENV_REF = re.compile(rf"^\s*(?:\$\{{({_VAR})\}}|os\.environ/({_VAR}))\s*$")
ENV_IN_TEXT = re.compile(rf"\$\{{({_VAR})\}}|os\.environ/({_VAR})")
EXAMPLE = "${OPENAI_API_KEY}"


def env_ref(value: Any) -> str | None:
    """The variable a whole value names (`${NAME}` or `os.environ/NAME`), else None."""
    m = ENV_REF.match(value) if isinstance(value, str) else None
    return (m.group(1) or m.group(2)) if m else None


def _is_header_key(name: Any) -> bool:
    return isinstance(name, str) and name.lower() in HEADER_KEYS


def check_params(params: Mapping[str, Any], fail: Callable[..., Exception], path: tuple = ("params",)) -> None:
    """Raise `fail(message, *key_path, hint=...)` for the first literal secret in `params` (recursively)."""
    for key, value in params.items():
        name = ".".join(map(str, (*path, key)))
        if _is_header_key(key):
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise fail(f"{name} must be a mapping of header name to value", *path, key,
                           hint="write extra_headers: {X-Team: research, Authorization: 'Bearer ${TOKEN}'}")
            for header, text in value.items():
                if isinstance(text, (Mapping, list)) or text is None:
                    raise fail(f"{name}.{header} must be text", *path, key, header,
                               hint="write the header's value as one line of text")
                if is_secret_name(str(header)) and not ENV_IN_TEXT.search(str(text)):
                    raise fail(f"{name}.{header} holds a literal secret (not shown here)", *path, key, header,
                               hint=f"name an environment variable in it, e.g. {header}: 'Bearer ${{TOKEN}}'; a "
                                    "key written in a template ends up in git, sessions and exports")
        elif isinstance(key, str) and is_secret_name(key):
            if value is None or value == "":
                continue
            if env_ref(value) is None:
                raise fail(f"{name} holds a literal secret (not shown here)", *path, key,
                           hint=f"write {key}: {EXAMPLE} (or os.environ/NAME) and set that variable; a key "
                                "written in a template ends up in git, sessions and exports")
        elif isinstance(value, Mapping):
            check_params(value, fail, (*path, key))


def resolve_params(params: Mapping[str, Any], *, where: str = "", line_of: Callable[..., int] | None = None,
                   environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The secret parameters of a template, read from the environment now: {"api_key": ..., "extra_headers":
    {...}, other secret names: ...}. Only for sending; never stored, cached or shown."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}

    def lookup(var: str, *keys: str) -> str:
        value = environ.get(var)
        if not value:
            raise StudioError(f"params.{'.'.join(keys)} names the environment variable {var}, which is not set",
                              path=where or None, line=line_of("params", *keys) if line_of else 0,
                              hint=f"export {var}=... before running (or remove the setting)")
        return value

    for key, value in params.items():
        if _is_header_key(key) and isinstance(value, Mapping):
            headers = out.setdefault("extra_headers", {})
            for header, text in value.items():
                def var(m: re.Match, keys: tuple[str, str] = (str(key), str(header))) -> str:
                    return lookup(m.group(1) or m.group(2), *keys)

                headers[str(header)] = ENV_IN_TEXT.sub(var, str(text))
        elif isinstance(key, str) and is_secret_name(key):
            name = env_ref(value)
            if name:
                out[key] = lookup(name, key)
    return out


def template_secrets(template: Any) -> dict[str, Any] | None:
    """A loaded template's secret settings read from the environment now, or None when it has none."""
    return resolve_params(template.params, where=template.where, line_of=template.line_of) or None


def redact_template_text(text: str) -> str:
    """A template's text with any literal secret in its front matter replaced by `[redacted]` (env
    references kept) and any key-shaped text anywhere (comments, front matter, body; `record.KEY_SHAPE`,
    the export's pattern) redacted too: what a session may store."""
    return redact_keys(_redact_front_matter(text))


def _redact_front_matter(text: str) -> str:
    """Secret-named front matter values replaced by `[redacted]`; text that is not a template unchanged."""
    import yaml

    body = text.removeprefix("\ufeff")
    lines = body.split("\n")
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "---"), None)
    if start is None:
        return text
    end = next((j for j in range(start + 1, len(lines)) if lines[j].strip() == "---"), None)
    if end is None:
        return text
    front = "\n".join(lines[start + 1:end])
    spans: set[tuple[int, int]] = set()
    seen: set[tuple[int, bool]] = set()
    try:
        node = yaml.SafeLoader(front).get_single_node()
    except yaml.YAMLError:
        node = None
    if node is None and front.strip():  # unreadable YAML: redact secret-named lines by their text
        front = _redact_lines(front)
        return text[: len(text) - len(body)] + "\n".join([*lines[: start + 1], front, *lines[end:]])

    def visit(n: Any, secret_context: bool = False, depth: int = 0) -> None:
        if depth > 50 or not isinstance(n, yaml.MappingNode) or (id(n), secret_context) in seen:
            return
        seen.add((id(n), secret_context))
        for k, v in n.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else ""
            if isinstance(v, yaml.ScalarNode):
                if secret_context and is_secret_name(str(name)) and not ENV_IN_TEXT.search(v.value):
                    spans.add((v.start_mark.index, v.end_mark.index))
                elif not secret_context and is_secret_name(str(name)) and env_ref(v.value) is None and v.value:
                    if not _is_header_key(name):
                        spans.add((v.start_mark.index, v.end_mark.index))
            elif isinstance(v, yaml.MappingNode):
                visit(v, _is_header_key(name), depth + 1)

    visit(node)
    if not spans:
        return text
    for a, b in sorted(spans, reverse=True):
        front = front[:a] + f'"{REDACTED}"' + front[b:]
    prefix = text[: len(text) - len(body)]
    return prefix + "\n".join([*lines[: start + 1], front, *lines[end:]])


_SECRET_PAIR = re.compile(r"([\w-]+)([\"']?[ \t]*:[ \t]*)([^,{}\n]+)")


def _redact_lines(front: str) -> str:
    """Secret-named `key: value` pairs (block or flow style) of front matter YAML cannot read."""
    def sub(m: re.Match) -> str:
        name, value = m.group(1), m.group(3)
        if is_secret_name(name) and not _is_header_key(name) and not ENV_IN_TEXT.search(value) and value.strip():
            return f'{name}{m.group(2)}"{REDACTED}"'
        return m.group(0)

    return _SECRET_PAIR.sub(sub, front)
