"""Run a batch of engine requests from synchronous code (the CLI, or a TUI worker thread)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable, Iterable


def run_requests(requests: Iterable, *, cache_dir: str | Path | None = None, api_base: str | None = None,
                 concurrency: int = 16, on_result: Callable | None = None, **engine_options) -> list:
    """Every request's Result (in completion order; use `Result.request.meta` to map back).

    `engine_options` go to `Engine` (e.g. max_tries=, timeout=).
    """
    from studio.engine import Engine  # the engine imports litellm lazily; keep start-up paths light

    async def go() -> list:
        engine = Engine(cache_dir=cache_dir, concurrency=concurrency, api_base=api_base, **engine_options)
        out = []
        try:
            async for result in engine.run(list(requests)):
                out.append(result)
                if on_result is not None:
                    on_result(result)
        finally:
            await engine.aclose()
        return out

    return asyncio.run(go())
