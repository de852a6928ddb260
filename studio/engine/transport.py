"""Getting one completion from a provider, two ways, both through litellm's provider knowledge.

* `FastTransport` — for OpenAI-compatible providers (openai, hosted_vllm, groq, ...): litellm
  resolves the provider, URL, auth headers and parameter mapping once per model and builds each
  body with the provider's own `transform_request`; the reply is read straight from the OpenAI wire
  format by `reply.from_bytes` (the same decisions as the litellm path); the bytes travel over
  one shared aiohttp session. This skips `acompletion`'s ~4-5 ms of
  per-call bookkeeping (logging objects, callbacks, client set-up), which caps a core at ~200
  calls/s.
* `LiteLLMTransport` — `litellm.acompletion` for every other provider (anthropic, ollama, vertex,
  the embedded `local/smollm2`, ...), so every model litellm knows still works.

Both raise `RateLimited` / `Transient` / `Fatal` so the engine's retry logic is one piece of code.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

import orjson

from studio.engine import llm, reply, retry
from studio.engine.reply import Reply
from studio.engine.structured import response_format
from studio.engine.types import EngineError, Fatal, RateLimited, Request, Transient, Unanswerable

FAST_PROVIDERS = frozenset({
    "openai", "custom_openai", "hosted_vllm", "lm_studio", "llamafile", "litellm_proxy", "groq", "deepseek",
    "together_ai", "fireworks_ai", "xai", "deepinfra", "openrouter",
})
PLACEHOLDER_KEY = "sk-no-key"  # for local OpenAI-compatible servers that want no key (not a secret)


@dataclass
class Route:
    """How to reach one model; resolved once. The key lives only here, in memory."""

    model: str
    model_name: str
    provider: str
    api_base: str | None
    fast: bool
    endpoint: str | None = None   # recorded on samples and keyed in the cache: given or env base, never a key
    url: str = ""
    headers: dict = field(default_factory=dict, repr=False)
    config: Any = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    litellm_params: dict = field(default_factory=dict, repr=False)
    _optional: dict = field(default_factory=dict, repr=False)

    def optional_params(self, params: dict, schema: dict | None) -> tuple[dict, bool]:
        """litellm's mapping of generation params for this provider (cached per params), and seed support."""
        key = orjson.dumps([params, schema], option=orjson.OPT_SORT_KEYS)
        hit = self._optional.get(key)
        if hit is None:
            lib = llm.litellm()
            extra: dict[str, Any] = {}
            if schema is not None:
                rf = response_format(lib, self.model_name, self.provider, schema)
                if rf:
                    extra["response_format"] = rf
            try:
                mapped = lib.get_optional_params(model=self.model_name, custom_llm_provider=self.provider,
                                                 drop_params=True, seed=0, **{**params, **extra})
            except Exception as exc:  # noqa: BLE001 - litellm rejects a parameter
                raise EngineError(f"{self.model}: generation parameters rejected: {exc}",
                                  hint="fix the template's params (e.g. temperature, max_tokens)") from None
            mapped = dict(mapped)
            seed_ok = "seed" in mapped
            mapped.pop("seed", None)
            mapped.pop("stream", None)
            extra_body = mapped.pop("extra_body", None) or {}
            mapped.update(extra_body)
            hit = (mapped, seed_ok)
            if len(self._optional) > 256:
                self._optional.clear()
            self._optional[key] = hit
        return hit


def endpoint_of(provider: str, api_base: str | None) -> str | None:
    """Which server answers: the api_base given, else one the provider's environment variable names
    (OPENAI_BASE_URL, HOSTED_VLLM_API_BASE, OLLAMA_API_BASE, ...); None for the provider's default."""
    from studio.engine.cache import clean_endpoint

    if api_base:
        return clean_endpoint(api_base)
    up = provider.upper()
    names = [f"{up}_API_BASE", f"{up}_BASE_URL"]
    if provider == "openai":
        names = ["OPENAI_BASE_URL", "OPENAI_API_BASE"]
    for name in names:
        if os.environ.get(name):
            return clean_endpoint(os.environ[name])
    return None


