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
import copy
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

import orjson

from studio.core.record import KEY_SHAPE, is_secret_name
from studio.engine import llm, reply, retry
from studio.engine.reply import Reply
from studio.engine.structured import response_format
from studio.engine.types import EngineError, Fatal, RateLimited, Request, Transient, Unanswerable

FAST_PROVIDERS = frozenset({
    "openai", "custom_openai", "hosted_vllm", "lm_studio", "llamafile", "litellm_proxy", "groq", "deepseek",
    "together_ai", "fireworks_ai", "xai", "deepinfra", "openrouter",
})
PLACEHOLDER_KEY = "sk-no-key"  # for local OpenAI-compatible servers that want no key (not a secret)
LITELLM = "litellm"            # a route's price: ask litellm's price list (not remembered)
SENTINEL_KEY = "studio-key-stand-in-9f3c1b7e"   # stands for the key while deriving what the memo may hold
KEY_MARK = "{studio:key}"                      # where the key goes in a remembered header value
_PLAIN_ROLES = frozenset({"system", "user", "assistant"})
_PROBE = [{"role": "system", "content": "You write \"training\" data."},
          {"role": "user", "content": "Explain {x} – ü, 中文, \\n and emoji 🙂 in 3 sentences.\n\nThen stop."},
          {"role": "assistant", "content": "An answer."}, {"role": "user", "content": "Again."}]


@dataclass
class Route:
    """How to reach one model; resolved once. The key lives only here, in memory.

    A route is derived by litellm (`resolve`) or rebuilt from what litellm derived before for this litellm
    version (`RouteMemo.fast_route`: `config` is then None and litellm is imported only if a request needs
    something the memo does not hold)."""

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
    price: Any = LITELLM   # (USD per input token, per output token), None: litellm has no price, LITELLM: ask it
    _optional: dict = field(default_factory=dict, repr=False)
    _known: dict = field(default_factory=dict, repr=False)      # remembered mappings: digest -> [mapped, seed_ok, plain]
    _learn: Any = field(default=None, repr=False)               # saves a mapping litellm derived (digest, value)

    def optional_params(self, params: dict, schema: dict | None) -> tuple[dict, bool]:
        """litellm's mapping of generation params for this provider (cached per params), and seed support."""
        mapped, seed_ok, _ = self._mapping(params, schema)
        return mapped, seed_ok

    def _mapping(self, params: dict, schema: dict | None) -> tuple[dict, bool, bool]:
        """(mapped params, seed supported, body is plain): from memory, the memo, or litellm (then remembered)."""
        key = orjson.dumps([params, schema], option=orjson.OPT_SORT_KEYS)
        hit = self._optional.get(key)
        if hit is None:
            digest = mapping_digest(key)
            known = self._known.get(digest)
            if known is not None:
                hit = (dict(known[0]), bool(known[1]), bool(known[2]))
            else:
                hit = self._derive_mapping(params, schema)
                if self._learn is not None:
                    self._learn(digest, [hit[0], hit[1], hit[2]])
            if len(self._optional) > 256:
                self._optional.clear()
            self._optional[key] = hit
        return hit

    def _derive_mapping(self, params: dict, schema: dict | None) -> tuple[dict, bool, bool]:
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
        return mapped, seed_ok, self._plain(mapped, seed_ok)

    def _plain(self, mapped: dict, seed_ok: bool) -> bool:
        """Whether litellm's `transform_request` sends plain text messages as they are, under these params:
        {"model", "messages", **params}, byte for byte (checked on probe messages). Then a remembered route
        builds such bodies itself, without litellm."""
        if not self.fast:
            return False
        opt = dict(mapped)
        if seed_ok:
            opt["seed"] = 12345
        want = orjson.dumps({"model": self.model_name, "messages": _PROBE, **opt})
        try:
            got = self._config().transform_request(self.model_name, copy.deepcopy(_PROBE), dict(opt),
                                                   dict(self.litellm_params), {})
            return orjson.dumps(got) == want
        except Exception:  # noqa: BLE001 - any surprise: keep asking litellm
            return False

    def _config(self) -> Any:
        """The provider's litellm config (imported the first time a remembered route needs it)."""
        if self.config is None:
            from litellm.types.utils import LlmProviders
            from litellm.utils import ProviderConfigManager

            llm.litellm()
            self.config = ProviderConfigManager.get_provider_chat_config(self.model_name, LlmProviders(self.provider))
        return self.config

    def body(self, req: Request) -> dict:
        """The request body the provider's `transform_request` makes for `req` (built without litellm by a
        remembered route when litellm was seen to send plain text messages as they are)."""
        optional, seed_ok, plain = self._mapping(req.params, req.schema)
        opt = dict(optional)
        if seed_ok and req.seed is not None:
            opt["seed"] = req.seed
        if self.config is None and plain and _simple(req.messages):
            return {"model": self.model_name, "messages": req.messages, **opt}
        return self._config().transform_request(self.model_name, req.messages, opt, self.litellm_params, {})

    def cost(self, tokens_in: int, tokens_out: int) -> float | None:
        """USD for one call (litellm's price, remembered per route when it is per token), None if unknown."""
        price = self.price
        if price is None:
            return None
        if isinstance(price, str):
            return llm.cost(self.model_name, self.provider, tokens_in, tokens_out, self.model)
        return float(tokens_in * price[0]) + float(tokens_out * price[1])

    def estimate_tokens(self, messages: list, output: str) -> tuple[int | None, int | None]:
        """Tokens of a reply without usage (litellm's tokenizer; None, None for a model without a price)."""
        if self.price is None:
            return None, None
        return llm.estimate_tokens(self.model_name, self.provider, messages, output, self.model)


