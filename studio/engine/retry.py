"""Back-off and the rate-limit headers providers send (Retry-After, retry-after-ms, x-ratelimit-*)."""

from __future__ import annotations

import random
import re
import time
from email.utils import parsedate_to_datetime
from typing import Mapping

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential back-off with jitter (half fixed, half random) for the attempt just failed (1-based)."""
    delay = min(cap, base * (2 ** (attempt - 1)))
    return delay / 2 + random.uniform(0, delay / 2)


def parse_duration(text: str) -> float | None:
    """'1.5', '20ms', '6m0s', '1h2m3s' -> seconds."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in parts)


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait, from Retry-After (seconds or HTTP date), retry-after-ms or x-ratelimit-reset-*."""
    if not headers:
        return None
    get = headers.get
    ms = get("retry-after-ms") or get("Retry-After-Ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    ra = get("retry-after") or get("Retry-After")
    if ra:
        secs = parse_duration(ra)
        if secs is not None:
            return secs
        try:
            return max(0.0, parsedate_to_datetime(ra).timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    return exhausted_for(headers, always=True)


def exhausted_for(headers: Mapping[str, str] | None, *, always: bool = False) -> float | None:
    """When x-ratelimit-remaining-* says nothing is left, how long until the window resets."""
    if not headers:
        return None
    waits = []
    for kind in ("requests", "tokens"):
        remaining = headers.get(f"x-ratelimit-remaining-{kind}")
        reset = headers.get(f"x-ratelimit-reset-{kind}")
        if reset is None or (remaining is None and not always):
            continue
        try:
            empty = remaining is not None and float(remaining) <= 0
        except ValueError:
            empty = False
        if empty or (always and remaining is None):
            secs = parse_duration(reset)
            if secs is not None:
                waits.append(secs)
    return max(waits) if waits else None
