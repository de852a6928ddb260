"""The engine through litellm against the fake OpenAI-compatible server: streaming, concurrency,
retries, rate limits, timeouts, structured mode, cost, stop."""

from __future__ import annotations

import time

import pytest

from studio.engine import Engine, Request

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def reqs(fake, n, *, tag="q", schema=None, model=None, params=None):
    return [Request([{"role": "user", "content": f"{tag} {i}"}], model or fake.model, dict(params or {}), seed=i,
                    schema=schema, meta=i, api_base=fake.base_url) for i in range(n)]


async def collect(engine, requests):
    return [r async for r in engine.run(requests)]


@pytest.fixture(params=["fast", "litellm"])
def path(request):
    """Both transports: the lean OpenAI-compatible path and plain litellm.acompletion."""
    return request.param == "fast"


async def test_every_request_answered_once_with_its_own_output(fake_llm, path):
    engine = Engine(concurrency=8, fast=path)
    results = await collect(engine, reqs(fake_llm, 30))
    assert fake_llm.count == 30
    assert sorted(r.request.meta for r in results) == list(range(30))
    for r in results:
        assert r.ok and r.attempts == 1 and not r.cached
        assert r.output == f"Answer to: q {r.request.meta}"
        assert r.tokens_in > 0 and r.tokens_out == 4
    assert engine.stats.done == 30 and engine.stats.tokens_out == 120
    assert sorted(s.body["seed"] for s in fake_llm.requests) == list(range(30))  # each sample's seed is sent


async def test_results_stream_before_the_run_ends(fake_llm):
    fake_llm.set(latency=0.2)
    engine = Engine(concurrency=4)
    seen_at_first = None
    results = []
    async for r in engine.run(reqs(fake_llm, 16)):
        if seen_at_first is None:
            seen_at_first = fake_llm.count
        results.append(r)
    assert len(results) == 16
    assert seen_at_first <= 8  # the first result arrived while most prompts were not yet sent


async def test_concurrency_is_bounded(fake_llm):
    fake_llm.set(latency=0.1)
    await collect(Engine(concurrency=5), reqs(fake_llm, 30))
    assert fake_llm.max_in_flight == 5


async def test_transient_failures_are_retried_until_done(fake_llm, path):
    fake_llm.set(script=["500", "drop", "malformed"])
    results = await collect(Engine(concurrency=1, fast=path), reqs(fake_llm, 3))
    assert all(r.ok for r in results)
    assert fake_llm.count == 6
    assert sum(r.attempts for r in results) == 6


async def test_a_hang_times_out_and_is_retried(fake_llm, path):
    fake_llm.set(script=["hang"])
    t0 = time.monotonic()
    [r] = await collect(Engine(timeout=0.5, fast=path), reqs(fake_llm, 1))
    assert r.ok and r.attempts == 2
    assert time.monotonic() - t0 < 5


async def test_429_honours_retry_after_and_backs_off(fake_llm, path):
    fake_llm.set(script=["429"], retry_after=0.6)
    engine = Engine(concurrency=8, fast=path)
    [r] = await collect(engine, reqs(fake_llm, 1))
    assert r.ok and r.attempts == 2
    first, second = fake_llm.requests
    assert second.t - first.t >= 0.6
    assert fake_llm.retry_after_violations == 0
    assert engine.stats.rate_limited == 1
    assert engine.limiter(fake_llm.model).limit < 8  # one 429 and no stated limit: concurrency backs off
    assert not engine.pacer(fake_llm.model).known  # one 429 is a blip, not a pace to keep


async def test_bounded_tries_then_failed_with_the_reason(fake_llm, path):
    fake_llm.set(faults={"500": 1.0})
    results = await collect(Engine(max_tries=3, fast=path), reqs(fake_llm, 2))
    assert fake_llm.count == 6
    for r in results:
        assert not r.ok and r.attempts == 3
        assert "500" in r.error and "after 3 tries" in r.error


