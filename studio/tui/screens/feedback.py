"""The feedback screen (issues 6, 18): feedback grouped by category; import, correct, restructure, draft.

The work is studio.analysis.feedback / drafting (the same as `studio feedback import|set|restructure|draft`),
run in worker threads. Keys: i import a file, d draft a template from the highlighted group, tab to the
group's records, where one key per category corrects a record's signal by hand (1-9, 0 praise, o other),
s structures the unstructured records again (with the session's model when it is a real one).
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

from studio.analysis.tables import plain

from studio.core.errors import StudioError
from studio.tui.guard import ForwardWorkerErrors, guarded, said

# One key per category on the records table (a correction by hand, like a sample's tags).
CATEGORY_KEYS = {"1": "verbosity", "2": "depth", "3": "tone", "4": "correctness", "5": "safety", "6": "refusal",
                 "7": "format", "8": "one-sidedness", "9": "app", "0": "praise", "o": "other"}


def refining_model(model: str | None) -> str | None:
    """The model that refines the offline rules here: none for render or the embedded model (measured: the
    rules structure feedback better than it; see the README), else the session's model."""
    from studio.engine.local import MODEL as LOCAL

    return None if model in (None, "", "render", LOCAL) else model


@guarded
class FeedbackScreen(ForwardWorkerErrors, Screen):
    HELP_GROUP = "feedback"
    CSS_PATH = str(Path(__file__).with_name("feedback.tcss"))
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="feedback.close"),
        Binding("i", "import_file", "Import file", id="feedback.import"),
        Binding("d", "draft", "Draft template", id="feedback.draft"),
        Binding("s", "restructure", "Structure again", id="feedback.restructure"),
        Binding("r", "refresh", "Refresh", id="feedback.refresh"),
    ] + [Binding(k, f"set_category('{c}')", f"→ {c}", id=f"feedback.set.{c}", show=False)
         for k, c in CATEGORY_KEYS.items()]

    def __init__(self, session: Any, workspace: Any, model: str = "render") -> None:
        super().__init__()
        self.session, self.workspace, self.model = session, workspace, model
        self.groups: list = []
        self.shown: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Header(icon="≡")
        yield Static("", id="feedback-state", markup=False)
        with Vertical():
            table = DataTable(id="feedback-groups", cursor_type="row", zebra_stripes=False)
            table.add_columns("category", "count", "polarity", "severity", "prompts", "what people said")
            yield table
            records = DataTable(id="feedback-records", cursor_type="row", zebra_stripes=False)
            records.add_columns("#", "polarity", "by", "rating", "comment")
            yield records
            yield Static("", id="feedback-detail", markup=False)
        yield Footer()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "set_category":                # only on a record, never while typing elsewhere
            return self.focused is not None and self.focused.id == "feedback-records" and bool(self.shown)
        return True

    def on_mount(self) -> None:
        self.title = f"feedback · {self.session.name}"
        self.query_one("#feedback-groups", DataTable).focus()
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
        table = self.query_one("#feedback-groups", DataTable)
        keep = self._current().category if self._current() is not None else None
        self.groups = groups
        table.clear()
        for g in groups:
            sev = ", ".join(f"{k} {v}" for k, v in sorted(g.severity.items()) if k != "-") or "—"
            pol = " ".join(f"{k[:3]} {v}" for k, v in sorted(g.polarity.items(), key=lambda kv: -kv[1])
                           if k != "-") or "—"
            said = "; ".join(f'"{t}"' + (f" ×{n}" if n > 1 else "") for t, n in g.said(2))
            table.add_row(plain(g.category), str(g.count), plain(pol), plain(sev), str(len(g.prompts)),
                          plain(_short(said, 70)), key=g.category)
        names = [g.category for g in groups]
        if keep in names:
            table.move_cursor(row=names.index(keep))
        total = sum(g.count for g in groups)
        self.query_one("#feedback-state", Static).update(
            f"{total} feedback record(s) in {len(groups)} group(s) · i import · d draft · tab: records, "
            "1-9 0 o set the category · s structure again"
            if groups else "no feedback yet · i imports a file (JSONL, JSON, CSV or text: a comment and/or rating)")
        self._records()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "feedback-groups":
            self._records()
        else:
            self._detail()

    def _records(self) -> None:
        g = self._current()
        table = self.query_one("#feedback-records", DataTable)
        row = table.cursor_row
        table.clear()
        self.shown = sorted(g.records, key=lambda r: r.get("id", 0)) if g is not None else []
        for r in self.shown:
            rating = r.get("rating")
            table.add_row(str(r.get("id", "")), plain(r.get("polarity") or "—"), plain(r.get("structured_by") or "—"),
                          "—" if rating is None else plain(rating), plain(_short(r.get("comment"), 90)))
        if self.shown and row is not None and 0 < row < len(self.shown):
            table.move_cursor(row=row)
        self._detail()

    def _record(self) -> dict | None:
        table = self.query_one("#feedback-records", DataTable)
        if not self.shown or table.cursor_row is None or not 0 <= table.cursor_row < len(self.shown):
            return None
        return self.shown[table.cursor_row]

    def _current(self):
        table = self.query_one("#feedback-groups", DataTable)
        if not self.groups or table.cursor_row is None or not 0 <= table.cursor_row < len(self.groups):
            return None
        return self.groups[table.cursor_row]

    def _detail(self) -> None:
        g = self._current()
        if g is None:
            self.query_one("#feedback-detail", Static).update("")
            return
        lines = [f"{g.category}: {g.count} record(s), {len(g.prompts)} distinct prompt(s); by "
                 + ", ".join(f"{k} {n}" for k, n in g.by.items())]
        for d, n in g.desired(1):
            lines.append(f"  asked for ({n}×): {_short(d)}")
        e = self._record()
        if e is not None:
            where = e.get("key") or f"{e.get('source', '')}:{e.get('line', '')}"
            lines.append(f"#{e.get('id')} {where} · {e.get('status')} by {e.get('structured_by') or '—'}"
                         f" · {e.get('severity') or '—'} · {e.get('date') or ''}")
            if e.get("prompt"):
                lines.append(f"  prompt:  {_short(e.get('prompt'))}")
            lines.append(f"  comment: {_short(e.get('comment') or e.get('rating'), 300)}")
            if e.get("error"):
                lines.append(f"  note: {_short(e['error'])}")
        self.query_one("#feedback-detail", Static).update(plain("\n".join(lines)))

    # -- corrections by hand, structuring again ---------------------------------------------------------
    def action_set_category(self, category: str) -> None:
        rec = self._record()
        if rec is None or getattr(self.session, "read_only", False):
            return
        from studio.analysis.feedback import correct

        try:
            correct(self.session, rec["id"], category)
        except StudioError as exc:
            self.notify(said(exc), severity="warning", markup=False)
            return
        self.notify(f"#{rec['id']}: {rec.get('category') or rec.get('status')} → {category}", markup=False,
                    timeout=3)
        table = self.query_one("#feedback-records", DataTable)
        if table.cursor_row is not None and table.cursor_row < len(self.shown) - 1:
            table.move_cursor(row=table.cursor_row + 1)         # like review: the next one is ready
        self.action_refresh()

    def action_restructure(self) -> None:
        if getattr(self.session, "read_only", False):
            self.notify("this session is open read-only", severity="warning", markup=False)
            return
        self._restructure()

    @work(thread=True, exclusive=True, group="feedback-import", exit_on_error=False)
    def _restructure(self) -> None:
        from studio.analysis.feedback import restructure

        model = refining_model(self.model)
        self.app.call_from_thread(self._state, f"structuring again with {model or 'the offline rules'}…")
        try:
            status = restructure(self.session, model=model, cache_dir=self.workspace.cache_dir,
                                 workspace=self.workspace)
        except StudioError as exc:  # a bug raises: the App reports it (crash report) and calls worker_failed
            self.app.call_from_thread(self._done, f"{exc}", True)
            return
        text = ", ".join(f"{n} {s}" for s, n in sorted(status.items())) or "nothing unstructured"
        self.app.call_from_thread(self._done, f"structured again ({model or 'offline rules'}): {text}", False)

    # -- import -----------------------------------------------------------------------------------------
    def action_import_file(self) -> None:
        if getattr(self.session, "read_only", False):
            self.notify("this session is open read-only", severity="warning", markup=False)
            return
        from studio.tui.screens.prompt import PromptScreen

        by = refining_model(self.model)
        self.app.push_screen(PromptScreen("Import feedback (JSONL, JSON, CSV or text)",
                                          placeholder="path/to/reviews.csv",
                                          hint=f"structured by the offline rules{f', refined by {by}' if by else ''}"
                                               " · enter: import · escape: cancel"),
                             lambda path: self._import(path.strip()) if path and path.strip() else None)

    # Not on the session thread (studio.tui.io): an import waits minutes on the model, and review keys queued
    # behind it would wait too. Session methods are thread-safe (one lock); the import only adds feedback.
    @work(thread=True, exclusive=True, group="feedback-import", exit_on_error=False)
    def _import(self, path: str) -> None:
        from studio.analysis.feedback import import_feedback

        model = refining_model(self.model)
        self.app.call_from_thread(self._state, f"importing {path} ({model or 'offline rules'})…")
        try:
            result = import_feedback(self.session, path, model=model, cache_dir=self.workspace.cache_dir,
                                     workspace=self.workspace)
        except StudioError as exc:
            self.app.call_from_thread(self._done, said(exc), True)
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
        from studio.analysis.drafting import NOT_DRAFTABLE

        if g.category in NOT_DRAFTABLE:
            self.notify(NOT_DRAFTABLE[g.category], severity="warning", markup=False)
            return
        self._draft(g)

    @work(thread=True, exclusive=True, group="feedback-draft", exit_on_error=False)
    def _draft(self, group) -> None:
        from studio.analysis.drafting import draft_template, save_draft

        try:
            folder = self.workspace.templates_dir
            draft = save_draft(draft_template(group, templates_dir=folder, session=self.session), folder,
                               self.session)
        except StudioError as exc:
            self.app.call_from_thread(self._done, said(exc), True)
            return
        self.app.call_from_thread(
            self._done, f"wrote {draft.path} ({draft.prompts} prompt(s) from {draft.source}) and added it to the session — "
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
