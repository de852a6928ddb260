"""The generation form: count, strategy, seed, model (a configured one or any litellm string), endpoint
(api_base), concurrency and answers per prompt — remembered per session and template (issue 16 §4). When the
template's space holds fewer distinct prompts than the count asked for, it says so and offers the choices
(more answers per prompt, only the space, add a slot) instead of silently making fewer."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from studio.analysis.tables import plain
from studio.core.template import STRATEGIES
from studio.tui.widgets.select import FittedSelect
from studio.tui.guard import guarded


@guarded
class GenerateScreen(ModalScreen[dict | None]):
    AUTO_FOCUS = "#count"  # focused as the screen opens: keys typed at once land there, not in the first field
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="generate.cancel"),
        Binding("ctrl+g", "submit", "Start", id="generate.start"),
    ]

    def __init__(self, models: list[str], *, model: str, count: int | None, strategy: str, seed: int,
                 prompt_counts: dict[str, Any] | None = None, space: int | None = None,
                 remembered: dict[str, Any] | None = None, mode: str = "generate", template: str = "") -> None:
        super().__init__()
        self.mode, self.template = mode, template     # the endpoint rule (studio.runs.endpoint) reads them
        self.models = list(dict.fromkeys(models))
        self.model, self.count, self.strategy, self.seed = model, count, strategy, seed
        self.prompt_counts = prompt_counts or {}
        self.space = space
        self.remembered = remembered or {}
        self._asked_space = False

    def compose(self) -> ComposeResult:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.prompt_counts.items() if v is not None)
        with Vertical(classes="dialog", id="generate-form"):
            yield Static("Generate samples", classes="dialog-title")
            with Horizontal(classes="field"):
                yield Label("count")
                yield Input(str(self.count or ""), placeholder="the strategy's count", id="count",
                            type="integer", compact=True)
            with Horizontal(classes="field"):
                yield Label("strategy")
                yield FittedSelect([(s, s) for s in STRATEGIES], value=self.strategy, allow_blank=False, id="strategy",
                             compact=True)
            with Horizontal(classes="field"):
                yield Label("seed")
                yield Input(str(self.seed), id="seed", type="integer", compact=True)
            with Horizontal(classes="field"):
                yield Label("model")
                yield FittedSelect([(plain(m), m) for m in self.models], value=self.model if self.model in self.models
                             else self.models[0], allow_blank=False, id="model", compact=True)
            r = self.remembered
            with Horizontal(classes="field"):
                yield Label("or type")
                yield Input(r.get("model_text", ""), placeholder="any litellm model, e.g. openai/gpt-4o-mini",
                            id="model-text", compact=True)
            with Horizontal(classes="field"):
                yield Label("api_base")
                yield Input(r.get("api_base") or "", placeholder="the provider's default; several (a, b): a fleet",
                            id="api-base", compact=True)
            yield Static("", markup=False, id="api-base-error", classes="field-error")
            with Horizontal(classes="field"):
                yield Label("parallel")
                yield Input(str(r.get("concurrency") or 16), id="concurrency", type="integer", compact=True)
            with Horizontal(classes="field"):
                yield Label("answers")
                yield Input(str(r.get("answers") or 1), id="answers", type="integer", compact=True)
            yield Static("", markup=False, id="answers-error", classes="field-error")
            yield Static(f"prompts per strategy: {counts}" if counts else "", markup=False, classes="dialog-hint",
                         id="generate-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start (ctrl+g)", id="start", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#count", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id
        if bid == "start":
            self.action_submit()
        elif bid == "choose-answers":
            self.action_submit("answers")
        elif bid == "choose-space":
            self.action_submit("space")
        elif bid == "choose-slot":
            self.dismiss({"add_slot": True})
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def _number(self, field: str) -> int | None:
        text = self.query_one(f"#{field}", Input).value.strip()
        return int(text) if text else None

    def action_submit(self, choice: str | None = None) -> None:
        try:
            count, seed = self._number("count"), self._number("seed") or 0
            concurrency, answers = self._number("concurrency") or 16, self._number("answers") or 1
        except ValueError:
            self.notify("count, seed, parallel and answers must be whole numbers", severity="error", markup=False)
            return
        if (count is not None and count <= 0) or concurrency <= 0 or answers <= 0:
            self.notify("count, parallel and answers must be above zero — or leave count empty for the "
                        "strategy's count", severity="error", markup=False)
            return
        typed = self.query_one("#model-text", Input).value.strip()
        model = typed or str(self.query_one("#model", Select).value)
        if not self._answers_ok(answers, model):
            return
        space = self.space
        if choice == "answers" and count is not None and space:
            answers, count = -(-count // space), space
        elif choice == "space" and space:
            count = space
        elif count is not None and space and count > space * answers and not self._asked_space:
            self._ask_about_space(count, space, answers, model)
            return
        api_base = self.query_one("#api-base", Input).value.strip() or None
        from studio.tui.run_bridge import api_bases

        if any("@" in b.split("//", 1)[-1].split("/", 1)[0] for b in api_bases(api_base)):
            self.notify("put the key in the provider's environment variable, not in api_base (user:password@ "
                        "would be saved with the session)", severity="error", markup=False)
            return
        if not self._endpoint_ok(api_base, model):
            return
        self.dismiss({"count": count, "seed": seed, "strategy": self.query_one("#strategy", Select).value,
                      "model": model, "model_text": typed,
                      "api_base": api_base, "concurrency": concurrency, "answers": answers})

    def _endpoint_ok(self, api_base: str | None, model: str) -> bool:
        """The rule `studio run` applies to --api-base (studio.runs.endpoint), said on the api_base field with
        what to do in this form; the field is marked and focused. True when the endpoint will be used."""
        from studio.runs.endpoint import RENDER_TEMPLATE, endpoint_problem

        problem = endpoint_problem(api_base, mode=self.mode, model=model, named=model, template=self.template)
        if problem is None:
            return self._field_refused("api-base", None)
        todo = ("clear api_base (or set mode: generate in the template)" if problem.kind == RENDER_TEMPLATE
                else "choose the server's model above or type it in 'or type' (e.g. hosted_vllm/NAME), "
                     "or clear api_base")
        return self._field_refused("api-base", f"✗ {problem.what} — {todo}")

    def _field_refused(self, name: str, message: str | None) -> bool:
        """Mark field #NAME and show `message` under it (#NAME-error), focused; None clears both. True when
        nothing was refused."""
        field, error = self.query_one(f"#{name}", Input), self.query_one(f"#{name}-error", Static)
        field.set_class(message is not None, "-invalid")
        error.set_class(message is not None, "-shown")
        error.update(message or "")
        if message is None:
            return True
        field.focus()
        return False

    def _answers_ok(self, answers: int, model: str) -> bool:
        """Several answers that would all be the same (render mode: studio.runs.run.answers_problem, the rule
        `studio run --answers` applies) are refused on the answers field, before anything is made."""
        from studio.runs.run import answers_problem

        problem = answers_problem(answers, mode=self.mode, model=model)
        if problem is None:
            return self._field_refused("answers", None)
        todo = ("set answers to 1" if self.mode == "render"
                else "choose a real model above (or type one in 'or type'), or set answers to 1")
        return self._field_refused("answers", f"✗ {problem[0]} — {todo}")

    def _ask_about_space(self, count: int, space: int, answers: int, model: str) -> None:
        """The space is smaller than the count: say so, and offer what would make the count (more answers
        per prompt only where they can differ: not in render mode)."""
        from studio.runs.run import answers_problem

        self._asked_space = True
        per = -(-count // space)
        more = answers_problem(per, mode=self.mode, model=model) is None
        self.query_one("#generate-hint", Static).update(
            f"The template has only {space:,} distinct prompts; {count:,} asked. Choose: "
            + (f"{per} answers per prompt ({space * per:,} samples), " if more else "")
            + f"only the {space:,}, or add a slot value (F3) to widen the space.")
        self.query_one("#start", Button).display = False
        buttons = [Button(f"{per} answers each", id="choose-answers", variant="primary", compact=True)] if more else []
        self.query_one(".dialog-buttons").mount(
            *buttons, Button(f"Only {space:,}", id="choose-space", variant="default" if more else "primary",
                             compact=True),
            Button("Add a slot", id="choose-slot", compact=True), before=self.query_one("#cancel", Button))

    def action_cancel(self) -> None:
        self.dismiss(None)
