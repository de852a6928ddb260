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
def cost(model: str, provider: str, tokens_in: int, tokens_out: int, full: str | None = None) -> float | None:
    """USD from litellm's local price list; None when it has no price for the model (never a guess).

    Looked up by litellm as (model, provider), then by the name the user gave (`full`), then straight in
    its price list: 10 of the 3,278 priced chat models (azure/mistral-large-latest, jamba-1.5, ...) are
    listed but missed by litellm's own lookup."""
    lib = litellm()
    for kwargs in ({"model": model, "custom_llm_provider": provider}, {"model": full} if full else None):
        if kwargs is None:
            continue
        try:
            cin, cout = lib.cost_per_token(prompt_tokens=tokens_in, completion_tokens=tokens_out, **kwargs)
        except Exception:  # noqa: BLE001 - litellm raises several kinds for "not mapped"
            continue
        return float(cin) + float(cout)
    for key in (full, model, f"{provider}/{model}"):  # listed, but litellm's lookup misses it
        entry = lib.model_cost.get(key) if key else None
        if entry and entry.get("input_cost_per_token") is not None and entry.get("output_cost_per_token") is not None:
            return tokens_in * float(entry["input_cost_per_token"]) + tokens_out * float(entry["output_cost_per_token"])
    return None


#: token counts at which a per-token price is checked against litellm's (tiers start at 128k or 200k tokens)
_PRICE_PROBES = ((1000, 0), (0, 1000), (123457, 65537), (300001, 0), (0, 300001), (2_000_003, 1_000_003))


def price(model: str, provider: str, full: str | None = None) -> list[float] | str | None:
    """litellm's price as [USD per input token, per output token] when its cost is exactly that at every
    probe (what a remembered route computes without litellm); None when it has no price; "litellm" when
    the price is not per token (tiers): then every cost is asked of litellm."""
    unit_in, unit_out = cost(model, provider, 1, 0, full), cost(model, provider, 0, 1, full)
    if unit_in is None or unit_out is None:
        return None if cost(model, provider, 1, 1, full) is None else "litellm"
    for tin, tout in _PRICE_PROBES:
        if cost(model, provider, tin, tout, full) != float(tin * unit_in) + float(tout * unit_out):
            return "litellm"
    return [unit_in, unit_out]


@lru_cache(maxsize=1024)
def priced(model: str, provider: str, full: str | None = None) -> bool:
    """Whether litellm's price list has the model (then a reply without usage is counted, not unknown)."""
    return cost(model, provider, 1, 1, full) is not None


def estimate_tokens(model: str, provider: str, messages: list, output: str,
                    full: str | None = None) -> tuple[int | None, int | None]:
    """A reply without usage from a priced model: counted with the tokenizer litellm bundles (cl100k,
    offline; litellm's per-model counters may fetch a tokenizer from the network), so its cost is not
    'unknown'. An estimate for models with other tokenizers, never 0."""
    if not priced(model, provider, full):
        return None, None
    lib = litellm()
    try:
        enc = lib.encoding  # tiktoken cl100k_base from litellm's own files
        tin = sum(len(enc.encode(str(m.get("content") or ""), disallowed_special=())) + 4 for m in messages) + 3
        tout = len(enc.encode(output, disallowed_special=()))
    except Exception:  # noqa: BLE001 - no bundled tokenizer: four characters a token
        tin = sum(len(str(m.get("content") or "")) for m in messages) // 4 + 4 * len(messages) + 3
        tout = max(1, len(output) // 4)
    return int(tin), int(tout)
