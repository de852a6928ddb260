"""The small generation form: count, strategy, seed and model (configured models, embedded, render)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from studio.core.template import STRATEGIES
from studio.tui.guard import guarded


@guarded
class GenerateScreen(ModalScreen[dict | None]):
    AUTO_FOCUS = "#count"  # focused as the screen opens: keys typed at once land there, not in the first field
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="generate.cancel"),
        Binding("ctrl+g", "submit", "Start", id="generate.start"),
    ]

    def __init__(self, models: list[str], *, model: str, count: int | None, strategy: str, seed: int,
                 prompt_counts: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.models = list(dict.fromkeys(models))
        self.model, self.count, self.strategy, self.seed = model, count, strategy, seed
        self.prompt_counts = prompt_counts or {}

    def compose(self) -> ComposeResult:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.prompt_counts.items() if v is not None)
        with Vertical(classes="dialog"):
            yield Static("Generate samples", classes="dialog-title")
            with Horizontal(classes="field"):
                yield Label("count")
                yield Input(str(self.count or ""), placeholder="the strategy's count", id="count",
                            type="integer", compact=True)
            with Horizontal(classes="field"):
                yield Label("strategy")
                yield Select([(s, s) for s in STRATEGIES], value=self.strategy, allow_blank=False, id="strategy",
                             compact=True)
            with Horizontal(classes="field"):
                yield Label("seed")
                yield Input(str(self.seed), id="seed", type="integer", compact=True)
            with Horizontal(classes="field"):
                yield Label("model")
                yield Select([(m, m) for m in self.models], value=self.model if self.model in self.models
                             else self.models[0], allow_blank=False, id="model", compact=True)
            yield Static(f"prompts per strategy: {counts}" if counts else "", markup=False, classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start (ctrl+g)", id="start", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#count", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        count_text = self.query_one("#count", Input).value.strip()
        seed_text = self.query_one("#seed", Input).value.strip()
        try:
            count = int(count_text) if count_text else None
            seed = int(seed_text) if seed_text else 0
        except ValueError:
            self.notify("count and seed must be whole numbers", severity="error", markup=False)
            return
        if count is not None and count <= 0:
            self.notify("count must be above zero — or leave it empty for the strategy's count",
                        severity="error", markup=False)
            return
        self.dismiss({"count": count, "seed": seed,
                      "strategy": self.query_one("#strategy", Select).value,
                      "model": self.query_one("#model", Select).value})

    def action_cancel(self) -> None:
        self.dismiss(None)
