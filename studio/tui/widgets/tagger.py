"""Feedback tagger pane: the selected sample's verdict, tags (keys 1–9 with the session's labels) and note."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from studio.tui.format import first_line, money, short_version, status_label
from studio.tui.widgets.stream import REVIEW_BINDINGS


class TaggerPane(Widget, can_focus=True):
    """Redraws in place (no layout pass) on every key, so review stays fast."""

    BINDINGS = REVIEW_BINDINGS

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.labels: list[str] = []
        self.sample: dict[str, Any] | None = None
        self._text = Text("")

    def show(self, sample: dict[str, Any] | None, labels: list[str] | None = None) -> None:
        if labels is not None:
            self.labels = list(labels)
        self.sample = sample
        self._text = self._render_text()
        self.refresh()

    def render(self) -> Text:
        return self._text

    def _render_text(self) -> Text:
        """Verdict line, the 1–9 tag keys, note, slots, then the output (clipped by the pane)."""
        text = Text()
        s = self.sample
        tags = set((s or {}).get("tags") or [])
        if s is None:
            text.append("no sample selected\n")
        else:
            text.append(f"#{s.get('id')} ", style="bold")
            text.append(status_label(s.get("status", "pending")), style="bold")
            text.append(f"  v {short_version(s.get('template_version'))}")
            tokens = (s.get("tokens_in") or 0) + (s.get("tokens_out") or 0)
            text.append(f"  {tokens} tok {money(s.get('cost'))}\n")
        for i, label in enumerate(self.labels[:9], start=1):
            mark = "[x]" if label in tags else "[-]"
            text.append(f"{i}{mark}{label}", style="bold" if label in tags else "")
            text.append(" ")
        text.append("\n")
        if s is None:
            return text
        if s.get("note"):
            text.append(f"note: {s['note']}\n", style="italic")
        slots = ", ".join(f"{k}={v}" for k, v in (s.get("slots") or {}).items())
        if slots:
            text.append(slots[:400] + "\n", style="italic")
        text.append(first_line(s)[:2000])
        return text
