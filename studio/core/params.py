"""Generation params of a template: the known ones are type- and range-checked when the template loads.

A wrong-typed setting (`max_tokens: many`, `temperature: hot`) would otherwise pass lint, reach the
provider or crash deep in the engine; here it is a `file:line: what — what to do` error instead.
Params the studio does not know are passed through unchecked (providers add their own).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

# name -> (kind, low, high, example); kind: int | number | bool | text | stop | mapping | list | choice
_INT, _NUM, _BOOL, _TEXT, _STOP, _MAP, _LIST, _TOOL_CHOICE = (
    "int", "number", "bool", "text", "stop", "mapping", "list", "tool_choice")
KNOWN: dict[str, tuple[str, float | None, float | None, str]] = {
    "max_tokens": (_INT, 1, None, "300"),
    "max_completion_tokens": (_INT, 1, None, "300"),
    "max_output_tokens": (_INT, 1, None, "300"),
    "n": (_INT, 1, None, "1"),
    "seed": (_INT, None, None, "42"),
    "top_k": (_INT, 0, None, "40"),
    "top_logprobs": (_INT, 0, 20, "5"),
    "num_retries": (_INT, 0, None, "2"),
    "temperature": (_NUM, 0, None, "0.7"),
    "top_p": (_NUM, 0, 1, "0.9"),
    "min_p": (_NUM, 0, 1, "0.05"),
    "presence_penalty": (_NUM, -2, 2, "0.5"),
    "frequency_penalty": (_NUM, -2, 2, "0.5"),
    "repetition_penalty": (_NUM, 0, None, "1.1"),
    "timeout": (_NUM, 0, None, "60"),
    "logprobs": (_BOOL, None, None, "true"),
    "parallel_tool_calls": (_BOOL, None, None, "false"),
    "reasoning_effort": (_TEXT, None, None, "low"),
    "user": (_TEXT, None, None, "my-team"),
    "stop": (_STOP, None, None, "['\\n\\n', END]"),
    "response_format": (_MAP, None, None, "{type: json_object}"),
    "logit_bias": (_MAP, None, None, "{'50256': -100}"),
    "extra_body": (_MAP, None, None, "{top_k: 40}"),
    "metadata": (_MAP, None, None, "{team: research}"),
    "tools": (_LIST, None, None, "[{type: function, function: {name: lookup}}]"),
    "tool_choice": (_TOOL_CHOICE, None, None, "auto"),
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind_word(kind: str, low: float | None, high: float | None) -> str:
    word = {_INT: "a whole number", _NUM: "a number", _BOOL: "true or false", _TEXT: "text",
            _STOP: "text or a list of texts", _MAP: "a mapping", _LIST: "a list",
            _TOOL_CHOICE: "text (auto, none, required) or a mapping"}[kind]
    if low is not None and high is not None:
        return f"{word} from {low:g} to {high:g}"
    if low is not None:
        return f"{word} ≥ {low:g}"
    return word


def param_problem(name: str, value: Any) -> tuple[str, str] | None:
    """(what is wrong, what to do) for a known param with a wrong type or out-of-range value, else None.

    An empty value (`max_tokens:` with nothing) is left alone: it means "not set".
    """
    spec = KNOWN.get(name)
    if spec is None or value is None:
        return None
    kind, low, high, example = spec
    ok: bool
    if kind == _INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == _NUM:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif kind == _BOOL:
        ok = isinstance(value, bool)
    elif kind == _TEXT:
        ok = isinstance(value, str)
    elif kind == _STOP:
        ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    elif kind == _MAP:
        ok = isinstance(value, Mapping)
    elif kind == _LIST:
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, (str, Mapping))
    if ok and kind in (_INT, _NUM):
        ok = (low is None or value >= low) and (high is None or value <= high)
    if ok:
        return None
    return (f"params.{name} must be {_kind_word(kind, low, high)}, not {_show(value)}",
            f"write {name}: {example} (or remove it)")


def check_param_types(params: Mapping[str, Any], fail: Callable[..., Exception]) -> None:
    """Raise `fail(message, "params", name, hint=...)` for the first known param of the wrong type or range."""
    for name, value in params.items():
        problem = param_problem(str(name), value)
        if problem:
            raise fail(problem[0], "params", name, hint=problem[1])
