"""Filter the stream by status, flag, tag, template version, a slot value or persona attribute, and text."""

from __future__ import annotations

from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from studio.analysis.tables import plain
from studio.core.record import FLAGS, STATUSES
from studio.tui.values import parse_value_filter, value_filter_text
from studio.tui.format import short_version, status_label
from studio.tui.widgets.select import FittedSelect
from studio.tui.guard import guarded


@guarded
class FilterScreen(ModalScreen[dict | None]):
    AUTO_FOCUS = "#text"  # focused as the screen opens: keys typed at once land there, not in the first field
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="filter.cancel"),
                # on a closed list, enter applies as the title says (a select's own enter opened it again);
                # space or down opens it, and in the open list enter picks
                Binding("enter", "apply_from_list", "Apply", show=False, priority=True, id="filter.apply")]

    def __init__(self, current: dict, labels: list[str], versions: list[str]) -> None:
        super().__init__()
        self.current, self.labels, self.versions = current, labels, versions

    def compose(self) -> ComposeResult:
        c = self.current
        with Vertical(classes="dialog"):
            yield Static("Filter samples (enter applies, empty means any)", classes="dialog-title")
            with Horizontal(classes="field"):
                yield Label("status")
                yield FittedSelect([(status_label(s), s) for s in STATUSES], value=c.get("status") or Select.NULL,
                             prompt="any", id="status", compact=True)
            with Horizontal(classes="field"):
                yield Label("flag")  # "" is the store's "no flag" (session.ids(flag=""))
                yield FittedSelect([("clean (no flag)", "")] + [(f"{f}: {why}", f) for f, why in FLAGS.items()],
                             value=c["flag"] if c.get("flag") in ("", *FLAGS) else Select.NULL,
                             prompt="any", id="flag", compact=True)
            with Horizontal(classes="field"):
                yield Label("tag")
                yield FittedSelect([(plain(t), t) for t in self.labels], value=c.get("tag") if c.get("tag") in self.labels
                             else Select.NULL, prompt="any", id="tag", compact=True)
            with Horizontal(classes="field"):
                yield Label("version")
                yield FittedSelect([(plain(short_version(v, 12)), v) for v in self.versions], value=c.get("version")
                             if c.get("version") in self.versions else Select.NULL, prompt="any", id="version",
                             compact=True)
            with Horizontal(classes="field"):
                yield Label("value")
                yield Input(value_filter_text(c), placeholder="slot=value or persona.attribute=value",
                            id="value", compact=True)
            with Horizontal(classes="field"):
                yield Label("text")
                yield Input(c.get("text") or "", placeholder="words in the prompt or output", id="text",
                            compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (enter)", id="apply", variant="primary", compact=True)
                yield Button("Clear", id="clear", compact=True)

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()
        self._styled_for = (self.app.theme, frozenset(self.app.classes), self.app.size)  # styled as mounted

    _styled_for: tuple | None = None

    def _on_screen_resume(self, event) -> None:
        """Shown again (the dialog is kept): its styles are what they were, unless the theme or the app's
        classes changed meanwhile, so they are not worked out again for every field (most of the time from
        `/` to the dialog). Textual's own handler runs after this one, with the flag as set here."""
        styled_for = (self.app.theme, frozenset(self.app.classes), self.app.size)
        if styled_for == self._styled_for:
            event.refresh_styles = False
        self._styled_for = styled_for

    def fill(self, current: dict, labels: list[str], versions: list[str]) -> None:
        """Show these filters again (the dialog is kept between opens): every field as `compose` would."""
        c = current
        if labels != self.labels:
            self.query_one("#tag", Select).set_options([(plain(t), t) for t in labels])
        if versions != self.versions:
            self.query_one("#version", Select).set_options([(plain(short_version(v, 12)), v) for v in versions])
        self.current, self.labels, self.versions = current, labels, versions
        values = {"status": c.get("status") if c.get("status") in STATUSES else None,
                  "flag": c["flag"] if c.get("flag") in ("", *FLAGS) else None,
                  "tag": c.get("tag") if c.get("tag") in labels else None,
                  "version": c.get("version") if c.get("version") in versions else None}
        for name, value in values.items():
            select = self.query_one(f"#{name}", Select)
            if value is None:
                select.clear()
            elif select.value != value:
                select.value = value
        for name, value in (("value", value_filter_text(c)), ("text", c.get("text") or "")):
            field = self.query_one(f"#{name}", Input)
            field.value = value
            field.cursor_position = len(value)  # at the end, as a new field's: ctrl+u then clears it all
        self.query_one("#text", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "clear":
            self.dismiss({})
        else:
            self._apply()

    def _apply(self) -> None:
        out = {}
        for name in ("status", "flag", "tag", "version"):
            value = self.query_one(f"#{name}", Select).value
            if value is not Select.NULL and value is not None:
                out[name] = value
        text = self.query_one("#text", Input).value.strip()
        if text:
            out["text"] = text
        try:
            out.update(parse_value_filter(self.query_one("#value", Input).value))
        except ValueError as exc:
            self.notify(str(exc), title="Filter not applied", severity="warning", markup=False)
            self.query_one("#value", Input).focus()
            return
        self.dismiss(out)

    def action_apply_from_list(self) -> None:
        focused = self.focused
        if not isinstance(focused, Select) or focused.expanded:
            raise SkipAction()             # a field, a button or an open list: enter does what it does there
        self._apply()

    def action_cancel(self) -> None:
        self.dismiss(None)
