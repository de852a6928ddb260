"""The engine: many requests in, results out as each completes — bounded, adaptive, retried, cached.

One asyncio task per admitted request; a window (`4 × concurrency`) bounds how many are admitted
at once, and each model's `Limiter` bounds how many are on the wire, so memory stays flat however
many requests the caller's (lazy) iterable yields.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterable, AsyncIterator, Iterable

from studio.core.cost import Cost, cost_of
from studio.engine import retry
from studio.engine.cache import CacheWriteError, RequestCache, legacy_key, request_key
from studio.engine.limiter import Limiter, Pacer, TokenEstimate
from studio.engine.structured import validate
from studio.engine.transport import FastTransport, LiteLLMTransport, Route, RouteMemo, endpoint_of, resolve
from studio.core.errors import StudioError
from studio.core.record import is_secret_name
from studio.engine.types import AttemptError, Fatal, Invalid, RateLimited, Request, Result, Transient

_END = object()
LOOKUP_CHUNK = 64    # requests looked up in the cache with one query
_STOPPED = object()


@dataclass
class Stats:
    """Running totals for the current run (the CLI and the TUI show these)."""

    started: float = field(default_factory=time.monotonic)
    done: int = 0
    failed: int = 0
    cached: int = 0
    sent: int = 0  # HTTP attempts actually made
    retries: int = 0
    rate_limited: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cost_unknown: int = 0  # results whose price litellm does not know
    cache_errors: int = 0  # answers the request cache could not store

    @property
    def finished(self) -> int:
        """Requests finished so far: done + failed."""
        return self.done + self.failed

    @property
    def elapsed(self) -> float:
        """Seconds since the engine started (monotonic clock)."""
        return time.monotonic() - self.started

    def add(self, r: Result) -> None:
        """Count one finished Result (done or failed, cached, tokens, cost; an unknown cost is counted apart)."""
        if r.ok:
            self.done += 1
        else:
            self.failed += 1
        if r.cached:
            self.cached += 1
            return
        self.tokens_in += r.tokens_in or 0
        self.tokens_out += r.tokens_out or 0
        cost = cost_of(r.cost, failed=not r.ok, paid=r.paid)   # the one rule (core.cost): unpaid failures $0
        if cost is not None:
            self.cost += cost  # failed samples' billed attempts cost money too
        else:
            self.cost_unknown += 1

    def cost_summary(self) -> Cost:
        """The run's cost so far as a `core.cost.Cost` (cached results at $0, unpriced ones counted apart)."""
        return Cost(self.cost, self.finished - self.cost_unknown, self.cost_unknown, self.cached)

    def as_dict(self) -> dict[str, Any]:
        """The counters as plain data (what `studio run --json` prints): done, failed, cached, requests, retries,
        rate_limited, tokens_in, tokens_out, cost (USD), cost_unknown, seconds."""
        return {"done": self.done, "failed": self.failed, "cached": self.cached, "requests": self.sent,
                "retries": self.retries, "rate_limited": self.rate_limited, "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out, "cost": round(self.cost, 8),
                "cost_unknown": self.cost_unknown, "seconds": round(self.elapsed, 3)}


async def _aiter(items: Iterable[Request] | AsyncIterable[Request]) -> AsyncIterator[Request]:
    if hasattr(items, "__aiter__"):
        async for item in items:  # type: ignore[union-attr]
            yield item
    else:
        for item in items:  # type: ignore[union-attr]
            yield item


