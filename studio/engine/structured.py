"""Structured mode: ask for JSON where the provider supports it, then validate against the schema."""

from __future__ import annotations

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


def validate(output: str | None, schema: dict) -> Any:
    """The parsed value, or raise Invalid naming what is wrong and where."""
    text = (output or "").strip()
    if text.startswith("```"):  # models like to fence JSON; the fence is not the answer
        text = text.strip("`")
        text = text[text.find("\n") + 1:] if "\n" in text else text
        text = text.rsplit("```", 1)[0] if "```" in text else text
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"output is not valid JSON: {exc}") from None
    validator = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    error = next(iter(validator.iter_errors(value)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise Invalid(f"output does not match the schema at {where}: {error.message}")
    return value
