"""Export dialog: calls the export API (studio.export) in a worker and reports where the file went."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from studio.core.errors import StudioError


class ExportScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    def __init__(self, session: Any, workspace: Any, filters: dict) -> None:
        super().__init__()
        self.session, self.workspace, self.filters = session, workspace, filters

    def compose(self) -> ComposeResult:
        from studio.tui.export_bridge import formats

        names = formats()
        narrowed = ", ".join(f"{k}={v}" for k, v in self.filters.items() if k in ("tag", "version"))
        with Vertical(classes="dialog"):
            yield Static(f"Export session {self.session.name}" + (f" ({narrowed})" if narrowed else ""),
                         classes="dialog-title", markup=False)
            with Horizontal(classes="field"):
                yield Label("format")
                yield Select([(f"{n} — {d}", n) for n, d in names], value=names[0][0], allow_blank=False,
                             id="format", compact=True)
            with Horizontal(classes="field"):
                yield Label("folder")
                yield Input(str(self.workspace.root / "exports" / self.session.name), id="path", compact=True)
            yield Static("", id="export-result", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="go", variant="primary", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "go":
            self._export(str(self.query_one("#format", Select).value), self.query_one("#path", Input).value)
        else:
            self.dismiss(None)

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._export(str(self.query_one("#format", Select).value), event.value)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _export(self, fmt: str, path: str) -> None:
        from studio.tui.export_bridge import export

        self.app.call_from_thread(self._show, "exporting…")
        try:
            summary = export(self.session, fmt, path, self.filters)
        except StudioError as exc:
            self.app.call_from_thread(self._show, f"✗ {exc}")
            return
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self._show, f"✗ {type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show, f"✓ {summary}")

    def _show(self, text: str) -> None:
        self.query_one("#export-result", Static).update(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
