"""Status bar: model, in-flight/done/failed, tokens, cost, the session's counts (✓ ✗ · ! and ⚑ flagged) and
accept rate, and during a fleet run how many answers each deployment served; always visible."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from studio.core.cost import Cost
from studio.analysis.tables import plain
from studio.tui.format import accept_rate
from studio.tui.guard import guarded


def _short(deployment: str) -> str:
    """A fleet deployment in as few characters as tell it apart: its api_base's host:port (else the label)."""
    from urllib.parse import urlsplit

    try:
        return urlsplit(deployment).netloc or deployment
    except ValueError:
        return deployment


@guarded
class StatusBar(Static):
    """One line: model, run counts, tokens, cost, accept rate (styles in statusbar.tcss)."""

    model: reactive[str] = reactive("render")
    run: reactive[dict] = reactive(dict, always_update=True)
    counts: reactive[dict] = reactive(dict, always_update=True)
    flags: reactive[dict] = reactive(dict, always_update=True)   # {flag: n} of the session (the store's index)
    cost: reactive[Cost | None] = reactive(None, always_update=True)   # the session's, as `studio show` says it

    def render(self) -> Text:
        r = self.run or {}
        c = self.counts or {}
        state = "running" if r.get("running") else ("stopped" if r.get("stopped") else "idle")
        # the whole session's cost, like ✓ ✗ · (the store's index, recounted with them); before the first
        # count, what this studio's runs added. Tokens: this studio's runs (the index keeps no tokens).
        spent = self.cost if self.cost is not None else Cost(r.get("cost") or 0.0, unknown=r.get("cost_unknown") or 0,
                                                             cached=r.get("cached") or 0)
        money = spent.text(short=True)   # the one rule (core.cost)
        narrow = bool(self.size.width and self.size.width < 110)
        flagged = sum(self.flags.values())
        flags = "" if not flagged else f" ⚑{flagged}" if narrow else \
            f" ⚑{flagged} ({', '.join(f'{n} {f}' for f, n in self.flags.items())})"
        review = (f"✓{c.get('accepted', 0)} ✗{c.get('rejected', 0)} ·{c.get('pending', 0)} !{c.get('failed', 0)}"
                  f"{flags} accept {accept_rate(c)}")
        served = r.get("served") or {}
        fleet = "" if len(served) < 2 else \
            (" │ " if narrow else " · served ") + " ".join(f"{_short(k)}:{v}" for k, v in served.items())
        if narrow:
            return plain(f"{self.model} │ {state} {r.get('in_flight', 0)}/{r.get('done', 0)}/{r.get('failed', 0)} "
                         f"│ {r.get('tokens', 0):,} tok {money} │ {review}{fleet}")
        return plain(f"{self.model} · {state} {r.get('in_flight', 0)} in flight, {r.get('done', 0)} done, "
                     f"{r.get('failed', 0)} failed · {r.get('tokens', 0):,} tok {money} · {review}{fleet}")

    def set_run(self, **fields: Any) -> None:
        self.run = {**self.run, **fields}
