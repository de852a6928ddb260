"""Export dialog: the options, a live preview (counts, removals, the first rows), then the files.

The plan is made in a worker as the options change (debounced), so the person sees what will be
written before writing it; Export writes that same plan. The session's queued writes are flushed
first, so the latest decisions are in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from studio.core.errors import StudioError
from studio.tui.widgets.checkbox import MarkedCheckbox
from studio.tui.widgets.select import FittedSelect
from studio.tui.guard import ForwardWorkerErrors, guarded, said

REPLAN_AFTER = 0.3          # seconds of quiet typing before the preview is planned again


@guarded
class ExportScreen(ForwardWorkerErrors, ModalScreen[None]):
    CSS_PATH = str(Path(__file__).with_name("export.tcss"))
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
        Binding("ctrl+s", "export", "Export", id="export.write"),
    ]

    def __init__(self, session: Any, workspace: Any, filters: dict,
                 flush: Callable[[], Any] | None = None) -> None:
        super().__init__()
        self.session, self.workspace, self.filters = session, workspace, filters
        self._flush = flush
        self._planning = False              # one plan at a time: a thread cannot be stopped, so none piles up
        self._wanted = None                 # the form the newest plan is for (planned again if it changes)
        self._plan: tuple[Any, Any] | None = None      # (form, plan) of the preview on screen
        self._timer = None

    def compose(self) -> ComposeResult:
        from studio.tui.export_bridge import OUT, Form, flagged_choices, formats

        self._formats = {name: statuses for name, _, statuses in formats()}
        first = next(iter(self._formats))
        d = Form(first, tags=self.filters.get("tag") or "", versions=self.filters.get("version") or "")
        with Vertical(classes="dialog wide"):
            yield Static(f"Export session {self.session.name}", classes="dialog-title", markup=False)
            with Horizontal(classes="field"):
                yield Label("format")
                yield FittedSelect([(f"{n} — {summary}", n) for n, summary, _ in formats()], value=first,
                             allow_blank=False, id="format", compact=True)
            with Horizontal(classes="field"):
                yield Label("statuses")
                yield Input(d.statuses, placeholder=", ".join(self._formats[first]) + " (default)",
                            id="statuses", compact=True)
                yield Label("tags")
                yield Input(d.tags, placeholder="any (a, b: either)", id="tags", compact=True)
            with Horizontal(classes="field"):
                yield Label("templates")
                yield Input(d.templates, placeholder="all", id="templates", compact=True)
                yield Label("versions")
                yield Input(d.versions, placeholder="all (v2, or 4+ hash chars)", id="versions",
                            compact=True)
            with Horizontal(classes="field"):
                yield Label("licence")
                yield Input(d.licence, id="licence", compact=True)
                yield Label("validation")
                yield Input(d.val_fraction, id="val_fraction", compact=True)
                yield Label("seed")
                yield Input(d.seed, id="seed", type="integer", compact=True)
                yield Label("near-dup ≥")
                yield Input(d.dedup_threshold, id="dedup_threshold", compact=True)
            with Horizontal(classes="field"):
                yield Label("folder")
                yield Input(str(self.workspace.root / "exports" / self.session.name), id="path", compact=True)
            with Horizontal(classes="field"):
                yield MarkedCheckbox("Parquet", id="parquet", compact=True)
                yield MarkedCheckbox("replace an earlier export", id="force", compact=True)
                yield Label("flagged")
                yield FittedSelect(flagged_choices(), value=OUT, allow_blank=False, id="flagged", compact=True)
            with VerticalScroll(id="export-preview-box"):
                yield Static("planning…", id="export-preview", markup=False)
            yield Static("", id="export-result", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export (ctrl+s)", id="go", variant="primary", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()
        self._replan()

    # ---- the form ---------------------------------------------------------------------------

    def _form(self):
        from studio.tui.export_bridge import Form

        value = {name: self.query_one(f"#{name}", Input).value for name in (
            "statuses", "tags", "templates", "versions", "val_fraction", "dedup_threshold", "seed", "licence")}
        return Form(str(self.query_one("#format", Select).value), parquet=self.query_one("#parquet", Checkbox).value,
                    flagged=str(self.query_one("#flagged", Select).value), **value)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.select.id == "flagged":
            self._replan()
            return
        statuses = self._formats.get(str(event.value), ())
        self.query_one("#statuses", Input).placeholder = ", ".join(statuses) + " (default)"
        self._replan()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.input.id != "path":
            self._replan(later=True)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        if event.checkbox.id == "parquet":
            self._replan()

    def _replan(self, later: bool = False) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if later:
            self._timer = self.set_timer(REPLAN_AFTER, self._replan)
            return
        form = self._form()
        if form == self._wanted:                     # e.g. the Select's own change event on mount
            return
        self._wanted, self._plan = form, None
        self._show("#export-preview", "planning…")
        if not self._planning:
            self._planning = True
            self._plan_worker(form)

    # ---- workers ----------------------------------------------------------------------------

    # Not on the session thread (studio.tui.io): planning reads the whole selection (seconds) and must not
    # hold review writes behind it; it flushes the session thread first (self._flush) so it reads them.
    @work(thread=True, group="export-plan", exit_on_error=False)
    def _plan_worker(self, form) -> None:
        from studio.tui import export_bridge as bridge

        try:
            if self._flush is not None:
                self._flush()
            plan = bridge.plan(self.session, bridge.options(form))
            text = bridge.preview(plan)
        except StudioError as exc:
            plan, text = None, f"✗ {said(exc)}"
        self.app.call_from_thread(self._planned, form, plan, text)  # a bug raises: the App reports it

    def _planned(self, form, plan, text: str) -> None:
        if form != self._wanted:                     # the options changed meanwhile: plan those instead
            self._plan_worker(self._wanted)
            return
        self._planning = False
        self._plan = (form, plan) if plan is not None else None
        self._show("#export-preview", text)

    @work(thread=True, exclusive=True, group="export-write", exit_on_error=False)
    def _write_worker(self, form, folder: str, force: bool, ready: Any) -> None:
        from studio.tui import export_bridge as bridge

        self.app.call_from_thread(self._show, "#export-result", "exporting…")
        try:
            plan = ready
            if plan is None:
                if self._flush is not None:
                    self._flush()
                plan = bridge.plan(self.session, bridge.options(form))
            text = "✓ " + bridge.write(plan, folder, force=force)
        except StudioError as exc:
            if bridge.is_existing_export(exc):
                text = (f"✗ {folder} already holds an export — tick “replace an earlier export” to replace it, "
                        "or choose another folder; nothing was written")
            else:
                text = f"✗ {said(exc)}"
        self.app.call_from_thread(self._show, "#export-result", text)

    def worker_failed(self, group: str, text: str) -> None:
        """A bug in a worker (the App has shown it and kept a crash report): say so where the result goes."""
        if group == "export-plan":
            self._planning = False
            self._plan = None
            self._show("#export-preview", f"✗ {text}")
        else:
            self._show("#export-result", f"✗ {text}")

    # ---- actions ----------------------------------------------------------------------------

    def action_export(self) -> None:
        form = self._form()
        ready = self._plan[1] if self._plan is not None and self._plan[0] == form else None
        self._write_worker(form, self.query_one("#path", Input).value.strip(),
                           self.query_one("#force", Checkbox).value, ready)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "go":
            self.action_export()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_export()

    def _show(self, where: str, text: str) -> None:
        self.query_one(where, Static).update(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
