"""litellm, imported lazily: only when a call is about to be made, with its local price list.

Importing litellm takes seconds and, by default, fetches a price list from the network; nothing
on the TUI's start-up path may wait for that, so every use goes through `litellm()`.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any

_lock = threading.Lock()
_module: Any = None


def litellm() -> Any:
    """The litellm module, imported on first call (about 1 s; thread-safe) and set up once (no telemetry,
    unknown params dropped, the embedded model registered)."""
    global _module
    if _module is not None:
        return _module
    with _lock:
        if _module is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_TELEMETRY", "False")
            import litellm as lib

            lib.suppress_debug_info = True
            lib.telemetry = False
            lib.drop_params = True
            from studio.engine import local

            local.register(lib)
            _module = lib
    return _module


@lru_cache(maxsize=4096)
def cost(model: str, provider: str, tokens_in: int, tokens_out: int) -> float | None:
    """USD from litellm's local price list; None when it has no price for the model (never a guess)."""
    lib = litellm()
    try:
        cin, cout = lib.cost_per_token(model=model, custom_llm_provider=provider,
                                       prompt_tokens=tokens_in, completion_tokens=tokens_out)
    except Exception:  # noqa: BLE001 - litellm raises several kinds for "not mapped"
        return None
    return float(cin) + float(cout)


@lru_cache(maxsize=1024)
def priced(model: str, provider: str) -> bool:
    """True when litellm's local price list has a price for `model` (via `provider`)."""
    return cost(model, provider, 1, 1) is not None


def estimate_tokens(model: str, provider: str, messages: list, output: str) -> tuple[int | None, int | None]:
    """A reply without usage from a priced model: litellm's tokenizer count, so its cost is not 'unknown'."""
    if not priced(model, provider):
        return None, None
    lib = litellm()
    try:
        tin = lib.token_counter(model=model, messages=messages)
        tout = lib.token_counter(model=model, text=output, count_response_tokens=True)
    except Exception:  # noqa: BLE001 - no tokenizer for it
        return None, None
    return int(tin), int(tout)
