"""Yes/no before anything destructive; Escape or n says no."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from studio.tui.guard import guarded


@guarded
class ConfirmScreen(ModalScreen[bool | str]):
    """`also`: a third answer (key a), dismissed with the string "also" (e.g. "and redo the rejected too");
    `other`: a fourth (key m), dismissed with "other" (e.g. "with another model")."""

    AUTO_FOCUS = "#no"  # focused as the screen opens: keys typed at once land there, not in the first field

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
        Binding("a", "also", "Also", id="confirm.also", show=False),
        Binding("m", "other", "Other", id="confirm.other", show=False),
    ]

    def __init__(self, question: str, yes: str = "Yes", also: str | None = None, other: str | None = None) -> None:
        super().__init__()
        self.question, self.yes, self.also, self.other = question, yes, also, other

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, markup=False, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="error", compact=True)
                if self.also:
                    yield Button(f"{self.also} (a)", id="also", compact=True)
                if self.other:
                    yield Button(f"{self.other} (m)", id="other", compact=True)
                yield Button("No (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id
        self.dismiss(bid if bid in ("also", "other") else bid == "yes")

    def action_other(self) -> None:
        if self.other:
            self.dismiss("other")

    def action_also(self) -> None:
        if self.also:
            self.dismiss("also")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
