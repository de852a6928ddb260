"""A remembered route (issue 15 §1): what litellm derived for an OpenAI-compatible route is kept in
sessions/.cache/routes.json per litellm version, so later runs send their first request without importing
litellm. The requests must be the ones litellm's own derivation makes, byte for byte: each case below sends the
same requests through the real engine twice against the fake server, once on the route litellm derives and once
on the remembered one, and compares URL, headers and body bytes. (`tests/cli/test_no_litellm.py` runs the same
as `studio run` processes and checks that the second imports no litellm.)"""

from __future__ import annotations

import json

import pytest

from studio.engine import Engine, Request
from studio.engine.transport import KEY_MARK, RouteMemo

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}

PARAMS = [
    ({}, None),
    ({"temperature": 0.7, "max_tokens": 200}, None),
    ({"temperature": 0.0, "max_tokens": 64, "top_p": 0.9, "stop": ["END"], "presence_penalty": 0.5}, None),
    ({"max_tokens": 50, "frequency_penalty": 0.1, "n": 1, "logprobs": True}, SCHEMA),        # response_format
    ({"temperature": 1.2, "max_completion_tokens": 30, "user": "alice", "metadata": {"k": "v"}}, None),
]

MESSAGES = [
    [{"role": "user", "content": "hi"}],
    [{"role": "system", "content": "You write \"training\" data."}, {"role": "user", "content": "ü 中文 🙂\n{x}"}],
    [{"role": "system", "content": "s"}, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
     {"role": "user", "content": "c"}],
    [{"role": "user", "content": [{"type": "text", "text": "parts"}]}],        # not plain text: litellm builds it
]

MODELS = ["openai/fake", "hosted_vllm/fake", "openai/gpt-4o-mini", "openai/o3-mini", "groq/llama-3.1-8b-instant",
          "lm_studio/fake"]


def requests(fake, model):
    out = []
    for i, (params, schema) in enumerate(PARAMS):
        for j, messages in enumerate(MESSAGES):
            out.append(Request([dict(m) for m in messages], model, dict(params), seed=100 * i + j, schema=schema,
                               meta=(i, j), api_base=fake.base_url))
    return out


def seen(fake):
    """What the server got, in a stable order: (path, headers, Authorization, body bytes)."""
    return sorted((s.path, tuple(sorted(s.headers.items())), s.auth, s.raw) for s in fake.requests)


async def send(engine, reqs):
    return [r async for r in engine.run(reqs)]


@pytest.mark.parametrize("model", MODELS)
async def test_a_remembered_route_sends_byte_for_byte_what_litellm_derived(fake_llm, tmp_path, model):
    derived = Engine(tmp_path, cache=False, concurrency=4)
    route = derived.route(model, fake_llm.base_url)
    assert route.fast and route.config is not None          # litellm derived it
    first = await send(derived, requests(fake_llm, model))
    assert all(r.ok for r in first), [r.error for r in first if not r.ok]
    by_litellm = seen(fake_llm)
    fake_llm.requests.clear()

    remembered = Engine(tmp_path, cache=False, concurrency=4)
    again = remembered.route(model, fake_llm.base_url)
    assert again.config is None and again.fast              # rebuilt from routes.json, not by litellm
    assert (again.url, again.headers, again.model_name, again.provider) == \
        (route.url, route.headers, route.model_name, route.provider)
    second = await send(remembered, requests(fake_llm, model))
    assert seen(fake_llm) == by_litellm
    assert [(r.request.meta, r.tokens_in, r.tokens_out, r.cost) for r in sorted(second, key=lambda r: r.request.meta)] \
        == [(r.request.meta, r.tokens_in, r.tokens_out, r.cost) for r in sorted(first, key=lambda r: r.request.meta)]


async def test_the_price_is_litellms_and_unknown_stays_unknown(fake_llm, tmp_path):
    from studio.engine import llm

    for model, priced in (("openai/gpt-4o-mini", True), ("openai/fake", False)):
        Engine(tmp_path, cache=False).route(model, fake_llm.base_url)
        route = Engine(tmp_path, cache=False).route(model, fake_llm.base_url)
        assert route.config is None
        name = model.split("/", 1)[1]
        for tin, tout in ((0, 0), (1, 1), (17, 4), (1234, 567), (250_000, 90_000)):
            assert route.cost(tin, tout) == llm.cost(name, "openai", tin, tout, model)
        assert (route.cost(10, 10) is not None) == priced


