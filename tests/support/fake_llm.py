"""A fake OpenAI-compatible chat server on 127.0.0.1 for tests and benchmarks.

It serves ``POST /v1/chat/completions`` (plain and streamed), with settable latency and
injected faults, and counts every request it sees. Two ways to run it:

* in-process: ``FakeLLM().start()`` runs it on its own event loop in a daemon thread, so
  sync tests, async tests and Textual apps can all talk to it (the ``fake_llm`` fixture);
* as a process: ``python tests/support/fake_llm.py --latency 0.2`` prints ``PORT <n>`` and is
  controlled over HTTP (``POST /_control``, ``GET /_stats``), so a benchmark's client does not
  share a CPU core's GIL with the server.

Faults (by name): ``429`` (with Retry-After), ``500``, ``hang`` (never answers; the client must
time out), ``drop`` (closes the connection), ``malformed`` (a 200 whose body is not JSON),
``invalid_json`` (a valid completion whose *content* is not JSON, for structured mode), ``400`` (a
bad request: must not be retried), ``401`` (echoes the key it was sent, as careless providers do). ``.in_flight`` / ``.max_in_flight`` show the client's concurrency.
``faults={"429": 0.05, "500": 0.05}`` injects at random rates; ``script=["429", None, "500"]``
injects in order on the next requests (None = answer normally). Reply shapes (``SHAPES`` and ``BODIES``:
``cut_off``, ``empty``, ``null``, ``parts``, ``reasoning_only``, ``tool_calls``, ``refusal``,
``empty_choices``, ``no_usage``, ``surrogate``, ``fenced_json``, ...) are named the same way.

A provider-style rate limit: ``limit_rps=50`` (a token bucket of requests holding one second's
worth) and/or ``limit_tps=6000`` (the same for prompt + completion tokens, charged on arrival).
Every reply then carries ``x-ratelimit-limit/remaining/reset-requests`` (and ``-tokens``); a request
over the limit gets a 429 at once with ``Retry-After`` and ``retry-after-ms``. ``.billed`` sums the
tokens of every reply the server answered (``.billed_unreported`` those it sent no usage for).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

FAULTS = ("429", "500", "400", "401", "hang", "drop", "malformed", "invalid_json")

# Reply shapes real providers send (named like faults: ``script=["cut_off"]``, ``faults={"empty": 0.1}``).
# Each takes (normal content, max_tokens) and gives (message, finish_reason, completion tokens billed).
SHAPES: dict[str, Callable[[str, int], tuple[dict, str, int]]] = {
    "cut_off": lambda c, m: ({"role": "assistant", "content": " ".join(c.split()[:2])}, "length", m),
    "content_filter": lambda c, m: ({"role": "assistant", "content": " ".join(c.split()[:2])}, "content_filter", 2),
    "filtered_empty": lambda c, m: ({"role": "assistant", "content": None}, "content_filter", 0),
    "empty": lambda c, m: ({"role": "assistant", "content": ""}, "stop", 0),
    "null": lambda c, m: ({"role": "assistant", "content": None}, "stop", 0),
    "parts": lambda c, m: ({"role": "assistant", "content": [{"type": "text", "text": c[:5]},
                                                              {"type": "text", "text": c[5:]}]}, "stop", len(c.split())),
    "thinking_parts": lambda c, m: ({"role": "assistant", "content": [
        {"type": "thinking", "thinking": "First, consider the question."}, {"type": "text", "text": c}]},
        "stop", len(c.split()) + 5),
    "reasoning_only": lambda c, m: ({"role": "assistant", "content": None,
                                     "reasoning_content": "Let me think step by step about this"}, "length", m),
    "reasoning_empty_stop": lambda c, m: ({"role": "assistant", "content": "",
                                           "reasoning_content": "Hmm, thinking"}, "stop", 2),
    "reasoning": lambda c, m: ({"role": "assistant", "content": c,
                                "reasoning_content": "The user wants an answer."}, "stop", len(c.split()) + 5),
    "reasoning_field": lambda c, m: ({"role": "assistant", "content": c, "reasoning": "OpenRouter-style thoughts."},
                                     "stop", len(c.split()) + 3),
    "thinking_field": lambda c, m: ({"role": "assistant", "content": c, "thinking": "Ollama-style thoughts."},
                                    "stop", len(c.split()) + 2),
    "think_tags": lambda c, m: ({"role": "assistant", "content": f"<think>\nInline thoughts.\n</think>\n\n{c}"},
                                "stop", len(c.split()) + 3),
    "tool_calls": lambda c, m: ({"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        "tool_calls", 9),
    "refusal": lambda c, m: ({"role": "assistant", "content": None, "refusal": "I can't help with that request."},
                             "stop", 6),
    "fenced_json": lambda c, m: ({"role": "assistant", "content": '```json\n{"answer": "fenced"}\n```'}, "stop", 5),
    "nested_fence": lambda c, m: ({"role": "assistant", "content":
                                   '```json\n{"answer": "use print:\\n```python\\nprint(1)\\n```"}\n```'}, "stop", 9),
    "prose_json": lambda c, m: ({"role": "assistant", "content":
                                 'Sure! Here it is:\n{"answer": "in prose"}\nHope that helps.'}, "stop", 9),
    "cut_off_json": lambda c, m: ({"role": "assistant", "content": '{"answer": "a long answer that never'}, "length", m),
    "finish_max_tokens": lambda c, m: ({"role": "assistant", "content": " ".join(c.split()[:2])}, "max_tokens", m),
    "finish_safety": lambda c, m: ({"role": "assistant", "content": None}, "SAFETY", 0),
    "finish_error": lambda c, m: ({"role": "assistant", "content": c[:3]}, "error", 1),
}
# Shapes that are not a message: the whole body differs.
BODIES = ("empty_choices", "no_usage", "surrogate", "bad_utf8", "error_body")
ALL = FAULTS + tuple(SHAPES) + BODIES


@dataclass
class Seen:
    """One request as the server saw it."""

    t: float
    body: dict
    fault: str | None
    headers: dict  # lower-cased, without authorization
    auth: str = ""  # the Authorization header as sent (tests check which key was used)
    raw: bytes = b""  # the body's bytes as sent
    path: str = ""    # the URL path it was sent to

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages)


def default_reply(messages: list[dict]) -> str:
    """Deterministic text derived from the prompt, so tests can check what came back."""
    last = next((m for m in reversed(messages) if m.get("role") == "user"), messages[-1] if messages else {})
    return f"Answer to: {str(last.get('content', ''))[:80]}"


def answer_key(body: dict) -> str:
    """One paid answer's identity: the messages and the seed (a request asked again has the same key)."""
    return json.dumps([body.get("messages"), body.get("seed")], sort_keys=True)