async def test_a_bad_request_is_not_retried(fake_llm, path):
    fake_llm.set(faults={"400": 1.0})
    [r] = await collect(Engine(fast=path), reqs(fake_llm, 1))
    assert not r.ok and r.attempts == 1 and fake_llm.count == 1
    assert "invalid parameter" in r.error


async def test_structured_asks_for_json_and_validates(fake_llm, path):
    [r] = await collect(Engine(fast=path), reqs(fake_llm, 1, schema=SCHEMA))
    assert r.ok and r.parsed == {"answer": "ok"}
    assert fake_llm.requests[0].body["response_format"] == {"type": "json_object"}


async def test_structured_retries_invalid_json_then_succeeds(fake_llm):
    fake_llm.set(script=["invalid_json"])
    [r] = await collect(Engine(), reqs(fake_llm, 1, schema=SCHEMA))
    assert r.ok and r.attempts == 2 and r.parsed == {"answer": "ok"}
    assert fake_llm.requests[1].body["seed"] != fake_llm.requests[0].body["seed"]  # asked differently


async def test_structured_fails_with_the_validation_error(fake_llm):
    fake_llm.set(reply=lambda messages: '{"verdict": 3}')
    [r] = await collect(Engine(max_invalid=2), reqs(fake_llm, 1, schema=SCHEMA))
    assert not r.ok and fake_llm.count == 3
    assert "does not match the schema" in r.error and "'answer' is a required property" in r.error
    fake_llm.set(reply=lambda messages: "Sure! {answer: no quotes}")
    [r] = await collect(Engine(max_invalid=0), reqs(fake_llm, 1, schema=SCHEMA, tag="other"))
    assert not r.ok and "not valid JSON" in r.error


async def test_cost_from_litellm_prices_and_unknown_when_unpriced(fake_llm):
    [priced] = await collect(Engine(), reqs(fake_llm, 1, model="openai/gpt-4o-mini"))
    [unpriced] = await collect(Engine(), reqs(fake_llm, 1))
    import litellm

    cin, cout = litellm.cost_per_token(model="gpt-4o-mini", prompt_tokens=priced.tokens_in,
                                       completion_tokens=priced.tokens_out)
    assert priced.cost == pytest.approx(cin + cout) and priced.cost > 0
    assert unpriced.cost is None  # never a made-up number


async def test_stop_cancels_in_flight_and_keeps_completed(fake_llm):
    fake_llm.set(latency=0.3)
    engine = Engine(concurrency=4)
    got = []
    t0 = time.monotonic()
    async for r in engine.run(reqs(fake_llm, 100)):
        got.append(r)
        if len(got) == 4:
            engine.stop()
    assert time.monotonic() - t0 < 3
    assert 4 <= len(got) < 20 and all(r.ok for r in got)
    assert fake_llm.count < 20
    assert engine.limiter(fake_llm.model).active == 0  # cancelled calls gave their slots back
    fake_llm.set(latency=0.05)
    again = await collect(engine, reqs(fake_llm, 12, tag="again"))
    assert len(again) == 12 and all(r.ok for r in again)  # the same engine runs again at full width


async def test_twenty_percent_faults_every_prompt_ends_done_or_failed(fake_llm):
    fake_llm.set(latency=0.01, retry_after=0.2, faults={"429": 0.04, "500": 0.04, "hang": 0.03, "drop": 0.03,
                                                       "malformed": 0.03, "invalid_json": 0.03})
    results = await collect(Engine(concurrency=32, timeout=0.5, max_tries=4), reqs(fake_llm, 300, schema=SCHEMA))
    metas = [r.request.meta for r in results]
    assert sorted(metas) == list(range(300))  # every prompt once: none lost, none duplicated
    assert all(r.ok or r.error for r in results)
    assert sum(r.ok for r in results) >= 290
    assert fake_llm.retry_after_violations == 0
    assert set(fake_llm.by_fault) >= {"429", "500", "hang", "drop", "malformed", "invalid_json"}