class RouteMemo:
    """The provider litellm resolved for each (model, api_base), remembered in the workspace cache folder per
    litellm version (`routes.json`), so a run whose answers are cached needs no litellm import (seconds) to
    find its cache keys. Holds no key and no URL beyond the api_base the person gave."""

    FILENAME = "routes.json"

    def __init__(self, directory: Any):
        from pathlib import Path

        self.path = Path(directory) / self.FILENAME
        self._data: dict | None = None
        self._version: str | None = None

    def _load(self) -> dict:
        if self._data is None:
            from importlib.metadata import PackageNotFoundError, version

            try:
                self._version = version("litellm")
            except PackageNotFoundError:
                self._version = "none"
            try:
                data = orjson.loads(self.path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                data = {}
            self._data = data if isinstance(data, dict) and data.get("litellm") == self._version else {}
        return self._data

    def provider(self, model: str, api_base: str | None) -> str | None:
        """The provider remembered for this litellm version, or None (then litellm routes it)."""
        hit = self._load().get("routes", {}).get(f"{model}\x1f{api_base or ''}")
        return hit if isinstance(hit, str) else None

    def remember(self, model: str, api_base: str | None, provider: str) -> None:
        """Save one route (atomic replace; a folder that cannot be written only loses the shortcut)."""
        data = self._load()
        routes = data.setdefault("routes", {})
        k = f"{model}\x1f{api_base or ''}"
        if routes.get(k) == provider:
            return
        routes[k] = provider
        data["litellm"] = self._version
        tmp = self.path.with_name(f".{self.FILENAME}.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(orjson.dumps(data))
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)


def resolve(model: str, api_base: str | None, *, fast: bool = True, api_key: str | None = None) -> Route:
    """`api_key`: a template's own key (read from its environment reference), used before the provider's."""
    lib = llm.litellm()
    try:
        model_name, provider, dyn_key, dyn_base = lib.get_llm_provider(model, api_base=api_base)
        dyn_key = api_key or dyn_key
    except Exception:  # noqa: BLE001
        raise EngineError(f"litellm does not know the model {model!r}",
                          hint="write provider/model, e.g. openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, "
                               "hosted_vllm/NAME with --api-base, or local/smollm2") from None
    if provider == "local":
        from studio.engine import local

        if model != local.MODEL:
            raise EngineError(f"no embedded model named {model!r}", hint=f"the embedded model is {local.MODEL}")
        if not local.available():
            raise EngineError(f"{model} is not installed: {local.missing_reason()}",
                              hint="or pick another model with --model / STUDIO_MODEL")
    base = api_base or dyn_base
    route = Route(model=model, model_name=model_name, provider=provider, api_base=base, fast=False,
                  endpoint=endpoint_of(provider, api_base))
    from studio.core.settings import settings

    if not (fast and provider in FAST_PROVIDERS and settings().engine_path != "litellm"):
        env_key = provider == "openai" and os.environ.get("OPENAI_API_KEY")
        env_base = provider == "openai" and (os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE"))
        self_hosted = api_base or (env_base and "api.openai.com" not in env_base)
        route.api_key = dyn_key or (PLACEHOLDER_KEY if self_hosted and not env_key else None)
        return route
    from litellm.llms.openai.chat.gpt_transformation import OpenAIGPTConfig
    from litellm.types.utils import LlmProviders
    from litellm.utils import ProviderConfigManager

    config = ProviderConfigManager.get_provider_chat_config(model_name, LlmProviders(provider))
    if not isinstance(config, OpenAIGPTConfig):
        return route
    key = dyn_key
    if key is None and provider == "openai":
        key = config.get_api_key()
    if base is None and provider == "openai":
        base = config.get_api_base()
    if base is None:
        raise EngineError(f"{model}: no api_base for provider {provider!r}", hint="pass --api-base URL")
    if key is None and (api_base is not None or "api.openai.com" not in base):
        key = PLACEHOLDER_KEY  # a local or self-hosted server (e.g. OPENAI_API_BASE=http://gpu:8000/v1)
    if key is None:
        raise EngineError(f"{model}: no API key found for provider {provider!r}",
                          hint=f"set the provider's key variable (e.g. {provider.upper()}_API_KEY) in the environment")
    route.api_base = base
    route.api_key = key
    route.litellm_params = {"custom_llm_provider": provider, "api_base": base}
    route.url = config.get_complete_url(base, key, model_name, {}, route.litellm_params)
    route.headers = config.validate_environment({}, model_name, [], {}, route.litellm_params, key, base)
    route.config = config
    route.fast = True
    return route


def _classify_status(status: int, headers: Any, text: str) -> Exception:
    reason = f"HTTP {status}: {_error_message(text)}"
    if status == 429:
        if "insufficient_quota" in text or "exceeded your current quota" in text:
            return Fatal(reason)  # a spent quota or budget, not a pace: waiting will not help
        return RateLimited(reason, retry_after=retry.retry_after(headers), headers=headers)
    if status >= 500 or status in (408, 409):
        return Transient(reason, retry_after=retry.retry_after(headers) if status == 503 else None)
    return Fatal(reason)


def _error_message(text: str) -> str:
    try:
        data = orjson.loads(text)
        if isinstance(data, dict):
            err = data.get("error", data)
            if isinstance(err, dict):
                return str(err.get("message") or err)[:300]
            return str(err)[:300]
    except orjson.JSONDecodeError:
        pass
    return text[:300]


class FastTransport:


    """The fast path: OpenAI-compatible requests sent over one shared aiohttp session (per event loop;
    `connections` caps its connection pool, 0 for no cap), bodies built with the provider's own litellm transform."""

    def __init__(self, *, connections: int = 0):
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connections = connections

    def _ensure(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, json_serialize=lambda o: orjson.dumps(o).decode(),
                                                  skip_auto_headers=("User-Agent",))
            self._loop = loop
        return self._session

    async def call(self, route: Route, req: Request, timeout: float) -> Reply:
        """Send `req` straight to the OpenAI-compatible endpoint of `route` (aiohttp) and return its Reply;
        `timeout` in seconds. Raises RateLimited / Transient (retried by the engine) or Fatal."""
        import aiohttp

        optional, seed_ok = route.optional_params(req.params, req.schema)
        opt = dict(optional)
        if seed_ok and req.seed is not None:
            opt["seed"] = req.seed
        body = route.config.transform_request(route.model_name, req.messages, opt, route.litellm_params, {})
        session = self._ensure()
        try:
            extra = req.secrets.get("extra_headers") if req.secrets else None
            async with session.post(route.url, data=orjson.dumps(body),
                                    headers={**route.headers, **extra} if extra else route.headers,
                                    timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                raw = await resp.read()
                status = resp.status
                headers = resp.headers
        except asyncio.TimeoutError:
            raise Transient(f"no reply within {timeout:g} s (timeout)") from None
        except aiohttp.ClientError as exc:
            raise Transient(f"connection failed: {type(exc).__name__}: {exc}") from None
        except OSError as exc:
            raise Transient(f"connection failed: {exc}") from None
        if status != 200:
            raise _classify_status(status, headers, raw.decode("utf-8", "replace"))
        return reply.from_bytes(raw, req.params, headers)

    async def aclose(self) -> None:
        """Close the HTTP session (a new one is opened on the next call)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


class LiteLLMTransport:
    """litellm.acompletion: every provider litellm supports, with litellm's own retries turned off."""

    async def call(self, route: Route, req: Request, timeout: float) -> Reply:
        """Send `req` through `litellm.acompletion` and return its Reply; `timeout` in seconds (at least 600 for
        the embedded model). Raises RateLimited / Transient (retried by the engine) or Fatal."""
        lib = llm.litellm()
        if route.provider == "local":  # a CPU model cannot be interrupted mid-answer: give it time, not retries
            timeout = max(timeout, 600.0)
        kwargs: dict[str, Any] = dict(req.params)
        if req.schema is not None:
            rf = response_format(lib, route.model_name, route.provider, req.schema)
            if rf:
                kwargs["response_format"] = rf
        if req.seed is not None:
            kwargs["seed"] = req.seed
        if route.api_base:
            kwargs["api_base"] = route.api_base
        if route.api_key:
            kwargs["api_key"] = route.api_key
        if req.secrets:  # the template's headers and other secret settings (its api_key is route.api_key)
            kwargs.update({k: v for k, v in req.secrets.items() if k != "api_key"})
        try:
            async with asyncio.timeout(timeout + 1):
                mr = await lib.acompletion(model=route.model, messages=req.messages, timeout=timeout,
                                           num_retries=0, max_retries=0, drop_params=True, **kwargs)
        except TimeoutError:
            raise Transient(f"no reply within {timeout:g} s (timeout)") from None
        except Exception as exc:  # noqa: BLE001 - litellm maps provider errors to its own classes
            raw = _unread_reply(exc)
            if raw is not None:  # a 200 whose shape litellm's types refuse (e.g. content as a list of parts)
                return reply.from_dict(raw, req.params)
            raise _classify_exception(lib, exc) from None
        headers = (getattr(mr, "_hidden_params", None) or {}).get("additional_headers") or {}
        return reply.from_litellm(mr, req.params, {k.removeprefix("llm_provider-"): v for k, v in headers.items()})

    async def aclose(self) -> None:
        """Nothing to close (litellm owns its clients)."""
        return None


def _unread_reply(exc: Exception) -> dict | None:
    """litellm puts the reply it could not convert into its error text (received_args=...): read it back,
    so the normaliser decides, as on the fast path, instead of a 500 retried six times."""
    text = str(exc)
    start = text.find("'response_object': ")
    if start < 0:
        return None
    end = text.find(", 'model_response_object'", start)
    if end < 0:
        return None
    import ast

    try:
        value = ast.literal_eval(text[start + len("'response_object': "):end])
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _classify_exception(lib: Any, exc: Exception) -> Exception:
    status = getattr(exc, "status_code", None)
    message = str(getattr(exc, "message", None) or exc).removeprefix("litellm.").strip()
    if "Exception - " in message:  # "X: X: OpenAIException - what the provider said"
        message = message.split("Exception - ", 1)[1]
    message = (f"HTTP {status}: {message}" if isinstance(status, int) else message)[:300]
    headers = None
    response = getattr(exc, "response", None)
    if response is not None:
        headers = getattr(response, "headers", None)
    headers = headers or getattr(exc, "litellm_response_headers", None) or getattr(exc, "headers", None)
    if "codec can't decode" in message:  # the provider's bytes are not UTF-8: the same bytes would come back
        return Unanswerable("the reply's text is not valid UTF-8, so it was not saved as an answer")
    if isinstance(exc, lib.RateLimitError) or status == 429:
        return RateLimited(f"rate limited: {message}", retry_after=retry.retry_after(headers), headers=headers)
    if isinstance(exc, (lib.Timeout, asyncio.TimeoutError)):
        return Transient(f"timeout: {message}")
    if isinstance(exc, (lib.APIConnectionError, lib.InternalServerError, lib.ServiceUnavailableError)):
        return Transient(message)
    if isinstance(status, int) and (status >= 500 or status in (408, 409)):
        return Transient(message)
    if isinstance(exc, (lib.BadRequestError, lib.AuthenticationError, lib.NotFoundError,
                        lib.PermissionDeniedError, lib.UnprocessableEntityError)):
        return Fatal(message)
    if status is None:
        return Transient(f"{type(exc).__name__}: {message}")
    return Fatal(message)