def _instance(schema: dict | None) -> Any:
    """A minimal value that satisfies a simple JSON schema (for structured-mode replies)."""
    if not isinstance(schema, dict):
        return {"answer": "ok"}
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _instance(v) for k, v in props.items()}
    if kind == "array":
        return [_instance(schema.get("items"))] * max(1, int(schema.get("minItems", 1)))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return "ok"


@dataclass
class FakeLLM:
    latency: float = 0.0
    faults: dict[str, float] = field(default_factory=dict)
    script: list[str | None] = field(default_factory=list)
    retry_after: float = 1.0
    reply: Callable[[list[dict]], str] | None = None
    ratelimit_headers: bool = False
    keep_bodies: bool = True
    limit_rps: float | None = None
    limit_tps: float | None = None
    pad_words: int = 0  # longer replies (for token-rate benchmarks)
    limit_headers: bool = True  # False: a limit that only shows as 429s (Retry-After), like some servers
    seed: int = 0
    model: str = "openai/fake"
    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        self.requests: list[Seen] = []
        self.count = 0
        self.by_fault: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.retry_after_violations = 0  # a prompt asked again sooner than the Retry-After it was given
        self.answered: list[tuple[float, str]] = []  # (wall time the reply was fully written, answer_key)
        self._limited: dict[int, float] = {}
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.billed = 0
        self.billed_unreported = 0
        self.limited = 0  # 429s from the rate limit (not injected)
        self._buckets: dict[str, list[float]] = {}  # kind -> [level, last refill time]

    # -- control ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The api_base to give litellm (``.../v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    def set(self, **settings: Any) -> "FakeLLM":
        """Change latency=, faults=, script=, retry_after=, reply=, ratelimit_headers= at any time."""
        for key, value in settings.items():
            if key not in ("latency", "faults", "script", "retry_after", "reply", "ratelimit_headers", "keep_bodies",
                           "limit_rps", "limit_tps", "pad_words", "limit_headers"):
                raise TypeError(f"unknown setting {key!r}")
            if key in ("faults", "script"):
                unknown = set(value or {}) - set(ALL) - {None}
                if unknown:
                    raise ValueError(f"unknown fault(s)/shape(s) {sorted(unknown)}; known: {ALL}")
            if key in ("limit_rps", "limit_tps"):
                self._buckets.pop("requests" if key == "limit_rps" else "tokens", None)
            if key == "faults":
                value = dict(value or {})
            if key == "script":
                value = list(value or [])
            setattr(self, key, value)
        return self

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.count = 0
            self.by_fault.clear()
            self.retry_after_violations = 0
            self.max_in_flight = 0
            self.answered.clear()
            self._limited.clear()
            self.billed = self.billed_unreported = self.limited = 0
            self._buckets.clear()

    def prompts(self) -> list[str]:
        return [r.prompt for r in self.requests]

    # -- serving ---------------------------------------------------------------------------
    def _pick_fault(self) -> str | None:
        with self._lock:
            if self.script:
                return self.script.pop(0)
        if self.faults:
            x = self._rng.random()
            for name, rate in self.faults.items():
                if x < rate:
                    return name
                x -= rate
        return None

    def _record(self, body: dict, fault: str | None, headers: dict, retry_after: float | None = None,
                auth: str = "", raw: bytes = b"", path: str = "") -> None:
        now = time.monotonic()
        key = hash(json.dumps(body.get("messages"), sort_keys=True))
        with self._lock:
            self.count += 1
            since = self._limited.pop(key, None)
            if since is not None and now < since:
                self.retry_after_violations += 1
            if fault == "429":
                self._limited[key] = now + (self.latency + self.retry_after if retry_after is None else retry_after)
            if fault:
                self.by_fault[fault] = self.by_fault.get(fault, 0) + 1
            if self.keep_bodies:
                self.requests.append(Seen(time.monotonic(), body, fault, headers, auth, raw, path))

    def _take(self, kind: str, rate: float | None, cost: float, headers: dict) -> float | None:
        """A token bucket holding one second's worth: None if `cost` was taken, else seconds until it can be."""
        if not rate:
            return None
        now = time.monotonic()
        level, last = self._buckets.get(kind) or [rate, now]
        level = min(rate, level + (now - last) * rate)
        wait = None
        if level >= min(cost, rate):
            level -= cost
        else:
            wait = (min(cost, rate) - level) / rate
        self._buckets[kind] = [level, now]
        headers[f"x-ratelimit-limit-{kind}"] = f"{rate:g}"
        headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, int(level)))
        headers[f"x-ratelimit-reset-{kind}"] = f"{max(0.0, (rate - level) / rate) * 1000:.0f}ms"
        return wait

    def _limit(self, prompt_tokens: int, completion_tokens: int, headers: dict) -> float | None:
        """Both buckets must have room; a request turned away takes nothing from either."""
        saved = {k: list(v) for k, v in self._buckets.items()}
        waits = [self._take("requests", self.limit_rps, 1, headers),
                 self._take("tokens", self.limit_tps, prompt_tokens + completion_tokens, headers)]
        waits = [w for w in waits if w is not None]
        if not waits:
            return None
        self._buckets.update(saved)
        for kind in ("requests", "tokens"):  # the headers say what is left after the refusal
            if f"x-ratelimit-remaining-{kind}" in headers and kind in saved:
                rate = self.limit_rps if kind == "requests" else self.limit_tps
                level = min(rate, saved[kind][0] + (time.monotonic() - saved[kind][1]) * rate)
                headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, int(level)))
        return max(waits)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            resp = await self._answer(request)
            if resp.status == 200:  # write it here, so `answered` says when a paid answer left the server
                try:
                    await resp.prepare(request)
                    await resp.write_eof()
                except ConnectionError:  # the client is gone: this answer never left
                    return resp
                body = request.get("studio_body")
                if body is not None:
                    with self._lock:
                        self.answered.append((time.time(), answer_key(body)))
            return resp
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return web.json_response({"error": {"message": "body is not JSON", "type": "invalid_request_error"}},
                                     status=400)
        request["studio_body"] = body
        fault = self._pick_fault()
        messages = body.get("messages", [])
        rf = body.get("response_format") or {}
        if fault == "invalid_json":
            content = "Sure! Here is the JSON you asked for: {answer: oops"
        elif self.reply is not None:
            content = self.reply(messages)
        elif rf.get("type") in ("json_object", "json_schema"):
            schema = (rf.get("json_schema") or {}).get("schema") if rf.get("type") == "json_schema" else None
            content = json.dumps(_instance(schema))
        else:
            content = default_reply(messages)
            if self.pad_words:
                content += " " + " ".join(["more"] * self.pad_words)
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 64)
        message: dict = {"role": "assistant", "content": content}
        finish = "stop"
        completion_tokens = len(content.split())
        if fault in SHAPES:
            message, finish, completion_tokens = SHAPES[fault](content, max_tokens)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages) + 3 * len(messages)
        headers: dict = {}
        if self.limit_rps or self.limit_tps:
            wait = self._limit(prompt_tokens, completion_tokens, headers)
            if not self.limit_headers:
                headers.clear()
            if wait is not None:
                with self._lock:
                    self.limited += 1
                self._record(body, "429", {k.lower(): v for k, v in request.headers.items()
                                           if k.lower() != "authorization"}, retry_after=wait,
                             auth=request.headers.get("Authorization", ""), raw=raw, path=request.path)
                headers.update({"Retry-After": str(max(1, int(wait + 0.999))), "retry-after-ms": f"{wait * 1000:.0f}"})
                return web.json_response({"error": {"message": "Rate limit reached, slow down",
                                                    "type": "rate_limit_error", "code": "rate_limit_exceeded"}},
                                         status=429, headers=headers)
        self._record(body, fault, {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"},
                     auth=request.headers.get("Authorization", ""), raw=raw, path=request.path)
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault == "429":
            return web.json_response(
                {"error": {"message": "Rate limit reached, slow down", "type": "rate_limit_error", "code": "rate_limit"}},
                status=429, headers={"Retry-After": f"{self.retry_after:g}", "x-ratelimit-remaining-requests": "0",
                                     "x-ratelimit-reset-requests": f"{self.retry_after:g}s"})
        if fault == "401":
            key = request.headers.get("Authorization", "").removeprefix("Bearer ")
            return web.json_response({"error": {"message": f"Incorrect API key provided: {key}",
                                                "type": "invalid_request_error"}}, status=401)
        if fault == "400":
            return web.json_response({"error": {"message": "invalid parameter (injected)", "type": "invalid_request_error"}},
                                     status=400)
        if fault == "500":
            return web.json_response({"error": {"message": "internal error (injected)", "type": "server_error"}},
                                     status=500)
        if fault == "hang":
            await asyncio.sleep(3600)
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the client: the connection is gone
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        if self.ratelimit_headers:  # True for roomy limits, or a dict of the headers to send
            headers.update({"x-ratelimit-limit-requests": "10000", "x-ratelimit-remaining-requests": "9999",
                            "x-ratelimit-reset-requests": "1s"})
            if isinstance(self.ratelimit_headers, dict):
                headers.update(self.ratelimit_headers)
        model = body.get("model", "fake")
        cid = f"chatcmpl-{self.count}"
        if fault == "malformed":
            return web.Response(text='{"id": "chatcmpl-x", "choices": [{"message": ', status=200,
                                content_type="application/json")
        if fault == "error_body":  # OpenRouter-style: a 200 whose body is an error (billed nothing)
            return web.json_response({"error": {"message": "upstream provider error", "code": 502}}, headers=headers)
        with self._lock:
            self.billed += prompt_tokens + completion_tokens
            if fault == "no_usage":
                self.billed_unreported += prompt_tokens + completion_tokens
        if body.get("stream"):
            resp = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream", **headers})
            await resp.prepare(request)
            words = content.split(" ")
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                chunk = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                         "choices": [{"index": 0, "delta": ({"role": "assistant"} if i == 0 else {}) | {"content": piece},
                                      "finish_reason": None}]}
                await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
            last = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            if (body.get("stream_options") or {}).get("include_usage"):
                last["usage"] = usage
            await resp.write(f"data: {json.dumps(last)}\n\n".encode())
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        reply = {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
                 "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}
        if fault == "empty_choices":
            reply["choices"] = []
        if fault == "no_usage":
            del reply["usage"]
        text = json.dumps(reply)
        if fault == "surrogate":  # valid JSON, but "\ud83d" alone is no character: not storable as UTF-8
            text = text.replace(json.dumps(content)[1:-1], json.dumps(content)[1:-1] + " \\ud83d", 1)
        data = text.encode()
        if fault == "bad_utf8":
            data = data.replace(json.dumps(content)[1:-1].encode(), json.dumps(content)[1:-1].encode() + b" \xff\xfe", 1)
        return web.Response(body=data, headers=headers, content_type="application/json")

    async def _control(self, request: web.Request) -> web.Response:
        data = await request.json()
        if data.pop("reset", False):
            self.reset()
        self.set(**data)
        return web.json_response({"ok": True})

    async def _stats(self, request: web.Request) -> web.Response:
        with self._lock:
            prompts = [r.prompt for r in self.requests]
            return web.json_response({"count": self.count, "by_fault": dict(self.by_fault), "billed": self.billed,
                                      "billed_unreported": self.billed_unreported, "limited": self.limited,
                                      "unique_prompts": len(set(prompts)),
                                      "retry_after_violations": self.retry_after_violations,
                                      "max_in_flight": self.max_in_flight})

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/_control", self._control)
        app.router.add_get("/_stats", self._stats)
        return app

    async def serve(self) -> None:
        """Start listening on the current loop (port 0 = a fresh free port)."""
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> "FakeLLM":
        """Serve from a daemon thread with its own event loop; returns once listening."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self.serve())
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                errors.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.aclose())
            self._loop.close()

        self._thread = threading.Thread(target=main, name="fake-llm", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> "FakeLLM":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--retry-after", type=float, default=1.0)
    args = ap.parse_args(argv)
    fake = FakeLLM(latency=args.latency, retry_after=args.retry_after, port=args.port)

    async def run() -> None:
        await fake.serve()
        print(f"PORT {fake.port}", flush=True)
        await asyncio.Event().wait()

    try:
        import uvloop  # type: ignore
        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