def _simple(messages: list) -> bool:
    """Plain text chat messages ({"role", "content": str} of system/user/assistant): what the probe covers."""
    for m in messages:
        if type(m) is not dict or len(m) != 2 or m.get("role") not in _PLAIN_ROLES or type(m.get("content")) is not str:
            return False
    return True


def mapping_digest(key: bytes) -> str:
    """The memo's name for one (params, schema) mapping."""
    return hashlib.blake2b(key, digest_size=12).hexdigest()


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
    """What litellm derived for each (model, api_base), remembered in the workspace cache folder per litellm
    version (`routes.json`), so later runs need no litellm import (seconds) before their first request:

    * the provider (a run whose answers are cached finds its cache keys: `provider`);
    * for an OpenAI-compatible route (`fast_route`): the URL, the header names and values with the key left
      out (where it goes is marked, and where it comes from: the name of its environment variable, the
      template, or the placeholder for a server that wants none), the mapping of each set of generation
      params litellm made (and whether litellm sends plain text messages as they are under it), and the
      price per input and output token. Keyed also by a digest of the provider's environment variables'
      names (and values, for those not named like secrets), so a key or base URL set since re-derives.

    Never holds a key: an entry that would contain one is not saved."""

    FILENAME = "routes.json"

    def __init__(self, directory: Any):
        from pathlib import Path

        self.path = Path(directory) / self.FILENAME
        self._data: dict | None = None
        self._version: str | None = None

    def _load(self) -> dict:
        if self._data is None:
            self._version = litellm_version()
            self._data = self._read()
        return self._data

    def _read(self) -> dict:
        try:
            data = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            data = {}
        return data if isinstance(data, dict) and data.get("litellm") == self._version else {}

    @staticmethod
    def _k(model: str, api_base: str | None) -> str:
        return f"{model}\x1f{api_base or ''}"

    def provider(self, model: str, api_base: str | None) -> str | None:
        """The provider remembered for this litellm version, or None (then litellm routes it)."""
        hit = self._load().get("routes", {}).get(self._k(model, api_base))
        if isinstance(hit, dict):
            hit = hit.get("provider")
        return hit if isinstance(hit, str) else None

    def remember(self, model: str, api_base: str | None, provider: str) -> None:
        """Save one route's provider (atomic replace; a folder that cannot be written only loses the shortcut)."""
        if self.provider(model, api_base) == provider:
            return
        self._update(model, api_base, lambda e: {"provider": provider})

    def fast_route(self, model: str, api_base: str | None, api_key: str | None) -> Route | None:
        """The OpenAI-compatible route litellm derived before (this litellm version, the same provider
        environment), with the key read now; None when there is none to trust (then litellm derives it)."""
        hit = self._load().get("routes", {}).get(self._k(model, api_base))
        entry = (hit.get("fast") or {}).get(_variant(api_key)) if isinstance(hit, dict) else None
        if not isinstance(entry, dict):
            return None
        try:
            provider = hit["provider"]
            if entry["env"] != env_digest(provider, entry.get("key_env")):
                return None
            source = entry["key"]
            if source == "template":
                key = api_key
            elif source == "placeholder":
                key = PLACEHOLDER_KEY
            elif source == "env":
                key = os.environ.get(entry["key_env"]) or None
            elif source == "litellm":
                key = entry["key_value"]   # litellm's own stand-in (e.g. hosted_vllm's), never a person's key
            else:
                return None
            if not key:
                return None
            base = entry["api_base"]
            route = Route(model=model, model_name=entry["model_name"], provider=provider, api_base=base, fast=True,
                          endpoint=endpoint_of(provider, api_base), url=entry["url"],
                          headers={n: v.replace(KEY_MARK, key) for n, v in entry["headers"]}, api_key=key,
                          litellm_params={"custom_llm_provider": provider, "api_base": base},
                          price=tuple(entry["price"]) if isinstance(entry["price"], list) else entry["price"])
            route._known = dict(entry.get("params") or {})
        except (KeyError, TypeError, AttributeError, ValueError):
            return None
        route._learn = self._learner(model, api_base, api_key)
        return route

    def remember_fast(self, route: Route, api_base: str | None, api_key: str | None) -> None:
        """Remember a fast route litellm just derived (`api_key`: the template's own key, if it gave one),
        and from then on each params mapping it derives."""
        entry = fast_entry(route, api_key)
        if entry is None:
            return
        variant = _variant(api_key)

        def put(e: dict) -> dict:
            fast = e.get("fast") if isinstance(e.get("fast"), dict) else {}
            return {"provider": route.provider, "fast": {**fast, variant: entry}}
        self._update(route.model, api_base, put)
        route._learn = self._learner(route.model, api_base, api_key)

    def _learner(self, model: str, api_base: str | None, api_key: str | None) -> Any:
        variant = _variant(api_key)

        def learn(digest: str, value: list) -> None:
            if api_key and len(api_key) >= 6 and api_key in orjson.dumps(value).decode():
                return     # a params value that holds the key (never remembered)

            def put(e: dict) -> dict:
                entry = ((e.get("fast") or {}).get(variant)) if isinstance(e, dict) else None
                if not isinstance(entry, dict):
                    return e
                params = dict(entry.get("params") or {})
                if len(params) >= 64:
                    params.clear()
                params[digest] = value
                return {**e, "fast": {**e["fast"], variant: {**entry, "params": params}}}
            self._update(model, api_base, put)
        return learn

    def _update(self, model: str, api_base: str | None, change: Any) -> bool:
        """Apply `change` to one entry and save (merged with what other processes saved meanwhile)."""
        self._load()
        disk = self._read()   # another run may have added routes since this one read the file
        routes = {**disk.get("routes", {}), **(self._data or {}).get("routes", {})}
        k = self._k(model, api_base)
        old = routes.get(k)
        routes[k] = change(old if isinstance(old, dict) else {"provider": old} if isinstance(old, str) else {})
        data = {"litellm": self._version, "routes": routes}
        text = orjson.dumps(data)
        if KEY_SHAPE.search(text.decode()):
            return False   # never a key on disk (a key-shaped value slipped into a param or header)
        self._data = data
        tmp = self.path.with_name(f".{self.FILENAME}.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(text)
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
        return True


def _variant(api_key: str | None) -> str:
    """A route with the template's own key and one with the provider's are remembered apart."""
    return "template" if api_key else "env"


def litellm_version() -> str:
    """The installed litellm's version, without importing it: the name of its one `.dist-info` folder
    beside the package (`importlib.metadata` itself takes tens of milliseconds to import and scan)."""
    from importlib.util import find_spec

    try:
        spec = find_spec("litellm")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return "none"
    for folder in spec.submodule_search_locations or ():
        try:
            found = [n for n in os.listdir(os.path.dirname(folder))
                     if n.startswith("litellm-") and n.endswith(".dist-info")]
        except OSError:
            found = []
        if len(found) == 1:
            return found[0][len("litellm-"):-len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("litellm")
    except PackageNotFoundError:
        return "none"


def env_digest(provider: str, extra: str | None = None) -> str:
    """A digest of the environment litellm reads for `provider` (its variables, OPENAI_*, LITELLM_*): names
    and non-secret values; a secret-named variable counts only as set or not (a rotated key changes nothing)."""
    env = dict(os.environ)
    env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")   # what llm.litellm() sets before importing it
    env.setdefault("LITELLM_TELEMETRY", "False")
    prefixes = (f"{provider.upper()}_", "OPENAI_", "LITELLM_")
    parts = [name if is_secret_name(name) else f"{name}={env[name]}" for name in sorted(env)
             if name.startswith(prefixes) or name == extra]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()


def fast_entry(route: Route, api_key: str | None) -> dict | None:
    """What the memo keeps of a fast route litellm derived: URL, headers with the key marked, where the key
    comes from, price; None when that cannot be kept without the key (then litellm derives it every run)."""
    key, config, base = route.api_key, route.config, route.api_base
    if not (route.fast and key and config is not None):
        return None
    try:
        url = config.get_complete_url(base, SENTINEL_KEY, route.model_name, {}, route.litellm_params)
        marked = config.validate_environment({}, route.model_name, [], {}, dict(route.litellm_params),
                                             SENTINEL_KEY, base)
    except Exception:  # noqa: BLE001
        return None
    headers = [[str(n), str(v).replace(SENTINEL_KEY, KEY_MARK)] for n, v in marked.items()]
    if url != route.url or SENTINEL_KEY in url or {n: v.replace(KEY_MARK, key) for n, v in headers} != route.headers:
        return None       # the key shapes the URL or the headers in a way the memo cannot rebuild
    from urllib.parse import urlsplit

    if urlsplit(url).password or urlsplit(url).username:
        return None
    key_env = None
    if api_key:
        source = "template"
    elif key == PLACEHOLDER_KEY:
        source = "placeholder"
    else:
        named = sorted((n for n, v in os.environ.items() if v == key),
                       key=lambda n: (not n.startswith(route.provider.upper()), n))
        if named:
            source, key_env = "env", named[0]
        elif KEY_SHAPE.search(key) or len(key) > 40:
            return None   # not from the environment and shaped like a key: never written down
        else:
            source = "litellm"
    entry = {"model_name": route.model_name, "api_base": base, "url": url, "headers": headers, "key": source,
             "key_env": key_env, "env": env_digest(route.provider, key_env), "price": llm.price(
                 route.model_name, route.provider, route.model), "params": {}}
    if source == "litellm":
        entry["key_value"] = key
    text = orjson.dumps(entry).decode()
    if source != "litellm" and len(key) >= 6 and key in text:
        return None
    return entry


def resolve(model: str, api_base: str | None, *, fast: bool = True, api_key: str | None = None) -> Route:
    """`api_key`: a template's own key (read from its environment reference), used before the provider's."""
    lib = llm.litellm()
    try:
        model_name, provider, dyn_key, dyn_base = lib.get_llm_provider(model, api_base=api_base)
        dyn_key = api_key or dyn_key
    except Exception:  # noqa: BLE001
        raise EngineError(f"litellm does not know the model {model!r}",
                          hint="write provider/model, e.g. openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, "
                               "hosted_vllm/NAME with --api-base, or local/smollm2",
                          hints={"tui": "type provider/model in the generate form's 'or type' field (ctrl+g), e.g. "
                                        "openai/gpt-4o-mini, or hosted_vllm/NAME with the server's URL in api_base"}
                          ) from None
    if provider == "local":
        from studio.engine import local

        if model != local.MODEL:
            raise EngineError(f"no embedded model named {model!r}", hint=f"the embedded model is {local.MODEL}")
        if not local.available():
            raise EngineError(f"{model} is not installed: {local.missing_reason()}",
                              hint="or pick another model with --model / STUDIO_MODEL",
                              hints={"tui": "or pick another model in the generate form (ctrl+g)"})
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
        raise EngineError(f"{model}: no api_base for provider {provider!r}", hint="pass --api-base URL",
                          hints={"tui": "give the server's URL in the generate form's api_base (ctrl+g)"})
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
    route.price = llm.price(model_name, provider, model)
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

        body = route.body(req)
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
