"""Everything about one sample: prompt, output, slot values, persona, verify result, tokens and cost."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from studio.tui.format import money, status_label


def detail_text(s: dict[str, Any]) -> Text:
    t = Text()

    def head(title: str) -> None:
        t.append(f"\n── {title} ", style="bold")
        t.append("\n")

    t.append(f"sample #{s.get('id')}  {status_label(s.get('status', 'pending'))}", style="bold")
    t.append(f"\ntemplate {s.get('template')} version {s.get('template_version')}  model {s.get('model')}"
             f"  seed {s.get('seed')}  run {s.get('run_id')}")
    t.append(f"\ntokens in {s.get('tokens_in')} out {s.get('tokens_out')}  cost {money(s.get('cost'))}"
             f"  latency {s.get('latency') or 0:.2f}s{'  (cached)' if s.get('cached') else ''}")
    if s.get("tags"):
        t.append(f"\ntags: {', '.join(s['tags'])}")
    if s.get("note"):
        t.append(f"\nnote: {s['note']}")
    head("slots")
    for k, v in (s.get("slots") or {}).items():
        t.append(f"{k}: {v}\n")
    if s.get("persona"):
        head("persona")
        for k, v in s["persona"].items():
            t.append(f"{k}: {v}\n")
    head("prompt")
    for m in s.get("messages") or []:
        t.append(f"{m.get('role')}:", style="bold")
        t.append(f" {m.get('content')}\n")
    head("output")
    t.append(str(s.get("output") if s.get("output") is not None else f"(none) {s.get('error') or ''}") + "\n")
    if s.get("error"):
        head("error")
        t.append(str(s["error"]) + "\n")
    if s.get("followups"):
        head("verify")
        for name, f in s["followups"].items():
            t.append(f"{name}: verdict {f.get('verdict', '?')}\n", style="bold")
            t.append(f"{f.get('output') or ''}\n")
    if s.get("parsed") is not None:
        head("parsed")
        t.append(json.dumps(s["parsed"], indent=2, ensure_ascii=False) + "\n")
    return t


class DetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close", id="detail.close")]

    def __init__(self, sample: dict[str, Any]) -> None:
        super().__init__()
        self.sample = sample

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide", id="detail"):
            yield Static(detail_text(self.sample), markup=False)

    def on_mount(self) -> None:
        self.query_one("#detail").focus()
