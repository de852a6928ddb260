"""A rate limit is a pace, not a failure: against the fake server's provider-style token buckets (requests
and tokens per second, x-ratelimit-* headers, 429 + Retry-After), through the real engine."""

from __future__ import annotations

import time

import pytest

from studio.engine import Engine, Request
from studio.engine.limiter import Pacer


def reqs(fake, n, tag="p"):
    return [Request([{"role": "user", "content": f"{tag} {i}"}], fake.model, {}, seed=i, meta=i,
                    api_base=fake.base_url) for i in range(n)]


async def run(engine, requests):
    t0 = time.monotonic()
    results = [r async for r in engine.run(requests)]
    return results, time.monotonic() - t0


@pytest.mark.parametrize("limit", [{"limit_rps": 10}, {"limit_tps": 100}, {"limit_rps": 10, "limit_headers": False}],
                         ids=["requests/s", "tokens/s", "requests/s, 429s only"])
async def test_a_limit_paces_the_run_and_fails_nothing(fake_llm, limit):
    fake_llm.set(latency=0.05, **limit)
    engine = Engine(concurrency=16, max_tries=2)  # a rate limit never uses up tries
    results, wall = await run(engine, reqs(fake_llm, 40))
    assert len(results) == 40 and all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert fake_llm.retry_after_violations == 0
    if limit.get("limit_headers", True):
        assert engine.pacer(fake_llm.model).known
        # the first burst (16 at once, before anything is known) may meet 429s; after that, none to speak of
        assert fake_llm.limited <= 16 - 9 + 3, fake_llm.limited
        # the pace was kept: not faster than the bucket allows
        ideal = (40 - 10) / 10 if "limit_rps" in limit else (fake_llm.billed - 100) / 100
        assert wall >= 0.8 * ideal
    else:
        assert fake_llm.limited < 40  # fewer 429s than prompts: no storm


async def test_the_pace_is_learned_from_the_headers(fake_llm):
    fake_llm.set(latency=0.02, limit_rps=20)
    engine = Engine(concurrency=32)
    await run(engine, reqs(fake_llm, 60))
    rate = engine.pacer(fake_llm.model).requests.rate
    assert 17 <= rate <= 20.5  # a little under the stated 20/s


def test_reading_the_limit_headers():
    p = Pacer()
    p.observe({"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499",
               "x-ratelimit-reset-requests": "120ms"}, 0.0)
    assert not p.known  # one request used: too little to read a rate from (remaining is rounded down)
    p.observe({"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "400",
               "x-ratelimit-reset-requests": "12s"}, 0.0)  # OpenAI: 500 a minute, 100 used, refilled in 12 s
    assert p.requests.rate == pytest.approx(500 / 60 * 0.97)
    p.observe({"x-ratelimit-limit-tokens": "150000", "x-ratelimit-remaining-tokens": "149000",
               "x-ratelimit-reset-tokens": "6m0s"}, 0.0)
    assert p.tokens.rate is None  # 1,000 of 150,000 used: below 5 %, not read
    p.observe({"x-ratelimit-limit-tokens": "150000", "x-ratelimit-remaining-tokens": "90000",
               "x-ratelimit-reset-tokens": "24s"}, 0.0)
    assert p.tokens.rate == pytest.approx(60000 / 24 * 0.97)


async def test_waiters_get_spaced_slots_not_one_moment(fake_llm):
    """No 429 storm: after a pause, requests leave one by one at the pace, not all at once."""
    fake_llm.set(latency=0.0, limit_rps=20)
    engine = Engine(concurrency=64)
    await run(engine, reqs(fake_llm, 80))
    start = fake_llm.requests[0].t
    times = sorted(s.t for s in fake_llm.requests if s.fault is None)[25:]  # after the first second's burst
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert sum(gaps) / len(gaps) >= 0.04  # ~1/20 s apart on average
    # all 64 went at once before anything was known (44 refused); after the first replies, next to none
    late = [s for s in fake_llm.requests if s.fault == "429" and s.t > start + 0.2]
    assert len(late) <= 3, len(late)
