"""The engine's small parts: AIMD limiter, rate-limit headers, schema validation, lazy litellm."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from studio.engine.limiter import Limiter
from studio.engine.retry import backoff, exhausted_for, parse_duration, retry_after
from studio.engine.structured import validate
from studio.engine.types import Invalid


async def test_limiter_caps_halves_on_429_and_recovers():
    lim = Limiter(8)
    for _ in range(8):
        await lim.acquire()
    waiter = asyncio.ensure_future(lim.acquire())
    await asyncio.sleep(0.01)
    assert not waiter.done()  # the ninth waits
    lim.release()
    await asyncio.sleep(0)
    assert waiter.done()
    lim.on_rate_limit(None)
    assert lim.limit == 4
    lim.on_rate_limit(None)
    assert lim.limit == 4  # the same burst counts once
    for _ in range(40):
        lim.on_success()
    assert lim.limit == 8  # additive increase back to the cap, never past it


async def test_limiter_pauses_new_starts_for_retry_after():
    lim = Limiter(4)
    lim.on_rate_limit(0.3)
    t0 = time.monotonic()
    await lim.acquire()
    assert time.monotonic() - t0 >= 0.28


def test_rate_limit_headers():
    assert retry_after({"retry-after": "2"}) == 2
    assert retry_after({"retry-after-ms": "1500"}) == 1.5
    assert retry_after({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"}) == 360
    assert exhausted_for({"x-ratelimit-remaining-requests": "10", "x-ratelimit-reset-requests": "1s"}) is None
    assert exhausted_for({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "20ms"}) == 0.02
    assert parse_duration("1h2m3s") == 3723
    assert retry_after({}) is None
    assert all(0.5 <= backoff(2) <= 1.0 for _ in range(50))


def test_validation_names_what_is_wrong():
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    assert validate('```json\n{"a": 1}\n```', schema) == {"a": 1}
    with pytest.raises(Invalid, match="at a: 'x' is not of type 'integer'"):
        validate('{"a": "x"}', schema)
    with pytest.raises(Invalid, match="not valid JSON"):
        validate("{a: 1}", schema)


def test_importing_the_engine_and_runs_does_not_import_litellm():
    code = ("import sys, studio.engine, studio.runs.run, studio.cli.commands.run, studio.cli.commands.cache; "
            "bad = [m for m in ('litellm', 'textual', 'llama_cpp', 'aiohttp') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
