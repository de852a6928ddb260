"""Every reply shape a provider sends, through the real engine (both transports) against the fake server:
each ends as a clean sample, a flagged one, or a failure that says why, and deterministic shapes are never
retried. The fake server names each shape (tests/support/fake_llm.py SHAPES / BODIES)."""

from __future__ import annotations

import pytest

from studio.engine import Engine, Request

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
ANSWER = "Answer to: q 0"


@pytest.fixture(params=["fast", "litellm"])
def path(request):
    return request.param == "fast"


def req(fake, *, params=None, schema=None, tag="q 0"):
    return Request([{"role": "user", "content": tag}], fake.model, dict(params or {"max_tokens": 64}), seed=1,
                   schema=schema, meta=0, api_base=fake.base_url)


async def one(engine, request):
    [r] = [r async for r in engine.run([request])]
    return r


# shape -> (ok, output, flag, finish_reason (kept on a failure too, where the provider gave one), reasoning
# contains, error contains)
SHAPES = {
    None: (True, ANSWER, None, "stop", None, None),
    "cut_off": (True, "Answer to:", "cut-off", "length", None, None),
    "content_filter": (True, "Answer to:", "filtered", "content_filter", None, None),
    "refusal": (True, "I can't help with that request.", "refusal", "stop", None, None),
    "parts": (True, ANSWER, None, "stop", None, None),
    "thinking_parts": (True, ANSWER, None, "stop", "consider the question", None),
    "reasoning": (True, ANSWER, None, "stop", "The user wants", None),
    "reasoning_field": (True, ANSWER, None, "stop", "OpenRouter-style", None),
    "thinking_field": (True, ANSWER, None, "stop", "Ollama-style", None),
    "think_tags": (True, ANSWER, None, "stop", "Inline thoughts.", None),
    "no_usage": (True, ANSWER, None, "stop", None, None),
    "finish_max_tokens": (True, "Answer to:", "cut-off", "max_tokens", None, None),  # an upstream's spelling
    "finish_safety": (False, None, None, "SAFETY", None, "content filter withheld"),
    "reasoning_only": (False, None, None, "length", None, "the model used all 64 max_tokens before answering"),
    "reasoning_empty_stop": (False, None, None, "stop", None, "reasoned but gave no answer"),
    "filtered_empty": (False, None, None, "content_filter", None, "content filter withheld"),
    "empty": (False, None, None, "stop", None, "returned no text"),
    "null": (False, None, None, "stop", None, "returned no text"),
    "tool_calls": (False, None, None, "tool_calls", None, "called a tool (get_weather)"),
    "empty_choices": (False, None, None, None, None, "no answer (an empty choices list"),
    "surrogate": (False, None, None, "stop", None, "not valid Unicode (\\ud83d"),
}
LITELLM_DIFFERS = {
    # litellm reads these itself before the normaliser sees them; what it hands on is still decided here
    "thinking_parts", "think_tags", "empty_choices", "surrogate", "thinking_field", "reasoning_field",
    "finish_max_tokens", "finish_safety",
}


@pytest.mark.parametrize("shape", list(SHAPES), ids=lambda s: s or "plain")
async def test_every_reply_shape_is_stored_as_meant(fake_llm, path, shape):
    fake_llm.set(script=[shape])
    engine = Engine(max_tries=6, fast=path)
    r = await one(engine, req(fake_llm))
    ok, output, flag, finish, reasoning, error = SHAPES[shape]
    if not path and shape in LITELLM_DIFFERS:
        # through litellm: same decision kind (never a clean sample with wrong text, never retried), maybe
        # less detail
        assert fake_llm.count == 1, "a deterministic shape was retried"
        if ok:
            assert r.ok and r.output == output and r.flag == flag
            if reasoning:
                assert r.reasoning is None or reasoning in r.reasoning
        else:
            assert not r.ok and r.error and r.output is None
        return
    assert fake_llm.count == 1, "a deterministic shape was retried"
    assert r.ok is ok, r.error
    assert r.output == output
    assert r.flag == flag
    assert r.finish_reason == finish
    if ok:
        assert r.paid == 1
        if reasoning:
            assert reasoning in r.reasoning and reasoning not in r.output
        else:
            assert r.reasoning is None
    else:
        assert error in r.error, r.error
        assert "Traceback" not in r.error and "site-packages" not in r.error


@pytest.mark.parametrize("shape", ["bad_utf8", "finish_error", "error_body", "malformed"])
async def test_transient_shapes_are_retried_and_then_answer(fake_llm, path, shape):
    """A body that is not readable, an error object in a 200, finish_reason error: worth one more try; bytes
    that are not UTF-8 are not (the text has holes)."""
    if shape == "bad_utf8":
        fake_llm.set(script=[shape])
        r = await one(Engine(fast=path), req(fake_llm))
        assert not r.ok and fake_llm.count == 1 and ("UTF-8" in r.error or "utf-8" in r.error.lower()), r.error
        return
    if shape == "finish_error" and not path:
        pytest.skip("litellm maps a finish_reason it does not know ('error') to 'stop': only the fast path sees it")
    fake_llm.set(script=[shape])
    r = await one(Engine(fast=path), req(fake_llm))
    assert r.ok and r.output == ANSWER and fake_llm.count == 2


