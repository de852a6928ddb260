"""The review pane: the selected sample's verdict, flag, tags (keys 1–9), note and slots, then its output
(or, with `p`, its prompt), scrolled with J/K inside the pane — so a sample is read and judged without
leaving the review keys (issue 16 §1).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from studio.core.display import screen_text
from studio.tui.format import body_text, flag_line, money, short_version, status_label
from studio.tui.widgets.stream import REVIEW_BINDINGS
from studio.tui.guard import guarded


@guarded
class TaggerPane(Widget, can_focus=True):
    """Redraws in place (no layout pass) on every key, so review stays fast; the body is wrapped once per
    sample, view and width, and scrolling only picks other lines of it."""

    BINDINGS = REVIEW_BINDINGS

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.labels: list[str] = []
        self.sample: dict[str, Any] | None = None
        self.view = "output"          # or "prompt"
        self.scroll = 0               # first body line shown
        self._body_key: tuple | None = None
        self._body_lines: list[Text] = []
        self._page = 1
        self._text = Text("")

    # -- what is shown --------------------------------------------------------------------------------
    def show(self, sample: dict[str, Any] | None, labels: list[str] | None = None) -> None:
        if labels is not None:
            self.labels = list(labels)
        if (sample or {}).get("id") != (self.sample or {}).get("id"):
            self.scroll = 0
        self.sample = sample
        self._update()

    def toggle_view(self) -> None:
        self.view = "prompt" if self.view == "output" else "output"
        self.scroll = 0
        self._update()

    def scroll_body(self, direction: int) -> None:
        """A pane down (1) or up (-1), one line kept for context; stops at the ends."""
        step = max(1, self._page - 1)  # a page, keeping one line of context
        last = max(0, len(self._body_lines) - self._page)
        self.scroll = max(0, min(last, self.scroll + direction * step))
        self._update()

    def on_resize(self) -> None:
        self._update()

    # -- drawing --------------------------------------------------------------------------------------
    def _head(self) -> Text:
        text = Text()
        s = self.sample
        tags = set((s or {}).get("tags") or [])
        if s is None:
            text.append("no sample selected\n")
        else:
            text.append(f"#{s.get('id')} ", style="bold")
            text.append(status_label(s.get("status", "pending")), style="bold")
            flag = flag_line(s)
            if flag:
                text.append(f"  {flag}", style="bold reverse")
            tokens = (s.get("tokens_in") or 0) + (s.get("tokens_out") or 0)
            version = short_version(s.get("template_version"))
            version = version if " " in version else f"v {version}"  # "v1 df15be", or "v df15be" unnamed
            text.append(f"  {version}  {tokens} tok {money(s)}\n")
        for i, label in enumerate(self.labels[:9], start=1):
            mark = "[x]" if label in tags else "[-]"
            text.append(f"{i}{mark}{screen_text(label)}", style="bold" if label in tags else "")
            text.append(" ")
        text.append("\n")
        if s is None:
            return text
        if s.get("note"):
            text.append(f"note: {screen_text(str(s['note']))}\n", style="italic")
        return text

    def _slots_line(self) -> str:
        """The sample's slot values and persona attributes, one paragraph ("" when it has none)."""
        s = self.sample or {}
        slots = ", ".join(f"{k}={v}" for k, v in (s.get("slots") or {}).items())
        persona = s.get("persona")
        if isinstance(persona, dict) and persona:
            slots += ("; " if slots else "") + "persona " + ", ".join(
                f"{k}={v}" for k, v in persona.items() if k != "text")
        return screen_text(slots.replace("\n", " ")[:400]) if slots else ""

    def _body(self, width: int) -> list[Text]:
        s = self.sample or {}
        key = (s.get("id"), self.view, width, self.size.height >= 24, s.get("output"), s.get("status"), id(s.get("messages")))
        if key != self._body_key:
            self._body_key = key
            view = "both" if self.view == "output" and self.size.height >= 24 else self.view
            body = body_text(s, view) if self.sample is not None else Text("")
            self._body_lines = list(body.wrap(self.app.console, width, overflow="fold")) if width > 0 else []
        return self._body_lines

    def render(self) -> Text:
        return self._text

    def _update(self) -> None:
        """Lay out the head and the visible body lines for the pane's size (render only returns them)."""
        self._text = self._lay_out()
        self.refresh()

    def _lay_out(self) -> Text:
        width, height = self.size.width, self.size.height
        if width <= 0 or height <= 0:
            return Text("")
        head = list(self._head().wrap(self.app.console, width, overflow="ellipsis", no_wrap=False))
        while head and not head[-1].plain:
            head.pop()
        slots = self._slots_line()
        if slots and self.sample is not None:
            # at most 2 lines of slot values and persona at 80x24 (4 when taller), the last ending in … when
            # more is left (enter shows them all): the text under judgement keeps the pane
            lines = list(Text(slots, style="italic").wrap(self.app.console, width, overflow="fold"))
            most = 2 if height < 16 else 4
            if len(lines) > most:
                lines = lines[:most]
                last = lines[-1]
                last.truncate(max(1, width - 1))
                last.append("…")
            head += lines
        # keep at least a third of the pane (and 3 lines) for the text under judgement
        keep = min(len(head), max(1, height - max(3, height // 3)))
        if self.sample is not None and keep < len(head):
            head = head[:keep]
        lines = self._body(width)
        room = max(0, height - len(head))
        self._page = max(1, room)
        self.scroll = max(0, min(self.scroll, max(0, len(lines) - room)))
        shown = lines[self.scroll: self.scroll + room]
        self._subtitle(len(lines), room)
        return Text("\n").join(head + shown)

    def _subtitle(self, total: int, room: int) -> None:
        if self.sample is None:
            subtitle = ""
        else:
            other = "prompt" if self.view == "output" else "output"
            where = (f"{self.scroll + 1}–{min(total, self.scroll + room)} of {total} · J/K scroll · "
                     if total > room else "")
            subtitle = f"{self.view} {where}p {other}"
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle
