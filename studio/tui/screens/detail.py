"""Everything about one sample: prompt, output, slot values, persona, verify result, tokens and cost.

It takes every review key (issue 16 §1): a/x/space/1–9/n/u act on the sample shown, j/k move to the next or
previous one, so a long sample is read and judged here without going back; up/down/pgup/pgdn scroll.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from studio.core.display import screen_text
from studio.tui.format import flag_line, money, short_version, status_label, structured_json
from studio.tui.guard import guarded


def detail_text(s: dict[str, Any], labels: list[str] | None = None) -> Text:
    t = Text()

    def add(text: str, style: str = "") -> None:   # data: control characters made visible
        t.append(screen_text(text), style=style)

    def head(title: str) -> None:
        add(f"\n── {title} ", style="bold")
        add("\n")

    add(f"sample #{s.get('id')}  {status_label(s.get('status', 'pending'))}", style="bold")
    if flag_line(s):
        add(f"  {flag_line(s)}", style="bold reverse")
    add(f"\ntemplate {s.get('template')} version {short_version(s.get('template_version'), 12)}"
             f"  model {s.get('model')}"
             f"  seed {s.get('seed')}  run {s.get('run_id')}")
    add(f"\ntokens in {s.get('tokens_in')} out {s.get('tokens_out')}  cost {money(s)}"
             f"  latency {s.get('latency') or 0:.2f}s{'  (cached)' if s.get('cached') else ''}")
    if labels:  # the 1–9 keys and which are on, near the top where the verdict is
        tags = set(s.get("tags") or [])
        add("\n" + " ".join(f"{i}{'[x]' if label in tags else '[-]'}{label}"
                                 for i, label in enumerate(labels[:9], start=1)))
        extra = [x for x in s.get("tags") or [] if x not in labels[:9]]
        if extra:
            add(f"\nother tags: {', '.join(extra)}")
    elif s.get("tags"):
        add(f"\ntags: {', '.join(s['tags'])}")
    if s.get("note"):
        add(f"\nnote: {s['note']}")
    head("slots")
    for k, v in (s.get("slots") or {}).items():
        add(f"{k}: {v}\n")
    if s.get("persona"):
        head("persona")
        for k, v in s["persona"].items():
            add(f"{k}: {v}\n")
    head("prompt")
    for m in s.get("messages") or []:
        add(f"{m.get('role')}:", style="bold")
        add(f" {m.get('content')}\n")
    if s.get("reasoning"):
        head("reasoning")
        add(str(s["reasoning"]) + "\n")
    head("output")
    pretty = structured_json(s)
    add(pretty + "\n" if pretty is not None else
             str(s.get("output") if s.get("output") is not None else f"(none) {s.get('error') or ''}") + "\n")
    if s.get("error"):
        head("error")
        add(str(s["error"]) + "\n")
    if s.get("followups"):
        head("verify")
        for name, f in s["followups"].items():
            add(f"{name}: verdict {f.get('verdict', '?')}\n", style="bold")
            add(f"{f.get('output') or ''}\n")
    return t


@guarded
class DetailScreen(ModalScreen[None]):
    AUTO_FOCUS = "#detail"  # focused as the screen opens: keys typed at once land there, not in the first field
    BINDINGS = [
        Binding("escape,enter,q", "dismiss", "Close", id="detail.close"),
        Binding("space", "review('accept_next')", "Accept+next", id="detail.accept_next"),
        Binding("a", "review('accept')", "Accept", id="detail.accept"),
        Binding("x", "review('reject')", "Reject", id="detail.reject"),
        Binding("u", "review('undo')", "Undo", id="detail.undo"),
        Binding("n", "review('note')", "Note", id="detail.note"),
        *[Binding(str(i), f"review('toggle_tag', {i})", f"Tag {i}", show=False, id=f"detail.tag{i}")
          for i in range(1, 10)],
        Binding("j", "review('move', 1)", "Next", id="detail.next"),
        Binding("k", "review('move', -1)", "Previous", id="detail.prev"),
    ]

    def __init__(self, sample: dict[str, Any], main: Any = None, labels: list[str] | None = None) -> None:
        super().__init__()
        self.sample = sample
        self.main = main
        self.labels = labels or []

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide", id="detail"):
            yield Static(self._text(), markup=False, id="detail-text")

    def _text(self) -> Text:
        return detail_text(self.sample, self.labels)

    def on_mount(self) -> None:
        self.query_one("#detail").focus()

    def action_review(self, name: str, *args: Any) -> None:
        """Do what the key does on the main screen; the main screen shows the result here (show_sample)."""
        if self.main is not None:
            getattr(self.main, f"action_{name}")(*args)

    def show_sample(self, sample: dict[str, Any] | None, labels: list[str] | None = None) -> None:
        if labels is not None:
            self.labels = list(labels)
        if sample is None:
            sid = self.main.stream.current_id if self.main is not None else None
            if sid is not None and self.main.io is not None:  # not read yet: read it, then show it
                self.main.io.submit(self.main.session.get, sid, done=self.show_sample)
            return
        moved = sample.get("id") != self.sample.get("id")
        self.sample = sample
        self.query_one("#detail-text", Static).update(self._text())
        if moved:
            self.query_one("#detail").scroll_home(animate=False)