async def test_billed_failures_and_reasks_are_summed(fake_llm):
    """A structured sample that took 3 paid calls shows the tokens of all three; a billed failure counts."""
    fake_llm.set(script=["invalid_json", "invalid_json"])
    engine = Engine(max_invalid=2)
    r = await one(engine, req(fake_llm, schema=SCHEMA))
    assert r.ok and r.paid == 3 and fake_llm.count == 3
    assert r.tokens_in + r.tokens_out == fake_llm.billed
    fake_llm.reset()
    fake_llm.set(script=["reasoning_only"])
    r = await one(engine, req(fake_llm, tag="other"))
    assert not r.ok and r.paid == 1 and r.tokens_out == 64
    assert r.tokens_in + r.tokens_out == fake_llm.billed
    assert engine.stats.tokens_in + engine.stats.tokens_out == fake_llm.billed


async def test_a_known_price_is_never_unknown_without_usage(fake_llm):
    fake_llm.set(script=["no_usage"])
    r = await one(Engine(), Request([{"role": "user", "content": "hi"}], "openai/gpt-4o-mini", {}, seed=1,
                                    api_base=fake_llm.base_url))
    assert r.ok and r.tokens_in and r.tokens_out and r.cost and r.cost > 0


async def test_flagged_and_failed_shapes_are_cached_as_they_were(fake_llm, tmp_path):
    fake_llm.set(script=["cut_off"])
    r1 = await one(Engine(tmp_path), req(fake_llm))
    r2 = await one(Engine(tmp_path), req(fake_llm))
    assert r2.cached and fake_llm.count == 1
    assert (r2.output, r2.flag, r2.finish_reason) == (r1.output, "cut-off", "length")


WRAPPINGS = {
    "bare": ('{"answer": "x"}', "x"),
    "fenced": ('```json\n{"answer": "x"}\n```', "x"),
    "fenced no language": ('```\n{"answer": "x"}\n```', "x"),
    "nested fence in a value": ('```json\n{"answer": "use print:\\n```python\\nprint(1)\\n```"}\n```',
                                "use print:\n```python\nprint(1)\n```"),
    "unfenced with a fence in a value": ('{"answer": "```python\\nprint(1)\\n```"}', "```python\nprint(1)\n```"),
    "prose before": ('Sure! Here it is: {"answer": "x"}', "x"),
    "prose after": ('{"answer": "x"}\nLet me know if you need more.', "x"),
    "prose both sides": ('Here:\n{"answer": "x"}\nDone.', "x"),
    "prose with brackets": ('Step [1] done. {"answer": "x"}', "x"),
    "fence in prose": ('Here you go:\n```json\n{"answer": "x"}\n```\nEnjoy.', "x"),
    "whitespace": ('\n\n  {"answer": "x"}  \n', "x"),
}


@pytest.mark.parametrize("name", list(WRAPPINGS))
async def test_structured_finds_the_json_the_model_meant(fake_llm, name):
    text, answer = WRAPPINGS[name]
    fake_llm.set(reply=lambda messages: text)
    r = await one(Engine(max_invalid=0), req(fake_llm, schema=SCHEMA))
    assert r.ok, r.error
    assert r.parsed == {"answer": answer} and fake_llm.count == 1


@pytest.mark.parametrize("text", ['{"answer": "x"} and also {"answer": "y"}', "no json at all", '{"answer": '])
async def test_structured_rejects_what_is_not_one_json_value(fake_llm, text):
    fake_llm.set(reply=lambda messages: text)
    r = await one(Engine(max_invalid=0), req(fake_llm, schema=SCHEMA))
    assert not r.ok and ("JSON" in r.error)


async def test_structured_json_cut_off_is_not_asked_again_the_same_way(fake_llm):
    fake_llm.set(script=["cut_off_json"])
    r = await one(Engine(max_invalid=2), req(fake_llm, schema=SCHEMA))
    assert not r.ok and fake_llm.count == 1 and r.paid == 1
    assert r.error == "the reply was cut off at 64 max_tokens before its JSON ended: raise max_tokens"
    assert r.finish_reason == "length" and r.tokens_out == 64


@pytest.mark.parametrize("shape", ["fenced_json", "nested_fence", "prose_json"])
async def test_structured_shapes_from_the_server(fake_llm, shape):
    fake_llm.set(script=[shape])
    r = await one(Engine(max_invalid=0), req(fake_llm, schema=SCHEMA))
    assert r.ok and fake_llm.count == 1 and isinstance(r.parsed["answer"], str)


def test_errors_shown_carry_no_traceback_or_library_path():
    from studio.engine.engine import redact

    text = ('boom: Traceback (most recent call last):\n  File "/usr/lib/python3.11/site-packages/litellm/x.py", '
            'line 3, in f\nValueError: x')
    assert redact(text, None) == "boom"
    assert "<library>" in redact("failed in /root/.venv/lib/python3.11/site-packages/litellm/main.py", None)


def test_every_model_litellm_prices_gets_a_cost():
    """A model litellm knows the price of never shows 'unknown cost' (3,000+ chat models in its list)."""
    from studio.engine import llm

    lib = llm.litellm()
    missing = []
    for key, entry in lib.model_cost.items():
        if entry.get("mode") != "chat" or not entry.get("input_cost_per_token") or "litellm_provider" not in entry:
            continue
        provider = entry["litellm_provider"]
        name = key.split("/", 1)[1] if key.startswith(provider + "/") else key
        if llm.cost(name, provider, 1000, 1000, key) is None:
            missing.append(key)
    assert not missing, missing[:20]
