"""The feedback screen (issue 6): production feedback grouped by category; import a file, draft a template.

The work is studio.analysis.feedback / drafting (the same as `studio feedback import|draft`), run in
worker threads. Keys: i import a JSONL/CSV file, d draft a template from the highlighted group.
"""

from __future__ import annotations

from pathlib import Path

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from studio.core.errors import StudioError
from studio.tui.guard import ForwardWorkerErrors

NOT_DRAFTABLE = ("unstructured", "rating-only")


class FeedbackScreen(ForwardWorkerErrors, Screen):
    HELP_GROUP = "feedback"
    CSS_PATH = str(Path(__file__).with_name("feedback.tcss"))
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="feedback.close"),
        Binding("i", "import_file", "Import file", id="feedback.import"),
        Binding("d", "draft", "Draft template", id="feedback.draft"),
        Binding("r", "refresh", "Refresh", id="feedback.refresh"),
    ]

    def __init__(self, session: Any, workspace: Any, model: str = "render") -> None:
        super().__init__()
        self.session, self.workspace, self.model = session, workspace, model
        self.groups: list = []

    def compose(self) -> ComposeResult:
        yield Header(icon="≡")
        yield Static("", id="feedback-state", markup=False)
        with Vertical():
            table = DataTable(id="feedback-groups", cursor_type="row", zebra_stripes=False)
            table.add_columns("category", "count", "severity", "prompts", "asked for")
            yield table
            yield Static("", id="feedback-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"feedback · {self.session.name}"
        self.query_one(DataTable).focus()
        self.action_refresh()

    # -- groups -----------------------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="feedback-load", exit_on_error=False)
    def _load(self) -> None:
        from studio.analysis.feedback import group_feedback

        groups = group_feedback(self.session.feedback())  # a failure raises: the App reports it
        self.app.call_from_thread(self._show_groups, groups)

    def _show_groups(self, groups: list) -> None:
        self.groups = groups
        table = self.query_one(DataTable)
        table.clear()
        for g in groups:
            sev = ", ".join(f"{k} {v}" for k, v in sorted(g.severity.items()) if k != "-") or "—"
            desired = "; ".join(d for d, _ in g.desired(1))
            table.add_row(g.category, str(g.count), sev, str(len(g.prompts)), desired[:60], key=g.category)
        total = sum(g.count for g in groups)
        self.query_one("#feedback-state", Static).update(
            f"{total} feedback record(s) in {len(groups)} group(s) · i import · d draft a template from the group"
            if groups else "no feedback yet · i imports a JSONL or CSV file (prompt, response, comment, rating)")
        self._detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _current(self):
        table = self.query_one(DataTable)
        if not self.groups or table.cursor_row is None or not 0 <= table.cursor_row < len(self.groups):
            return None
        return self.groups[table.cursor_row]

    def _detail(self) -> None:
        g = self._current()
        if g is None:
            self.query_one("#feedback-detail", Static).update("")
            return
        lines = [f"{g.category}: {g.count} record(s), {len(g.prompts)} distinct prompt(s)"]
        for d, n in g.desired(3):
            lines.append(f"  asked for ({n}×): {d}")
        for e in g.examples(3):
            where = f"{e.get('source', '')}:{e.get('line', '')}"
            lines.append(f"\n[{e.get('severity') or e.get('status')}] {where}")
            lines.append(f"  prompt:  {_short(e.get('prompt'))}")
            lines.append(f"  comment: {_short(e.get('comment') or e.get('rating'))}")
            if e.get("error"):
                lines.append(f"  not structured: {_short(e['error'])}")
        self.query_one("#feedback-detail", Static).update("\n".join(lines))

    # -- import -----------------------------------------------------------------------------------------
    def action_import_file(self) -> None:
        if getattr(self.session, "read_only", False):
            self.notify("this session is open read-only", severity="warning", markup=False)
            return
        if self.model == "render":
            self.notify("structuring feedback needs a model: set STUDIO_MODEL or the session's model",
                        severity="warning", markup=False)
            return
        from studio.tui.screens.prompt import PromptScreen

        self.app.push_screen(PromptScreen("Import feedback (JSONL or CSV)", placeholder="path/to/feedback.jsonl",
                                          hint=f"structured by {self.model} · enter: import · escape: cancel"),
                             lambda path: self._import(path.strip()) if path and path.strip() else None)

    # Not on the session thread (studio.tui.io): an import waits minutes on the model, and review keys queued
    # behind it would wait too. Session methods are thread-safe (one lock); the import only adds feedback.
    @work(thread=True, exclusive=True, group="feedback-import", exit_on_error=False)
    def _import(self, path: str) -> None:
        from studio.analysis.feedback import import_feedback

        self.app.call_from_thread(self._state, f"importing {path} with {self.model}…")
        try:
            result = import_feedback(self.session, path, model=self.model, cache_dir=self.workspace.cache_dir,
                                     workspace=self.workspace)
        except StudioError as exc:
            self.app.call_from_thread(self._done, str(exc), True)
            return
        status = ", ".join(f"{n} {s}" for s, n in sorted(result.status.items())) or "nothing new"
        text = f"added {len(result.added)} ({status}); {result.duplicates} already there"
        if result.problems:
            text += f"; {len(result.problems)} bad row(s) skipped:\n" + "\n".join(str(p) for p in result.problems[:5])
        self.app.call_from_thread(self._done, text, bool(result.problems))

    # -- draft ------------------------------------------------------------------------------------------
    def action_draft(self) -> None:
        g = self._current()
        if g is None:
            self.notify("no feedback group to draft from", markup=False)
            return
        if g.category in NOT_DRAFTABLE:
            self.notify(f"'{g.category}' feedback has no category to target", severity="warning", markup=False)
            return
        self._draft(g)

    @work(thread=True, exclusive=True, group="feedback-draft", exit_on_error=False)
    def _draft(self, group) -> None:
        from studio.analysis.drafting import draft_template, save_draft

        try:
            folder = self.workspace.templates_dir
            draft = save_draft(draft_template(group, templates_dir=folder), folder, self.session)
        except StudioError as exc:
            self.app.call_from_thread(self._done, str(exc), True)
            return
        self.app.call_from_thread(
            self._done, f"wrote {draft.path} ({draft.prompts} prompt(s)) and added it to the session — "
                        f"open it with ctrl+l on the main screen, then generate", False)

    def _done(self, text: str, problem: bool) -> None:
        self.notify(text, title="Feedback", severity="warning" if problem else "information", markup=False,
                    timeout=8)
        self.action_refresh()

    def _state(self, text: str) -> None:
        self.query_one("#feedback-state", Static).update(text)

    def worker_failed(self, group: str, text: str) -> None:
        """A bug in a worker (the App has shown it and kept a crash report): the state line says so."""
        self._state("error: see the notification")

    def action_close(self) -> None:
        self.app.pop_screen()


def _short(text: Any, n: int = 100) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"
