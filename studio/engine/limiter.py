"""How fast one model is asked.

`Pacer` keeps to the rate limits a provider states (requests and tokens per second, read from the
x-ratelimit-* headers on every reply, a 429 and its Retry-After included), or, where it states none,
to a pace guessed from a pattern of 429s; `Limiter` bounds concurrency (additive increase, and a
multiplicative decrease on 429s while no pace is known).

Limiter: starts at the configured cap. A 429 halves the limit (at most once per cool-down window, so one
burst of 429s counts once) and pauses new starts until Retry-After has passed; each retried request
itself always waits at least its Retry-After (the engine does that). Every success adds
1/limit, so the limit climbs back by about one per round of requests.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from studio.engine.retry import parse_duration


class Limiter:


    """Bounds one model's requests in flight: at most `cap` slots (`acquire` / `release`, first come first
    served); 429s halve `limit` (not below `floor`) while no pace is known and pause new slots for a Retry-After."""

    def __init__(self, cap: int, *, floor: int = 1):
        self.cap = max(1, int(cap))
        self.floor = max(1, min(floor, self.cap))
        self.limit = float(self.cap)
        self.active = 0
        self.paused_until = 0.0
        self.rate_limited = 0
        self._waiters: deque[asyncio.Future] = deque()
        self._last_cut = 0.0
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self) -> None:
        """Wait for a slot (first come, first served; also waits out a rate-limit pause). Pair with release()."""
        if not self._waiters and self.active < int(self.limit) and time.monotonic() >= self.paused_until:
            self.active += 1
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._schedule_wake()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed to us just as we were cancelled
            raise

    def release(self) -> None:
        """Give a slot back and wake the next waiter."""
        self.active -= 1
        if self._waiters:
            self._wake()

    def _wake(self) -> None:
        now = time.monotonic()
        if now < self.paused_until:
            self._schedule_wake()
            return
        while self._waiters and self.active < int(self.limit):
            fut = self._waiters.popleft()
            if fut.done():
                continue
            self.active += 1
            fut.set_result(None)

    def _schedule_wake(self) -> None:
        delay = self.paused_until - time.monotonic()
        if delay <= 0:
            if self.active < int(self.limit):
                self._wake()
            return
        if self._timer is None or self._timer.cancelled():
            def fire() -> None:
                self._timer = None
                self._wake()
            self._timer = asyncio.get_running_loop().call_later(delay, fire)

    def on_rate_limit(self, retry_after: float | None) -> None:
        """A 429 arrived (`retry_after`: seconds the server asked for, or None): the first of a burst halves the
        limit and pauses new starts; later ones in the same burst only count."""
        now = time.monotonic()
        self.rate_limited += 1
        if now - self._last_cut > max(1.0, retry_after or 0.0):
            # the first 429 of a burst: halve, and hold new starts for Retry-After. Later 429s in the
            # same window only delay their own retry, so one burst is not punished many times over.
            self.limit = max(float(self.floor), self.limit / 2)
            self._last_cut = now
            if retry_after:
                self.paused_until = max(self.paused_until, now + retry_after)

    def pause(self, seconds: float) -> None:
        """x-ratelimit-remaining hit zero: hold new starts until the window resets."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def on_success(self) -> None:
        """A request succeeded: grow the limit back towards the cap (additive increase)."""
        if self.limit < self.cap:
            self.limit = min(float(self.cap), self.limit + 1.0 / self.limit)
            if self._waiters:
                self._wake()


