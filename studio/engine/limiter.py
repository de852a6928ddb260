"""Adaptive concurrency for one model: additive increase, multiplicative decrease on rate limits.

Starts at the configured cap. A 429 halves the limit (at most once per cool-down window, so one
burst of 429s counts once) and pauses new starts until Retry-After has passed; each retried request
itself always waits at least its Retry-After (the engine does that). Every success adds
1/limit, so the limit climbs back by about one per round of requests.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque


class Limiter:
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
