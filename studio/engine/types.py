"""What goes into the engine and what comes out: plain data, no litellm."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studio.core.errors import StudioError


class EngineError(StudioError):
    """A generation setting the user can fix (unknown model, bad api_base, ...)."""


@dataclass(slots=True)
class Request:
    """One chat completion to make. `meta` is the caller's (e.g. the Fill); it is never sent or cached."""

    messages: list[dict]
    model: str
    params: dict = field(default_factory=dict)
    seed: int | None = None
    schema: dict | None = None
    meta: Any = None
    api_base: str | None = None
    # The template's secret settings, read from the environment (studio.core.secrets.resolve_params):
    # {"api_key": ..., "extra_headers": {...}, other secret names}. Sent, never cached, stored or shown.
    secrets: dict | None = field(default=None, repr=False)


@dataclass(slots=True)
class Result:
    """The outcome of one Request: `ok` with the output (and `parsed` JSON in structured mode), or an `error`
    saying why; tokens and cost (USD, None when unpriced) summed over its paid calls (`paid`), latency in s,
    `cached` when it came from the request cache, `attempts` HTTP calls made, and the reply's finish_reason,
    reasoning, flag and answering endpoint."""

    request: Request
    ok: bool
    output: str | None = None
    parsed: Any = None
    error: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    latency: float = 0.0
    cached: bool = False
    attempts: int = 0  # HTTP calls made (429s and dropped connections included)
    key: str = ""
    finish_reason: str | None = None
    reasoning: str | None = None
    flag: str | None = None  # "cut-off", "filtered", "refusal": text, but not a clean sample
    paid: int = 0  # calls that got a reply the provider bills (re-asks, billed failures); tokens/cost sum them
    endpoint: str | None = None  # a fleet's deployment that answered (its api_base); None: the route's own


# -- how a failed attempt is classified (raised by transports, handled by the engine) ----------
class AttemptError(Exception):
    """A failed attempt; `retry` says whether trying again can help."""

    retry = True

    def __init__(self, reason: str, *, retry_after: float | None = None, tokens_in: int | None = None,
                 tokens_out: int | None = None, headers: Any = None, finish_reason: str | None = None):
        super().__init__(reason)
        self.headers = headers  # a 429's x-ratelimit-* headers teach the pacer too
        self.reason = reason
        self.retry_after = retry_after
        self.tokens_in = tokens_in  # a failed reply the provider billed still counts
        self.tokens_out = tokens_out
        self.finish_reason = finish_reason  # the provider's, where it gave one: kept on the failed sample too


class RateLimited(AttemptError):
    """429 or a provider rate-limit error: back off the whole model, honour Retry-After."""


class Transient(AttemptError):
    """5xx, timeout, dropped connection, unreadable reply: retry with back-off."""


class Fatal(AttemptError):
    """Bad request, bad key, unknown model: retrying cannot help."""

    retry = False


class Unanswerable(AttemptError):
    """A reply that will come back the same for the same request (empty, tool calls only, ...): not retried."""

    retry = False


class Invalid(AttemptError):
    """Structured mode: the output is not JSON or does not match the schema."""