class _Rate:
    """One provider limit (requests or tokens per second) as a GCRA token bucket, learned from headers.

    `tat` is when the bucket would be full again; a cost c may go at t when the bucket holds c then,
    i.e. t >= tat - (capacity - c) / rate. Reserving moves `tat` on at once, so waiters get distinct,
    spaced slots: nobody wakes at the same moment as everybody else (no 429 storm).
    """

    __slots__ = ("rate", "capacity", "tat", "guessed", "ceiling", "_estimates")

    SAFETY = 0.97  # pace a little under the limit: the server's clock and ours differ

    def __init__(self) -> None:
        self.rate: float | None = None
        self.capacity = 0.0
        self.tat = 0.0
        self.guessed = False  # the rate comes from 429s (no headers): adjusted by AIMD, not read
        self.ceiling: float | None = None   # a rate the person declared (per second): never exceeded
        self._estimates: deque[float] = deque(maxlen=64)

    def declare(self, per_minute: int) -> None:
        """A limit the person stated (a models file's rpm or tpm): paced from the first request, evenly spaced
        with no burst, so neither a per-minute nor a sliding one-second window on the server is overrun even
        when requests reach it a few milliseconds out of order."""
        self.ceiling = per_minute / 60.0
        self.rate = self.ceiling * self.SAFETY
        self.capacity = 1.0
        self.guessed = False

    def reserve(self, cost: float, now: float) -> float:
        if not self.rate:
            return now
        c = min(cost, self.capacity)
        t = max(now, self.tat - (self.capacity - c) / self.rate)
        self.tat = max(self.tat, t) + cost / self.rate
        return t

    def backlog(self, now: float) -> float:
        """Seconds until a request of cost 1 could go (0 when the bucket has room or no rate is known)."""
        if not self.rate:
            return 0.0
        return max(0.0, self.tat - (self.capacity - 1.0) / self.rate - now)

    def settle(self, delta: float) -> None:
        """The request cost `delta` more (or less) than reserved."""
        if self.rate:
            self.tat += delta / self.rate

    def learn(self, limit: float, remaining: float, reset: float, sent_at: float) -> None:
        """x-ratelimit-limit/remaining/reset: the refill rate is what was used over the time to refill it.

        `remaining` is rounded down, which makes the estimate high when little is used: only readings
        with a good part of the bucket used count, and the lowest recent one is taken."""
        if limit <= 0:
            return
        used = limit - remaining
        if used >= max(2.0, 0.05 * limit) and reset > 0:
            self._estimates.append(used / reset)
            self.rate = min(self._estimates) * self.SAFETY
            self.capacity = limit
            if self.ceiling is not None and self.rate > self.ceiling * self.SAFETY:
                self.rate, self.capacity = self.ceiling * self.SAFETY, 1.0   # the declared limit holds
            self.guessed = False
        if self.rate:  # the server's view of the bucket (as the request arrived) when it is emptier than ours
            self.tat = max(self.tat, sent_at + max(0.0, self.capacity - remaining) / self.rate)

    def guess(self, rate: float) -> None:
        self.rate = max(0.5, rate if self.ceiling is None else min(rate, self.ceiling * self.SAFETY))
        self.capacity = max(1.0, self.rate * 0.05)  # no burst: evenly spaced until the limit is known
        self.guessed = True

    def empty(self, now: float) -> None:
        if self.rate:
            self.tat = max(self.tat, now + self.capacity / self.rate)


class TokenEstimate:
    """What a request of one model will be charged, learned from the usage its replies report: characters per
    prompt token and a moving average of output tokens. A fleet's deployments serve one model, so they share
    one: a deployment whose first reply has not come back yet does not reserve its pace with a cold guess."""

    __slots__ = ("chars_per_token", "out_tokens")

    def __init__(self) -> None:
        self.chars_per_token = 4.0
        self.out_tokens: float | None = None

    def tokens(self, chars: int, max_tokens: int | None) -> float:
        """Tokens a request of `chars` prompt characters will be charged (before its reply: min(max_tokens, 256)
        output tokens)."""
        out = self.out_tokens if self.out_tokens is not None else float(min(max_tokens or 256, 256))
        return chars / self.chars_per_token + out

    def learn(self, chars: int, tokens_in: int | None, tokens_out: int | None) -> None:
        """One reply's usage (either may be None: not reported)."""
        if tokens_in:
            seen = max(0.5, chars / tokens_in)
            first = self.out_tokens is None
            self.chars_per_token = seen if first else 0.9 * self.chars_per_token + 0.1 * seen
        if tokens_out is not None:
            self.out_tokens = tokens_out if self.out_tokens is None else 0.9 * self.out_tokens + 0.1 * tokens_out