@pytest.mark.parametrize("change, rederived", [
    ("litellm version", True),
    ("a key variable set since", True),
    ("a base URL variable set since", True),
    ("the key's value rotated", False),
    ("an unrelated variable", False),
])
async def test_what_re_derives_a_remembered_route(fake_llm, tmp_path, monkeypatch, change, rederived):
    monkeypatch.delenv("HOSTED_VLLM_API_KEY", raising=False)
    monkeypatch.delenv("HOSTED_VLLM_API_BASE", raising=False)
    model = "hosted_vllm/fake"
    if change == "the key's value rotated":
        monkeypatch.setenv("HOSTED_VLLM_API_KEY", "first-value-of-the-key")
    Engine(tmp_path, cache=False).route(model, fake_llm.base_url)
    memo = tmp_path / "routes.json"
    if change == "litellm version":
        data = json.loads(memo.read_text())
        data["litellm"] = "0.0.0-other"
        memo.write_text(json.dumps(data))
    elif change == "a key variable set since":
        monkeypatch.setenv("HOSTED_VLLM_API_KEY", "a-key-set-later-123")
    elif change == "a base URL variable set since":
        monkeypatch.setenv("HOSTED_VLLM_API_BASE", "http://127.0.0.1:9/v1")
    elif change == "the key's value rotated":
        monkeypatch.setenv("HOSTED_VLLM_API_KEY", "second-value-of-the-key")
    else:
        monkeypatch.setenv("STUDIO_UNRELATED_SETTING", "1")
    route = Engine(tmp_path, cache=False).route(model, fake_llm.base_url)
    assert (route.config is not None) == rederived
    [r] = await send(Engine(tmp_path, cache=False), [Request([{"role": "user", "content": "hi"}], model,
                                                             api_base=fake_llm.base_url)])
    assert r.ok
    import os

    assert fake_llm.requests[-1].auth == f"Bearer {os.environ.get('HOSTED_VLLM_API_KEY') or 'fake-api-key'}"
    assert json.loads(memo.read_text())["litellm"] != "0.0.0-other"   # re-derived routes are saved again


KEY = "sk-proj-" + "Zq8" * 12


@pytest.mark.parametrize("where", ["OPENAI_API_KEY", "template", "GROQ_API_KEY", "HOSTED_VLLM_API_KEY"])
async def test_no_key_ever_lands_in_routes_json(fake_llm, tmp_path, monkeypatch, where):
    model = {"GROQ_API_KEY": "groq/llama-3.1-8b-instant", "HOSTED_VLLM_API_KEY": "hosted_vllm/fake"}.get(where,
                                                                                                      "openai/fake")
    secrets = {"api_key": KEY} if where == "template" else None
    if where != "template":
        monkeypatch.setenv(where, KEY)
    for _ in range(2):   # derived, then remembered: both send the key, neither writes it down
        engine = Engine(tmp_path, cache=False)
        [r] = await send(engine, [Request([{"role": "user", "content": "hi"}], model, {"max_tokens": 5, "user": KEY},
                                          api_base=fake_llm.base_url, secrets=secrets)])
        assert r.ok and fake_llm.requests[-1].auth == f"Bearer {KEY}"
    text = (tmp_path / "routes.json").read_text()
    assert KEY not in text and "Zq8Zq8" not in text
    entry = next(iter(json.loads(text)["routes"].values()))
    variant = entry["fast"]["template" if where == "template" else "env"]
    assert ["Authorization", f"Bearer {KEY_MARK}"] in variant["headers"]
    assert variant["key"] == ("template" if where == "template" else "env")
    assert variant["key_env"] == (None if where == "template" else where)


async def test_an_unwritable_memo_only_loses_the_shortcut(fake_llm, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "routes.json").mkdir()    # cannot be replaced by a file
    [r] = await send(Engine(folder, cache=False), [Request([{"role": "user", "content": "hi"}], "openai/fake",
                                                           api_base=fake_llm.base_url)])
    assert r.ok
    assert RouteMemo(folder).fast_route("openai/fake", fake_llm.base_url, None) is None


async def test_a_route_without_api_base_follows_the_base_url_variable(fake_llm, tmp_path, monkeypatch):
    """openai/ with no --api-base goes where OPENAI_BASE_URL says: the remembered URL holds only while it says
    the same (another value derives the route again, and requests go to the new server)."""
    from tests.support.fake_llm import FakeLLM

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    ask = [Request([{"role": "user", "content": "hi"}], "openai/fake", {"max_tokens": 5})]
    assert [r.ok for r in await send(Engine(tmp_path, cache=False), ask)] == [True]
    route = Engine(tmp_path, cache=False).route("openai/fake")
    assert route.config is None and route.url == f"{fake_llm.base_url}/chat/completions"
    other = FakeLLM().start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", other.base_url)
        engine = Engine(tmp_path, cache=False)
        assert engine.route("openai/fake").config is not None       # derived again
        assert [r.ok for r in await send(engine, ask)] == [True]
        assert (fake_llm.count, other.count) == (1, 1)
        assert Engine(tmp_path, cache=False).route("openai/fake").url == f"{other.base_url}/chat/completions"
    finally:
        other.stop()
