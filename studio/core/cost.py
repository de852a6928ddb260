"""What a sample cost, and the one way every surface shows a cost.

The rule (`studio run`'s summary and progress, `studio show`, `studio report`, the TUI's status bar, review pane
and detail all show costs through `money` and `Cost.text`):
- a known cost is money (`$0.0123`; a tiny one keeps two significant digits, `$0.000052`, never `$0.0000`);
- an unknown cost (a model litellm has no price for) says `unknown` and is never summed as $0: a total over
  samples some of which are unknown says how many (`$0.02 + unknown (3 samples without a price)`);
- a sample answered from the request cache cost $0 and the total says how many were (`· 5 cached ($0)`);
  so does a failed request nobody billed, and a render-mode sample (no model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def cost_of(cost: float | None, *, cached: bool = False, failed: bool = False, paid: int = 0,
            model: str | None = None) -> float | None:
    """What one sample (or one engine Result) cost this session, in USD; None when unknown.

    `cost` is the stored or priced cost (None: litellm has no price), `cached` whether the answer came from
    the request cache ($0), `failed` and `paid` (paid calls, the sample's `attempts`) whether anyone billed a
    failure (an unpaid failure costs $0), `model` "render" for render mode ($0)."""
    if cached or model == "render":
        return 0.0
    if cost is None and failed and not paid:
        return 0.0
    return cost


def sample_cost(sample: dict[str, Any]) -> float | None:
    """`cost_of` a stored sample record (its cost, cached, status, attempts and model fields)."""
    return cost_of(sample.get("cost"), cached=bool(sample.get("cached")), failed=sample.get("status") == "failed",
                   paid=sample.get("attempts") or 0, model=sample.get("model"))


def money(cost: float | None) -> str:
    """A cost in USD as text: `unknown` for None, `$0` for nothing, `$12.34` from a dollar up, 4 decimals
    from a cent up, else two significant digits (`$0.000052`) so a known small cost never reads `$0.0000`.

    The same total summed in another order (9.449999999999999e-05 or 9.45e-05) reads the same: the float's
    noise is dropped (12 significant digits) and a half rounds up, so the run summary and `studio show` agree."""
    if cost is None:
        return "unknown"
    value = Decimal(f"{cost:.12g}")
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        places = 2
    elif abs(value) >= Decimal("0.01"):
        places = 4
    else:
        places = 1 - math.floor(math.log10(abs(value)))
        if places > 10:
            return "<$0.0000000001"
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"${rounded:,.{places}f}" if places == 2 else f"${rounded:.{places}f}"


@dataclass
class Cost:
    """A cost summed over samples: `known` USD over the samples whose cost is known (`priced` of them, the
    `cached` ones among them at $0) and `unknown`, the count of samples without a price (never summed)."""

    known: float = 0.0
    priced: int = 0
    unknown: int = 0
    cached: int = 0

    def add(self, cost: float | None, cached: bool = False) -> None:
        """Count one sample whose cost (`cost_of`) is `cost` (None: unknown); `cached` if from the cache."""
        if cost is None:
            self.unknown += 1
        else:
            self.known += cost
            self.priced += 1
        if cached:
            self.cached += 1

    @property
    def total(self) -> float | None:
        """The sum in USD, or None when any sample's cost is unknown (a partial sum is not the total)."""
        return None if self.unknown else self.known

    def per(self, n: int) -> str:
        """The cost per one of `n` things (e.g. accepted samples) as text: `—` when n is 0, `unknown` when
        any cost is unknown."""
        if not n:
            return "—"
        return money(None if self.unknown else self.known / n)

    def text(self, short: bool = False) -> str:
        """The rule as one phrase: `$0.0123`, `unknown (3 samples without a price)`,
        `$0.02 + unknown (3 samples without a price)`, each followed by `· 5 cached ($0)` when some were.
        `short` (the status bar): `$0.0123`, `unknown`, `$0.02 + 3 unknown`, then ` (5 cached)`."""
        if self.unknown:
            if short:
                out = f"{money(self.known)} + {self.unknown:,} unknown" if self.known else "unknown"
            else:
                head = f"{money(self.known)} + unknown" if self.known else "unknown"   # $0 known adds nothing
                out = f"{head} ({self.unknown:,} sample{'s' if self.unknown != 1 else ''} without a price)"
        else:
            out = money(self.known)
        if self.cached:
            out += f" ({self.cached:,} cached)" if short else f" · {self.cached:,} cached ($0)"
        return out


def sample_cost_text(sample: dict[str, Any]) -> str:
    """One sample's cost as the review pane and detail show it: `$0.000052`, `unknown`, `$0 (cached)`."""
    text = money(sample_cost(sample))
    return text + " (cached)" if sample.get("cached") else text