class Pacer:
    """A model's requests and tokens per second, paced to the limits its provider states.

    Learns each limit from the `x-ratelimit-limit/remaining/reset-{requests,tokens}` headers every
    reply carries, and keeps to it across all requests of the model; a 429 empties the bucket and
    pauses for its Retry-After. Until a limit is known nothing is paced (the Limiter's adaptive
    concurrency handles providers that send no headers).
    """

    def __init__(self, *, rpm: int | None = None, tpm: int | None = None, usage: TokenEstimate | None = None) -> None:
        """`rpm`, `tpm`: limits the person declared (requests / tokens per minute, e.g. a models file's
        deployment); the pace starts there and a lower one read from the provider's headers wins. `usage`: the
        token estimate, shared by the pacers of one model's deployments (a new one if not given)."""
        self.requests = _Rate()
        self.tokens = _Rate()
        if rpm:
            self.requests.declare(rpm)
        if tpm:
            self.tokens.declare(tpm)
        self.paused_until = 0.0
        self._sent: deque[float] = deque()  # send times in the last second (until a pace is known)
        self._cut_at = 0.0
        self._grown_at = 0.0
        self._ok = self._limited = 0  # replies to requests given a slot since the last guess
        self.usage = usage or TokenEstimate()

    def backlog(self, now: float) -> float:
        """Seconds the pace holds the next request back (requests or tokens, whichever is later; 0 unpaced):
        what a fleet weighs when it picks a deployment."""
        return max(self.requests.backlog(now), self.tokens.backlog(now), self.paused_until - now, 0.0)

    def spacing(self, tokens: float) -> float:
        """Seconds of the pace one more request of `tokens` uses up (0 unpaced): what a request still queued
        for a deployment will add to its backlog once it reserves its slot."""
        gaps = [0.0]
        if self.requests.rate:
            gaps.append(1.0 / self.requests.rate)
        if self.tokens.rate:
            gaps.append(tokens / self.tokens.rate)
        return max(gaps)

    @property
    def known(self) -> bool:
        """True once a request or token rate is known (from headers, or guessed from 429s)."""
        return bool(self.requests.rate or self.tokens.rate)

    def estimate(self, chars: int, max_tokens: int | None) -> float:
        """Tokens a request will be charged: its prompt's length, plus the replies seen so far."""
        return self.usage.tokens(chars, max_tokens)

    async def acquire(self, tokens: float) -> float:
        """Wait for this request's slot; returns when the slot was given (what a later 429 is judged by)."""
        while True:
            now = time.monotonic()
            start = max(now, self.paused_until)  # slots after a pause are spaced too, not all at its end
            t = max(start, self.requests.reserve(1, start), self.tokens.reserve(tokens, start))
            if t <= now:
                return now
            await asyncio.sleep(t - now)
            if time.monotonic() >= self.paused_until - 1e-3:
                return now
            # a 429 paused the model while we slept: queue again (the reserved slot stays spent: safer)

    def observe(self, headers: Any, sent_at: float) -> None:
        """Learn from one reply's headers (a 200 or a 429)."""
        if not headers:
            return
        get = headers.get
        for kind, rate in (("requests", self.requests), ("tokens", self.tokens)):
            limit, remaining, reset = get(f"x-ratelimit-limit-{kind}"), get(f"x-ratelimit-remaining-{kind}"), \
                get(f"x-ratelimit-reset-{kind}")
            if limit is None or remaining is None or reset is None:
                continue
            try:
                lim, rem = float(limit), float(remaining)
            except ValueError:
                continue
            secs = parse_duration(str(reset))
            if secs is not None:
                rate.learn(lim, rem, secs, sent_at)

    def settle(self, estimated: float, chars: int, tokens_in: int | None, tokens_out: int | None) -> None:
        """A reply's usage: correct the token bucket by what the estimate missed, and learn for the next."""
        self.usage.learn(chars, tokens_in, tokens_out)
        if tokens_in is not None and tokens_out is not None:
            self.tokens.settle(tokens_in + tokens_out - estimated)

    def sent(self, now: float) -> None:
        """A request went out (counted only while no pace is known: what the first 429 guesses from)."""
        if not self.known:
            sent = self._sent
            sent.append(now)
            while sent and sent[0] < now - 1.0:
                sent.popleft()

    def on_success(self, slot_at: float) -> None:
        """A request given the slot at `slot_at` succeeded: counted against the 429s since the last guess (a
        new guess needs 10 % of replies limited), and a guessed rate probes upwards (2 % a second)."""
        if slot_at > self._cut_at:
            self._ok += 1
        if self.requests.guessed:  # probe upwards, 2 % a second, whatever the rate
            now = time.monotonic()
            self.requests.rate *= 1.0 + 0.02 * min(1.0, now - self._grown_at)
            self._grown_at = now

    def on_rate_limit(self, retry_after: float | None, slot_at: float) -> bool:
        """A 429; returns whether the model is paced now. With no stated limit the pace is guessed once
        429s are a pattern, not a blip (3 or more, and 10 % of the requests given a slot since the last
        guess): what went out in the last second, less a tenth; then a quarter less each time the pattern
        recurs. A burst of 429s to requests already on their way counts once."""
        now = time.monotonic()
        stated = (self.requests.rate and not self.requests.guessed) or self.tokens.rate
        if not stated:
            if slot_at > self._cut_at:
                self._limited += 1
            if self._limited >= 3 and self._limited >= 0.1 * (self._limited + self._ok):
                if not self.requests.rate:
                    while self._sent and self._sent[0] < now - 1.0:
                        self._sent.popleft()
                    self.requests.guess(0.9 * len(self._sent))
                else:
                    self.requests.guess(self.requests.rate * 0.75)
                self._cut_at = self._grown_at = now
                self._ok = self._limited = 0
            if not self.known:
                return False
        self.requests.empty(now)
        self.tokens.empty(now)
        if retry_after:
            self.paused_until = max(self.paused_until, now + retry_after)
        return True
