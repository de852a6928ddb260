"""The persistent request cache: a second identical run makes no request."""

from __future__ import annotations

import time

from studio.engine import Engine, Request
from studio.engine.cache import RequestCache, clear_cache


def reqs(fake, n, seed_offset=0, content="q"):
    return [Request([{"role": "user", "content": f"{content} {i}"}], fake.model, {"temperature": 0.5},
                    seed=i + seed_offset, meta=i, api_base=fake.base_url) for i in range(n)]


async def run(engine, requests):
    return [r async for r in engine.run(requests)]


async def test_second_identical_run_makes_zero_requests(fake_llm, tmp_path):
    first = await run(Engine(tmp_path), reqs(fake_llm, 200))
    assert fake_llm.count == 200
    t0 = time.monotonic()
    second = await run(Engine(tmp_path), reqs(fake_llm, 200))  # a new engine: the cache is on disk
    assert time.monotonic() - t0 < 1.0
    assert fake_llm.count == 200
    assert all(r.cached for r in second)
    assert {r.request.meta: r.output for r in first} == {r.request.meta: r.output for r in second}
    assert all(r.tokens_in == f.tokens_in for r, f in zip(sorted(second, key=lambda r: r.request.meta),
                                                         sorted(first, key=lambda r: r.request.meta)))


async def test_a_changed_prompt_or_seed_is_requested_again(fake_llm, tmp_path):
    await run(Engine(tmp_path), reqs(fake_llm, 5))
    changed = reqs(fake_llm, 5)
    changed[0].messages = [{"role": "user", "content": "edited"}]
    changed[1].seed = 99
    results = await run(Engine(tmp_path), changed)
    assert fake_llm.count == 7
    assert sorted(r.request.meta for r in results if not r.cached) == [0, 1]


async def test_failures_are_not_cached(fake_llm, tmp_path):
    fake_llm.set(faults={"500": 1.0})
    await run(Engine(tmp_path, max_tries=1), reqs(fake_llm, 2))
    fake_llm.set(faults={})
    results = await run(Engine(tmp_path), reqs(fake_llm, 2))
    assert all(r.ok and not r.cached for r in results)


async def test_clear_forgets_everything(fake_llm, tmp_path):
    await run(Engine(tmp_path), reqs(fake_llm, 3))
    assert clear_cache(tmp_path) == 3
    assert len(RequestCache(tmp_path)) == 0
    await run(Engine(tmp_path), reqs(fake_llm, 3))
    assert fake_llm.count == 6


async def test_no_api_key_reaches_the_cache(fake_llm, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-1234")
    await run(Engine(tmp_path), reqs(fake_llm, 3))
    RequestCache(tmp_path).close()
    for f in tmp_path.glob("*"):
        assert b"SECRET-1234" not in f.read_bytes()