class Engine:
    """`async for result in engine.run(requests)`; `engine.stop()` cancels in-flight, keeps completed."""

    def __init__(self, cache_dir: str | Path | None = None, concurrency: int = 16, *, timeout: float = 60.0,
                 max_tries: int = 6, max_invalid: int = 2, api_base: str | None = None, fast: bool = True,
                 cache: bool = True, max_rate_wait: float = 1800.0, fleets: dict | None = None):
        self.concurrency = max(1, int(concurrency))
        self.timeout = float(timeout)
        self.max_tries = max(1, int(max_tries))
        self.max_invalid = max(0, int(max_invalid))
        self.max_rate_wait = float(max_rate_wait)  # a request rate-limited this long fails (a quota, not a pace)
        self.api_base = api_base
        self.fast = fast
        self.cache = RequestCache(cache_dir) if (cache and cache_dir is not None) else None
        self._memo = RouteMemo(cache_dir) if cache_dir is not None else None
        self._endpoints: dict[tuple[str, str | None], str | None] = {}
        self.stats = Stats()
        self._routes: dict[tuple[str, str | None, str | None, bool], Route] = {}
        self._limiters: dict[str, Limiter] = {}
        self._pacers: dict[str, Pacer] = {}
        self._fast = FastTransport()
        self._slow = LiteLLMTransport()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._tasks: set[asyncio.Task] = set()
        self._feeder: asyncio.Task | None = None
        self._active = 0
        self.fleets = dict(fleets or {})   # {model name: studio.engine.fleet.Fleet}: served by several deployments
        self._members: dict[str, list[_Member]] = {}

    # -- set-up ----------------------------------------------------------------------------
    def route(self, model: str, api_base: str | None = None, secrets: dict | None = None) -> Route:
        """How to reach a model, resolved once per (model, endpoint, key). A template's own api_key (from
        its environment reference) replaces the provider's; other secret settings than the key and
        headers only litellm's own call can pass, so they take that path."""
        if model in self.fleets:
            return self._fleet_route(model)
        base = api_base or self.api_base
        api_key = secrets.get("api_key") if secrets else None
        fast = self.fast and not (secrets and set(secrets) - {"api_key", "extra_headers"})
        k = (model, base, api_key, fast)
        route = self._routes.get(k)
        if route is None:
            route = self._routes[k] = self._resolve(model, base, fast, api_key)
        return route

    def _resolve(self, model: str, base: str | None, fast: bool, api_key: str | None) -> Route:
        """The route this litellm version derived before (workspace memo: no litellm import), else litellm's
        (then remembered)."""
        memo = self._memo
        if memo is not None and fast:
            from studio.core.settings import settings

            if settings().engine_path != "litellm":
                route = memo.fast_route(model, base, api_key)
                if route is not None:
                    return route
        route = resolve(model, base, fast=fast, api_key=api_key)
        if memo is not None:
            memo.remember(model, base, route.provider)
            if route.fast:
                memo.remember_fast(route, base, api_key)
        return route

    def endpoint(self, model: str, api_base: str | None = None, secrets: dict | None = None) -> str | None:
        """The endpoint a model's requests go to (what the cache keys), without importing litellm when this
        litellm version has routed the model before (remembered in the workspace cache): a run whose answers
        are all cached never imports it. Otherwise the model is routed (an unknown model raises here)."""
        base = api_base or self.api_base
        k = (model, base)
        if k in self._endpoints:
            return self._endpoints[k]
        provider = self._memo.provider(model, base) if self._memo is not None else None
        if provider is None:
            route = self.route(model, api_base, secrets)
            provider = route.provider
            if self._memo is not None:
                self._memo.remember(model, base, provider)
        ep = self._endpoints[k] = endpoint_of(provider, base)
        return ep

    def _fleet_route(self, model: str) -> Route:
        """A fleet's stand-in route (its endpoint is the fleet's identity, for the cache); each deployment is
        resolved here, once, so an unknown model or a missing key is said before the run starts."""
        members = self._members.get(model)
        fleet = self.fleets[model]
        if members is None:
            members = []
            usage = TokenEstimate()   # one model: its deployments learn what a request costs together
            for d in fleet.deployments:
                route = self._resolve(d.model, d.api_base, self.fast, d.api_key)
                members.append(_Member(d, route, Limiter(d.max_parallel or self.concurrency),
                                       Pacer(rpm=d.rpm, tpm=d.tpm, usage=usage)))
            self._members[model] = members
        first = members[0].route
        return Route(model=model, model_name=first.model_name, provider=first.provider, api_base=None,
                     fast=first.fast, endpoint=fleet.identity)

    def served(self, model: str) -> dict[str, int]:
        """{deployment: answers} of a fleet model (what `studio run` and the status bar say); {} otherwise."""
        return {m.d.label: m.d.served for m in self._members.get(model, [])}

    def limiter(self, model: str) -> Limiter:
        """The concurrency limiter of `model` (made on first use: `concurrency` slots, one for the embedded model)."""
        lim = self._limiters.get(model)
        if lim is None:
            cap = 1 if model.startswith("local/") else self.concurrency  # one in-process model, one at a time
            lim = self._limiters[model] = Limiter(cap)
        return lim

    def pacer(self, model: str) -> Pacer:
        """The model's pace (requests and tokens per second), shared by every request of the model."""
        pacer = self._pacers.get(model)
        if pacer is None:
            pacer = self._pacers[model] = Pacer()
        return pacer

    @property
    def in_flight(self) -> int:
        """Requests holding a concurrency slot now (sent, not yet answered): what a status bar shows."""
        return sum(lim.active for lim in self._limiters.values()) + \
            sum(m.lim.active for ms in self._members.values() for m in ms)

    # -- one request -----------------------------------------------------------------------
    def _key(self, req: Request, route: Route | None = None) -> str:
        extra = None
        headers = req.secrets.get("extra_headers") if req.secrets else None
        if headers:  # plain headers may route or change the answer; secret-named ones (keys) never enter the key
            plain = {str(k): v for k, v in headers.items() if not is_secret_name(str(k))}
            extra = {"headers": plain} if plain else None
        endpoint = route.endpoint if route is not None else self.endpoint(req.model, req.api_base, req.secrets)
        return request_key(req.model, req.messages, req.params, req.seed, req.schema, endpoint, extra)

    def _lookup(self, req: Request, key: str) -> dict | None:
        """The cached answer, or a legacy one (cached before endpoints were keyed) taken over for this endpoint."""
        cache = self.cache
        if cache is None:
            return None
        legacy = legacy_key(req.model, req.messages, req.params, req.seed, req.schema) if cache.legacy else None
        return cache.get(key, legacy)

    def _lookup_many(self, keys: list[str]) -> dict[str, dict] | None:
        """The cached answers of a chunk of requests by key, in one query; None when each must be looked up
        alone (legacy entries to take over, or no cache: then `_lookup` answers None at once)."""
        cache = self.cache
        if cache is None or cache.legacy:
            return None
        if len(keys) == 1:
            hit = cache.get(keys[0])
            return {keys[0]: hit} if hit is not None else {}
        return cache.get_many(keys)

    async def _store(self, key: str, value: dict) -> str | None:
        """Commit one answer before it is handed on; the reason when it cannot be stored as text.

        A cache that cannot be written (disk full, locked) loses nothing: the session holds the sample.
        """
        if self.cache is None:
            return None
        try:
            failed = await self.cache.store(key, value)
        except CacheWriteError as exc:
            self.stats.cache_errors += 1
            return exc.reason if exc.unencodable else None
        if failed is not None:
            self.stats.cache_errors += 1
        return None
        try:
            self.cache.put(key, value, soon=True)
        except CacheWriteError as exc:
            self.stats.cache_errors += 1
            return exc.reason if exc.unencodable else None
        return None

    def _from_cache(self, req: Request, key: str, hit: dict) -> Result:
        return Result(req, True, hit.get("output"), hit.get("parsed"), None, hit.get("tokens_in"),
                      hit.get("tokens_out"), hit.get("cost"), hit.get("latency", 0.0), True, 0, key,
                      hit.get("finish_reason"), hit.get("reasoning"), hit.get("flag"), hit.get("paid", 1))

    async def _attempts(self, req: Request, key: str, route: Route) -> Result:
        members = self._members.get(req.model) if self.fleets else None
        fleet = self.fleets[req.model] if members else None
        member: _Member | None = None
        transport = self._fast if route.fast else self._slow
        if members:
            route = members[0].route
        lim = self.limiter(req.model) if not members else members[0].lim
        pacer = self.pacer(req.model) if not members else members[0].pacer
        chars = sum(len(m.get("content") or "") if isinstance(m.get("content"), str) else 200 for m in req.messages)
        max_tokens = req.params.get("max_tokens") or req.params.get("max_completion_tokens")
        attempts = tries = invalid = paid = 0
        bill = _Bill(route)
        sent = req
        t_first = time.monotonic()
        while True:
            attempts += 1
            if members:   # each attempt goes to the deployment the strategy picks now (another after a failure)
                member = _pick(fleet, members, chars, max_tokens)
                route, lim, pacer = member.route, member.lim, member.pacer
                transport = self._fast if route.fast else self._slow
            est = pacer.estimate(chars, max_tokens)
            await lim.acquire()
            try:
                slot = await pacer.acquire(est)  # the provider's pace, right before the wire (no-op until known)
                t0 = time.monotonic()
                pacer.sent(t0)
                self.stats.sent += 1
                reply = await transport.call(route, sent, self.timeout)
            except AttemptError as exc:
                err: AttemptError | None = exc
                if isinstance(exc, RateLimited):  # before the slot is handed on, so the pause holds the next
                    self.stats.rate_limited += 1
                    pacer.observe(exc.headers, t0)
                    if not pacer.on_rate_limit(exc.retry_after, slot):  # paced: no concurrency cut needed
                        lim.on_rate_limit(exc.retry_after)
            except StudioError:
                raise  # a setting the user must fix (e.g. rejected parameters): stops the run, said clearly
            except Exception as exc:  # noqa: BLE001 - a provider library's surprise fails one sample, not the run
                err = Fatal(f"{type(exc).__name__}: {str(exc)[:300]}")
            else:
                err = None
                if reply.headers is not None:  # before the slot is handed on: an empty window pauses the next
                    pacer.observe(reply.headers, t0)
                    if not pacer.known:
                        wait = retry.exhausted_for(reply.headers)
                        if wait:
                            lim.pause(wait)
            finally:
                lim.release()  # also when cancelled by stop(): the slot must come back
            if err is None:
                lim.on_success()
                pacer.on_success(slot)
                pacer.settle(est, chars, reply.tokens_in, reply.tokens_out)
                paid += 1
                bill.add(reply.tokens_in, reply.tokens_out, sent.messages, reply.output)
                latency = time.monotonic() - t0
                parsed = None
                if req.schema is not None:
                    try:
                        parsed = validate(reply.output, req.schema)
                    except Invalid as exc:
                        invalid += 1
                        why = exc.reason
                        cut = reply.flag == "cut-off"  # asked again the same way, it would be cut off again
                        if cut:
                            n = max_tokens or reply.tokens_out
                            why = f"the reply was cut off at {n} max_tokens before its JSON ended: raise max_tokens"
                        if cut or invalid > self.max_invalid:
                            tried = "" if cut and invalid == 1 else f" (after {invalid} tries)"
                            return Result(req, False, reply.output, None, f"{why}{tried}", bill.tokens_in,
                                          bill.tokens_out, bill.cost, latency, False, attempts, key,
                                          reply.finish_reason, reply.reasoning, None, paid)
                        self.stats.retries += 1
                        if req.seed is not None:  # ask again with a different seed, or a seeded model repeats itself
                            sent = Request(req.messages, req.model, req.params, req.seed + 7919 * invalid,
                                           req.schema, None, req.api_base, req.secrets)
                        continue
                result = Result(req, True, reply.output, parsed, None, bill.tokens_in, bill.tokens_out, bill.cost,
                                latency, False, attempts, key, reply.finish_reason, reply.reasoning, reply.flag, paid)
                if member is not None:
                    fleet.answered(member.d, latency)
                    result.endpoint = member.d.label
                unstorable = await self._store(key, {"output": reply.output, "parsed": parsed, "tokens_in": bill.tokens_in,
                                               "tokens_out": bill.tokens_out, "cost": bill.cost, "latency": latency,
                                               "model": req.model, "finish_reason": reply.finish_reason,
                                               "reasoning": reply.reasoning, "flag": reply.flag, "paid": paid})
                if unstorable is not None:  # this one sample fails with the reason; the run goes on
                    result.ok, result.error = False, unstorable
                return result
            if err.tokens_in is not None or err.tokens_out is not None:  # a failed reply the provider billed
                paid += 1
                bill.add(err.tokens_in, err.tokens_out)
            if member is not None and isinstance(err, Transient) and err.reason.startswith("connection failed") \
                    and attempts < 4 * self.max_tries * len(members):
                fleet.failed_connection(member.d)      # a dead server: its request goes to another, at once
                if any(m.d.down_until <= time.monotonic() for m in members):
                    self.stats.retries += 1
                    continue
            rate_limited = isinstance(err, RateLimited)
            if not rate_limited:
                tries += 1  # a rate limit is a pace, not a failed try: it never uses up max_tries
            waited = time.monotonic() - t_first
            if not err.retry or tries >= self.max_tries or (rate_limited and waited > self.max_rate_wait):
                why = f" (after {attempts} tries)" if attempts > 1 else ""
                return Result(req, False, None, None, redact(f"{err.reason}{why}", route.api_key, req.secrets),
                              bill.tokens_in, bill.tokens_out, bill.cost, time.monotonic() - t0, False, attempts, key,
                              err.finish_reason, None, None, paid)
            self.stats.retries += 1
            if rate_limited and pacer.known:
                continue  # the pacer holds it: the pause and a spaced slot of its own (no 429 storm)
            if err.retry_after is not None:
                delay = err.retry_after * (1.0 + 0.1 * (time.monotonic() % 1))  # never earlier than asked
            else:
                delay = retry.backoff(max(1, tries))
            await asyncio.sleep(delay)

    async def complete(self, req: Request) -> Result:
        """One request through the same limiters, retries and cache (used for follow-ups)."""
        key = self._key(req)
        hit = self._lookup(req, key)
        if hit is not None:
            result = self._from_cache(req, key, hit)
        else:
            route = self.route(req.model, req.api_base, req.secrets)
            self._active += 1
            try:
                result = await self._attempts(req, key, route)
            finally:
                self._active -= 1
                if not self._active:
                    await self._fast.aclose()
                    if self.cache is not None:
                        self.cache.flush()
        self.stats.add(result)
        return result

    # -- many requests ---------------------------------------------------------------------
    async def run(self, requests: Iterable[Request] | AsyncIterable[Request]) -> AsyncIterator[Result]:
        """Yield a Result for every request as it completes (cache hits first, at once)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopping = False
        self.stats = Stats()
        queue: asyncio.Queue = asyncio.Queue()
        self._queue = queue
        window = asyncio.Semaphore(max(4 * self.concurrency, 64))
        tasks = self._tasks = set()
        cache = self.cache

        def finished(task: asyncio.Task) -> None:
            tasks.discard(task)
            if task.cancelled():
                window.release()
                queue.put_nowait(_STOPPED)  # wake the consumer so it can see the run is over
                return
            exc = task.exception()
            queue.put_nowait(exc if exc is not None else task.result())

        async def feed() -> None:
            items = _aiter(requests)
            chunk, more, failed = 1, True, None
            try:
                while more and not self._stopping:
                    # a chunk of requests is looked up in the cache with one query (a query each cost more than
                    # the lookup is worth); it grows 1, 2, 4 ... so the first requests leave at once, and each
                    # request is drawn only once the window has room for it (memory stays flat)
                    part: list[Request] = []
                    while len(part) < chunk:
                        await window.acquire()
                        if self._stopping:
                            window.release()
                            more = False
                            break
                        try:
                            part.append(await items.__anext__())
                        except StopAsyncIteration:
                            window.release()
                            more = False
                            break
                        except Exception as exc:  # noqa: BLE001 - what came before it is still sent
                            window.release()
                            more, failed = False, exc
                            break
                    chunk = min(2 * chunk, LOOKUP_CHUNK)
                    keys = [self._key(req) for req in part]   # no litellm import for a cached answer of a routed model
                    hits = self._lookup_many(keys)
                    for req, key in zip(part, keys):
                        hit = hits.get(key) if hits is not None else self._lookup(req, key)
                        if hit is not None:
                            queue.put_nowait(self._from_cache(req, key, hit))
                            continue
                        route = self.route(req.model, req.api_base, req.secrets)
                        task = loop.create_task(self._attempts(req, key, route))
                        tasks.add(task)
                        task.add_done_callback(finished)
                        if len(tasks) <= self.concurrency:   # starting: each request leaves now, not once the
                            await asyncio.sleep(0)           # window (4 x concurrency) is rendered and looked up
                if failed is not None:
                    raise failed
            except Exception as exc:  # noqa: BLE001 - handed to the consumer, raised there
                queue.put_nowait(exc)
            finally:
                queue.put_nowait(_END)

        feeder = self._feeder = loop.create_task(feed())
        fed = False
        self._active += 1
        try:
            while True:
                if fed and not tasks and queue.empty():
                    break
                item = await queue.get()
                if item is _END:
                    fed = True
                    continue
                if item is _STOPPED:
                    continue
                if isinstance(item, BaseException):
                    raise item
                window.release()
                self.stats.add(item)
                yield item
        finally:
            self._stopping = True
            feeder.cancel()
            for task in list(tasks):
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await feeder
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            if cache is not None:
                cache.flush()
            self._queue = None
            self._active -= 1
            if not self._active:
                await self._fast.aclose()

    def stop(self) -> None:
        """Cancel what is in flight and stop admitting; completed results are kept. Thread-safe."""
        loop = self._loop
        if loop is None:
            return
        if _running_loop() is loop:
            self._stop_now()
        else:
            loop.call_soon_threadsafe(self._stop_now)

    def _stop_now(self) -> None:
        self._stopping = True
        if self._feeder is not None:
            self._feeder.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._queue is not None:
            self._queue.put_nowait(_STOPPED)

    async def aclose(self) -> None:
        """Close the HTTP session and flush the cache; call once, when the engine is no longer used."""
        await self._fast.aclose()
        if self.cache is not None:
            self.cache.flush()


@dataclass
class _Member:
    """A fleet deployment as the engine uses it: its route, concurrency limit and pace of its own."""

    d: Any
    route: Route
    lim: Limiter
    pacer: Pacer


def _pick(fleet, members: list[_Member], chars: int, max_tokens: int | None) -> _Member:
    """The deployment for the next attempt. Busy = load (in flight + waiting) per slot, plus the time its pace
    (a declared or learned rate limit) holds the next request back, counted in its own latencies: a deployment
    paced to one request a second is busy however few requests it holds. Requests still queued for a slot have
    not reserved their pace yet: each counts the pace one request uses (else a paced deployment with a queue
    looks free and takes most of the run)."""
    now = time.monotonic()
    busy = {}
    for i, m in enumerate(members):
        queued = len(m.lim._waiters)
        held = m.pacer.backlog(now) + queued * m.pacer.spacing(m.pacer.estimate(chars, max_tokens))
        busy[i] = (m.lim.active + queued) / max(1, int(m.lim.limit)) + held / max(m.d.latency, 0.05)
    d = fleet.pick(busy)
    return next(m for m in members if m.d is d)


class _Bill:
    """Tokens and cost summed over one request's paid attempts; None while nothing is known."""

    __slots__ = ("route", "tokens_in", "tokens_out", "cost", "unpriced")

    def __init__(self, route: Route):
        self.route = route
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.cost: float | None = None
        self.unpriced = False

    def add(self, tin: int | None, tout: int | None, messages: list | None = None,
            output: str | None = None) -> None:
        if tin is None and tout is None and output is not None:  # a reply with no usage: count it, if priced
            tin, tout = self.route.estimate_tokens(messages or [], output)
        if tin is not None:
            self.tokens_in = (self.tokens_in or 0) + tin
        if tout is not None:
            self.tokens_out = (self.tokens_out or 0) + tout
        price = None
        if tin is not None or tout is not None:
            price = self.route.cost(tin or 0, tout or 0)
        if price is None:  # one attempt of unknown price (or usage) makes the sum unknown: never a partial sum
            self.unpriced = True
            self.cost = None
        elif not self.unpriced:
            self.cost = (self.cost or 0.0) + price


_KEYLIKE = re.compile(r"\b(sk|pk|rk|key|gsk|xai)-[A-Za-z0-9_\-]{6,}")


_PATH = re.compile(r"(?:[A-Za-z]:)?[\\/][^\s'\"]*(?:site-packages|dist-packages|lib[\\/]python\d)[^\s'\",)]*")


def redact(text: str, key: str | None, secrets: dict | None = None) -> str:
    """Provider error messages sometimes echo the key (or a template's secret header), and libraries a
    traceback or their file paths: none of it reaches a session or the screen."""
    values = [key, *(v for k, v in (secrets or {}).items() if k != "extra_headers"),
              *((secrets or {}).get("extra_headers") or {}).values()]
    for value in values:
        if isinstance(value, str) and len(value) >= 6:
            text = text.replace(value, "***")
    cut = text.find("Traceback (most recent call last)")
    if cut >= 0:
        text = text[:cut].rstrip(" :\n") or "the provider library failed without saying why"
    text = _PATH.sub("<library>", text)
    return _KEYLIKE.sub(lambda m: m.group(1) + "-***", text)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
