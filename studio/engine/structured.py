"""Structured mode: ask for JSON where the provider supports it, then validate against the schema."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import orjson

from studio.engine.types import Invalid


def response_format(lib: Any, model: str, provider: str, schema: dict) -> dict | None:
    """json_schema where litellm knows the model supports it, json_object where it takes response_format."""
    if provider == "local":
        return {"type": "json_schema", "json_schema": {"name": "sample", "schema": schema}}
    try:
        if lib.supports_response_schema(model=model, custom_llm_provider=provider):
            return {"type": "json_schema", "json_schema": {"name": "sample", "schema": schema, "strict": False}}
    except Exception:  # noqa: BLE001 - unknown model: fall through to json_object
        pass
    try:
        supported = lib.get_supported_openai_params(model=model, custom_llm_provider=provider) or []
    except Exception:  # noqa: BLE001
        supported = []
    return {"type": "json_object"} if "response_format" in supported else None


@lru_cache(maxsize=64)
def _validator(schema_json: bytes) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(orjson.loads(schema_json))


_DECODER = json.JSONDecoder()


def extract(output: str | None) -> Any:
    """The JSON value the model meant: the text as it is; else inside one outer fence wrapping the whole
    reply (a fence inside a string value stays); else the one JSON object or array in prose."""
    text = (output or "").strip()
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        first = exc
    if text.startswith("```") and text.endswith("```") and "\n" in text:
        inner = text[text.index("\n") + 1:-3].strip()  # the opening line may name a language: ```json
        try:
            return orjson.loads(inner)
        except orjson.JSONDecodeError:
            text = inner
    found: list = []
    i = 0
    while len(found) < 8:
        i = min((j for j in (text.find("{", i), text.find("[", i)) if j >= 0), default=-1)
        if i < 0:
            break
        try:
            value, end = _DECODER.raw_decode(text, i)
        except ValueError:
            i += 1
            continue
        if isinstance(value, (dict, list)):
            found.append(value)
        i = end
    objects = [v for v in found if isinstance(v, dict)] or found  # "see [1]" in prose is not the answer
    if len(objects) == 1:
        return objects[0]
    if objects:
        raise Invalid("output holds more than one JSON value: which one is the answer is unclear")
    raise Invalid(f"output is not valid JSON: {first}")


def validate(output: str | None, schema: dict) -> Any:
    """The parsed value, or raise Invalid naming what is wrong and where."""
    value = extract(output)
    validator = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    error = next(iter(validator.iter_errors(value)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise Invalid(f"output does not match the schema at {where}: {error.message}")
    return value
