"""Status bar: model, in-flight/done/failed, tokens, cost and the session's accept rate, always visible."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from studio.core.cost import Cost
from studio.analysis.tables import plain
from studio.tui.format import accept_rate
from studio.tui.guard import guarded


@guarded
class StatusBar(Static):
    """One line: model, run counts, tokens, cost, accept rate (styles in statusbar.tcss)."""

    model: reactive[str] = reactive("render")
    run: reactive[dict] = reactive(dict, always_update=True)
    counts: reactive[dict] = reactive(dict, always_update=True)

    def render(self) -> Text:
        r = self.run or {}
        c = self.counts or {}
        state = "running" if r.get("running") else ("stopped" if r.get("stopped") else "idle")
        money = Cost(r.get("cost") or 0.0, unknown=r.get("cost_unknown") or 0,
                     cached=r.get("cached") or 0).text(short=True)   # the one rule (core.cost)
        review = (f"✓{c.get('accepted', 0)} ✗{c.get('rejected', 0)} ·{c.get('pending', 0)} !{c.get('failed', 0)}"
                  f" accept {accept_rate(c)}")
        if self.size.width and self.size.width < 110:
            return plain(f"{self.model} │ {state} {r.get('in_flight', 0)}/{r.get('done', 0)}/{r.get('failed', 0)} "
                         f"│ {r.get('tokens', 0):,} tok {money} │ {review}")
        return plain(f"{self.model} · {state} {r.get('in_flight', 0)} in flight, {r.get('done', 0)} done, "
                     f"{r.get('failed', 0)} failed · {r.get('tokens', 0):,} tok {money} · {review}")

    def set_run(self, **fields: Any) -> None:
        self.run = {**self.run, **fields}