async def test_an_unknown_model_is_a_clear_error(fake_llm):
    from studio.engine import EngineError

    with pytest.raises(EngineError, match="does not know the model"):
        await collect(Engine(), [Request([{"role": "user", "content": "x"}], "no-such-thing")])


async def test_streaming_from_the_fake_server_through_litellm(fake_llm):
    from studio.engine.llm import litellm

    stream = await litellm().acompletion(model=fake_llm.model, api_base=fake_llm.base_url, api_key="sk-none",
                                         messages=[{"role": "user", "content": "say hi"}], stream=True)
    text = "".join([(c.choices[0].delta.content or "") async for c in stream])
    assert text == "Answer to: say hi"


async def test_requests_are_drawn_lazily_so_memory_stays_flat(fake_llm):
    fake_llm.set(latency=0.05)
    drawn = 0

    def endless():
        nonlocal drawn
        while True:
            drawn += 1
            yield Request([{"role": "user", "content": f"lazy {drawn}"}], fake_llm.model, seed=drawn,
                          api_base=fake_llm.base_url)

    engine = Engine(concurrency=4)
    got = 0
    async for _ in engine.run(endless()):
        got += 1
        if got == 50:
            engine.stop()
    assert drawn <= got + 64 + 1  # only a bounded window ahead of what was consumed


async def test_a_key_echoed_by_the_provider_never_reaches_the_result(fake_llm, monkeypatch, path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-SECRET123456")
    fake_llm.set(faults={"401": 1.0})
    [r] = await collect(Engine(fast=path), reqs(fake_llm, 1))
    assert not r.ok and "Incorrect API key" in r.error
    assert "SECRET123456" not in r.error


async def test_an_exhausted_rate_limit_window_pauses_new_requests(fake_llm):
    fake_llm.set(ratelimit_headers={"x-ratelimit-limit-requests": "1", "x-ratelimit-remaining-requests": "0",
                                    "x-ratelimit-reset-requests": "400ms"})  # too little used to read a pace
    results = await collect(Engine(concurrency=1), reqs(fake_llm, 3))
    assert all(r.ok for r in results)
    gaps = [b.t - a.t for a, b in zip(fake_llm.requests, fake_llm.requests[1:])]
    assert min(gaps) >= 0.4  # each request waited for the window the previous reply said was empty


async def test_a_self_hosted_server_from_the_environment_needs_no_key(fake_llm, monkeypatch, path):
    monkeypatch.setenv("OPENAI_API_BASE", fake_llm.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    [r] = [x async for x in Engine(fast=path).run([Request([{"role": "user", "content": "hi"}], fake_llm.model)])]
    assert r.ok and r.output == "Answer to: hi"


@pytest.mark.parametrize("provider", ["hosted_vllm", "lm_studio", "litellm_proxy"])
async def test_other_openai_compatible_providers_take_the_lean_path(fake_llm, provider):
    engine = Engine()
    model = f"{provider}/fake"
    [r] = await collect(engine, reqs(fake_llm, 1, model=model, params={"max_tokens": 5}))
    assert r.ok and r.output == "Answer to: q 0"
    assert engine.route(model, fake_llm.base_url).fast
    assert fake_llm.requests[0].body["model"] == "fake" and fake_llm.requests[0].body["max_tokens"] == 5


async def test_a_provider_litellm_handles_itself_goes_through_acompletion(fake_llm):
    engine = Engine(max_tries=1)
    [r] = await collect(engine, reqs(fake_llm, 1, model="ollama_chat/fake"))
    assert not engine.route("ollama_chat/fake", fake_llm.base_url).fast
    assert not r.ok and "404" in r.error  # it spoke ollama's API (/api/chat), which the fake does not serve


async def test_the_engine_keeps_no_result_after_handing_it_over(fake_llm):
    import gc

    from studio.engine import Result

    engine = Engine(concurrency=16)
    async for r in engine.run(reqs(fake_llm, 400)):
        assert r.ok  # the consumer drops every result
    del r
    gc.collect()
    assert sum(isinstance(o, Result) for o in gc.get_objects()) == 0  # memory stays flat however long the run
    assert not engine._tasks
