"""The main screen: editor, slots, sample stream and tagger on one screen, plus the status bar.

Layout and loading live here; the actions live in small mixins (review, editing, running) so each file
keeps one job. A new screen + key (e.g. analysis) is one Binding here and one `push_screen`.
"""

from __future__ import annotations

import time
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from studio.core.bulk import freeze_heap
from studio.tui.io import SessionIO
from studio.tui.messages import JobFailed, SamplesAdded, SessionReady
from studio.tui.screens.editing import EditingActions
from studio.tui.screens.review import ReviewActions
from studio.tui.screens.running import RunningActions
from studio.tui.widgets.editor import TemplateEditor
from studio.tui.widgets.footer import KeyFooter
from studio.tui.widgets.slots import SlotsPane
from studio.tui.widgets.statusbar import StatusBar
from studio.tui.widgets.stream import SampleList, StreamPane
from studio.tui.widgets.tagger import TaggerPane
from studio.tui.guard import ForwardWorkerErrors, guarded

RECOUNT_QUIET = 0.5  # seconds without a key before the status bar's counts are read again from the store
KEY_GAP = 0.12  # seconds after a key during which the text index build (a background thread) waits
INBOX_POLL = 0.5  # seconds between looks for other processes' additions (one listdir when there are none)
PANES = {"editor": "#template-text", "slots": "#slot-tree", "stream": "#samples", "tagger": "#tagger"}


@guarded
class MainScreen(ForwardWorkerErrors, ReviewActions, EditingActions, RunningActions, Screen):
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", id="main.help"),
        Binding("ctrl+g", "generate", "Generate", id="main.generate"),
        Binding("ctrl+t", "stop", "Stop run", id="main.stop"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="main.regenerate"),
        Binding("ctrl+o", "export", "Export", id="main.export"),
        Binding("f2", "focus_pane('editor')", "Focus editor", show=False, id="main.focus_editor"),
        Binding("f3", "focus_pane('slots')", "Focus slots", show=False, id="main.focus_slots"),
        Binding("f4", "focus_pane('stream')", "Focus samples", show=False, id="main.focus_stream"),
        Binding("f5", "focus_pane('tagger')", "Focus tagger", show=False, id="main.focus_tagger"),
        Binding("f9", "zoom", "Zoom pane", show=False, id="main.zoom"),
        # issue 6 (feedback loop): screens in screens/analysis.py and screens/feedback.py
        Binding("f6", "analysis", "Analysis", show=False, id="main.analysis", priority=True),  # over TextArea's f6
        Binding("f7", "feedback", "Feedback", show=False, id="main.feedback", priority=True),
        Binding("f8", "compare_answers", "Compare answers", show=False, id="main.pair"),
    ]

    def __init__(self, workspace: Any, session_name: str | None, *, template: str | None = None,
                 create: bool = True, new: bool = False) -> None:
        super().__init__()
        self.workspace = workspace
        self.session_name = session_name
        self.template_option, self.create_option, self.new_option = template, create, new
        self.store: Any = None
        self.session: Any = None
        self.io: SessionIO | None = None
        self.filters: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.labels: list[str] = []
        self.ready = False
        self.engine_default = "render"
        self._focus_pending: str | None = None

    # -- layout -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(icon="≡")
        # two columns: authoring (template over slots) and review (samples over the review pane); at 80
        # columns, while the samples or the review pane has focus, the authoring column makes way (app.tcss)
        with Horizontal(id="panes"):
            with Vertical(id="authoring"):
                editor = TemplateEditor(id="editor", classes="pane")
                editor.border_title = "template"
                yield editor
                slots = SlotsPane(id="slots", classes="pane")
                slots.border_title = "slots & personas"
                yield slots
            with Vertical(id="reviewing"):
                with StreamPane(id="stream", classes="pane"):
                    yield Static("loading session…", id="stream-title", markup=False)
                    yield SampleList(id="samples")
                tagger = TaggerPane(id="tagger", classes="pane")
                tagger.border_title = "review"
                yield tagger
        yield StatusBar(id="status")
        # the footer (a widget per key) comes after the first frame; this line keeps its place meanwhile
        yield Static("", id="footer-placeholder")

    @property
    def stream(self) -> SampleList:
        return self.query_one(SampleList)

    @property
    def editor(self) -> TemplateEditor:
        return self.query_one(TemplateEditor)

    @property
    def tagger(self) -> TaggerPane:
        return self.query_one(TaggerPane)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def on_mount(self) -> None:
        self.title = "studio"
        self.sub_title = "loading…"
        self.query_one("#stream").border_title = "samples"
        self.stream.focus()
        # paint first: the editor and slots panes' widgets, and the store load (a worker thread holding the
        # GIL), must not hold up the first frame
        self.call_after_refresh(self._after_first_frame)

    async def _after_first_frame(self) -> None:
        if not self.is_attached:  # the app is already leaving (e.g. quit at once)
            return
        await self.query_one("#footer-placeholder").remove()
        await self.mount(KeyFooter(compact=True))
        await self.editor.build()
        await self.query_one(SlotsPane).build()
        if self._focus_pending is not None:
            self.action_focus_pane(self._focus_pending)
        self.set_timer(0.02, self._load)

    # -- loading (off the UI thread) -------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self) -> None:
        from studio.tui.loader import open_session

        # Errors raise: the App shows them titled "Cannot open the session" (a bug leaves a crash report).
        loaded = open_session(self.workspace, self.session_name, template=self.template_option,
                              create=self.create_option, new=self.new_option)
        loaded.ids = loaded.session.ids()
        loaded.counts = self._session_counts(loaded.session)
        rows = [loaded.session.get(i) for i in loaded.ids[-150:]]  # the newest: what shows first
        from studio.engine import default_model

        self.engine_default = default_model((loaded.session.meta or {}).get("model"))
        self.app.call_from_thread(self._loaded, loaded, rows)

    def _loaded(self, loaded: Any, rows: list[dict]) -> None:
        self.store, self.session = loaded.store, loaded.session
        self.io = SessionIO(self.app)
        from studio.tui.format import VERSION_LABELS

        VERSION_LABELS.clear()
        VERSION_LABELS.update(loaded.version_labels)
        self.session_name = self.session.name
        self.labels = list(self.session.labels)
        self.ready = True
        self.title = f"studio · {self.session.name}" + (" (read-only)" if self.session.read_only else "")
        if loaded.template_path is not None:
            self.editor.load(loaded.template_name, loaded.template_path, loaded.template_text)
        self.stream.update_rows(rows)
        self.stream.set_ids(loaded.ids)
        self._update_layout()
        self.refresh_bindings()
        self._show_counts(loaded.counts)
        self.status.model = self._default_model()
        self.tagger.show(None, self.labels)
        self._update_stream_title()
        self._update_saved_state()
        if self.session.read_only:
            self.notify(f"another studio has this session open ({getattr(self.session, 'locked_by', '?')}); "
                        "you can look but not change it", title="Read-only", severity="warning", markup=False)
        self.app.post_message(SessionReady())
        if not self.session.read_only:  # other shells' runs, regenerations and feedback imports arrive here
            self.set_interval(INBOX_POLL, self._poll_inbox)
        freeze_heap()                  # the session's index and the first frame's widgets: long-lived
        if len(self.session):
            self._build_text_index()
        self.set_timer(0.3, self.prepare_filter_dialog)

    @work(thread=True, exclusive=True, group="text-index", exit_on_error=False)
    def _build_text_index(self) -> None:
        """The text filter's word index (studio.store.textindex), built once in the background: a text filter
        then takes milliseconds, not a scan of the file. Until it is built, a text filter scans (same answer)."""
        from studio.store.errors import StoreError

        session = self.session
        if session is None:
            return
        app = self.app

        def pause() -> None:  # not while a key's frame is being made: the build waits for a gap between keys
            while time.monotonic() - getattr(app, "last_key_at", 0.0) < KEY_GAP and self.session is session:
                time.sleep(KEY_GAP / 4)

        try:
            session.build_text_index(pause)
        except (OSError, StoreError):  # closed meanwhile, or the file went away: filters scan, as before
            return
        freeze_heap()                  # its 100,000 posting arrays live as long as the session

    _inbox_busy = False

    def _poll_inbox(self) -> None:
        """Fold what other processes added (studio.store.inbox) on the session thread; show it arriving."""
        if self._inbox_busy or self.io is None or self.session is None:
            return
        self._inbox_busy = True
        session = self.session

        def fold() -> list[int]:
            try:
                before = len(session.interrupted_runs)
                ids = session.fold_inbox()
                if len(session.interrupted_runs) > before:   # a guest killed mid-run (fold_inbox marks it)
                    runs = {r.get("run_id"): r for r in session.runs()}
                    for run_id in session.interrupted_runs[before:]:
                        self.app.call_from_thread(self._guest_interrupted, run_id, runs.get(run_id) or {})
                return ids
            except Exception as exc:  # noqa: BLE001 - one bad inbox never stops the review (a bug: crash report)
                self.app.post_message(JobFailed(f"{type(exc).__name__}: {exc}", title="Another process's additions",
                                                error=exc, where="folding a guest inbox"))
                return []

        self.io.submit(fold, done=self._inbox_folded)

    def _guest_interrupted(self, run_id: str, run: dict) -> None:
        """Say that another shell's run ended before it finished, what it kept, and how to continue."""
        self.notify(f"run {run_id} ({run.get('template') or '?'}) from another shell was interrupted: its process "
                    f"ended before it finished; {run.get('saved', 0)} sample(s) kept. To continue, run the same "
                    "command again.", title="Interrupted run", severity="warning", timeout=15, markup=False)

    def _inbox_folded(self, ids: list[int]) -> None:
        self._inbox_busy = False
        if ids:
            from studio.tui.format import set_version_labels

            set_version_labels(self.session)
            self.post_message(SamplesAdded(list(ids)))
            self.notify(f"{len(ids)} sample(s) added from another process", markup=False)

    # -- shared helpers ---------------------------------------------------------------------------------
    def _writable(self) -> bool:
        if not self.ready:
            self.notify("the session is still loading", severity="warning", markup=False)
            return False
        if self.session.read_only:
            self.notify("this session is open read-only (another studio holds it)", severity="warning",
                        markup=False)
            return False
        return True

    @staticmethod
    def _session_counts(session: Any) -> dict[str, Any]:
        """The store's counts and the session's cost (both from the index), read together on the session thread."""
        return {**session.counts(), "cost": session.cost()}

    def _show_counts(self, counts: dict[str, Any]) -> None:
        self.counts = dict(counts.get("status", counts))
        self.status.counts = dict(self.counts)
        if "cost" in counts:
            self.status.cost = counts["cost"]
        if "flags" in counts:  # flags never change with a review key: only what the store counted
            self.status.flags = dict(counts["flags"])
        if not self.has_class("-reviewing") or self.has_class("-wide"):
            self._refresh_value_stats()

    def _refresh_counts(self, recount_in: float = 0.8) -> None:
        """Show the counts now (the key's own frame: one line), then recount from the store once the keys
        stop (a safety net: every key keeps the optimistic counts exact)."""
        if self.io is None:
            return
        self._count_gen = getattr(self, "_count_gen", 0) + 1
        self.status.counts = dict(self.counts)
        if getattr(self, "_count_timer", None) is not None:
            self._count_timer.stop()
        self._count_timer = self.set_timer(recount_in, self._recount_when_keys_stop)

    def _recount_when_keys_stop(self) -> None:
        """The safety net's recount, once no key came for RECOUNT_QUIET s (not 0.8 s after the last key that
        changed a count while j, k, PgUp… go on: its frame would land on theirs)."""
        quiet_for = time.monotonic() - getattr(self.app, "last_key_at", 0.0)
        if quiet_for < RECOUNT_QUIET:
            self._count_timer = self.set_timer(RECOUNT_QUIET - quiet_for, self._recount_when_keys_stop)
        else:
            self._recount()

    def _recount(self) -> None:
        if self.io is not None:
            self.io.submit(self._session_counts, self.session, done=self._counts_shower())

    def _counts_shower(self):
        """A callback showing counts read from the store, unless a key changed the counts after this was made
        (its optimistic change is newer than what the store had then): then count again."""
        gen = getattr(self, "_count_gen", 0)

        def show(counts: dict) -> None:
            if getattr(self, "_count_gen", 0) == gen:
                self._show_counts(counts)
            else:
                self._recount()

        return show

    def _update_stream_title(self) -> None:
        from studio.tui.values import value_filter_text

        f = ", ".join(value_filter_text({k: v}) if k in ("slot", "persona") else "flag=clean" if (k, v) == ("flag", "")
                      else f"{k}={v if k != 'version' else str(v)[:6]}" for k, v in self.filters.items())
        shown = len(self.stream.ids)
        self.stream.empty_message = (f" no sample matches the filter ({f}) — press / to change it" if f else
                                     " no samples yet — press ctrl+g to generate")
        self.query_one("#stream-title", Static).update(
            f"{shown:,} shown" + (f" · filter {f}" if f else " · all") + " · / filter · enter detail")

    def _update_saved_state(self) -> None:
        editor = self.editor
        name = editor.name_label or "(no template)"
        state = "UNSAVED changes" if editor.dirty else "saved as a draft (cannot render)" if editor.draft else "saved"
        self.sub_title = f"{name} · {state}"
        editor.border_title = f"template {name}{' *' if editor.dirty else ''}"

    def on_template_editor_dirty_changed(self, event: TemplateEditor.DirtyChanged) -> None:
        self._update_saved_state()

    def on_template_editor_analysed(self, event: TemplateEditor.Analysed) -> None:
        self._update_saved_state()
        analysis = event.analysis
        if self.ready and self._run_control is None:
            self.status.model = self._default_model()
        slots = self.query_one(SlotsPane)
        if analysis.template is not None:
            slots.show(analysis.template, analysis.plan, analysis.file_values)
        elif analysis.problems:
            slots.show_error(analysis.problems[0].message)

    def _default_model(self) -> str:
        template = self.editor.analysis.template if self.editor.analysis else None
        if template is not None and template.mode == "render":
            return "render"
        if template is not None and template.model:
            return template.model
        return self.engine_default

    # -- focus, zoom, help ---------------------------------------------------------------------------------
    def on_descendant_focus(self, event) -> None:
        self._update_layout()

    def _update_layout(self) -> None:
        """Reviewing (the samples or the review pane focused, the session has samples) or authoring: at 80
        columns the reviewing layout gives the screen to the samples and the text under judgement."""
        focused = self.focused
        reviewing = (focused is not None and (bool(self.stream.ids) or bool(self.filters))
                     and any(w.id in ("stream", "tagger") for w in focused.ancestors_with_self))
        self.set_class(reviewing, "-reviewing")
        if not reviewing or self.has_class("-wide"):
            self._refresh_value_stats()

    def _refresh_value_stats(self) -> None:
        """Each slot value's sample count and accept rate for the slots pane, counted from the index in a
        worker (never on the session thread: a large session takes a moment) while the pane is on screen."""
        if not (self.ready and self.session is not None and self.query(SlotsPane)):
            return
        if getattr(self, "_stats_timer", None) is None:  # at most one count every 2 s (a run adds fast)
            self._value_stats_worker()
            self._stats_timer = self.set_timer(2.0, self._stats_due)
        else:
            self._stats_again = True

    def _stats_due(self) -> None:
        self._stats_timer = None
        if getattr(self, "_stats_again", False):
            self._stats_again = False
            self._refresh_value_stats()

    @work(thread=True, exclusive=True, group="value-stats", exit_on_error=False)
    def _value_stats_worker(self) -> None:
        from studio.tui.values import value_stats

        stats = value_stats(self.session)
        self.app.call_from_thread(self.query_one(SlotsPane).set_stats, stats)

    def action_focus_pane(self, pane: str) -> None:
        # set_focus now (not widget.focus(), which is deferred): keys typed ahead must land in the new pane
        target = self.query(PANES[pane])
        if not target:  # pressed before the editor/slots panes are built (just after start): focus them then
            self._focus_pending = pane
            return
        self._focus_pending = None
        self.set_focus(target.first())

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        pane = next((w for w in (focused.ancestors_with_self if focused else []) if "pane" in w.classes), None)
        if pane is not None:
            self.maximize(pane, container=False)

    def action_help(self) -> None:
        from studio.tui.screens.help import HelpScreen, binding_rows

        self.app.push_screen(HelpScreen(binding_rows(self.app, self)))

    # -- issue 6 (feedback loop): analysis and feedback screens; all their logic is in studio.analysis ------
    def action_analysis(self) -> None:
        if self.ready:
            from studio.tui.screens.analysis import AnalysisScreen

            self.app.push_screen(AnalysisScreen(self.session, self.workspace, self.filters, self.engine_default))

    def action_feedback(self) -> None:
        if self.ready:
            from studio.tui.screens.feedback import FeedbackScreen

            self.app.push_screen(FeedbackScreen(self.session, self.workspace, self.engine_default))

    def action_compare_answers(self) -> None:
        """Two answers to the selected sample's prompt side by side; a key saves which is better."""
        if not self._writable():
            return
        sid = self.stream.current_id
        if sid is None:
            self.notify("select a sample first", severity="warning", markup=False)
            return
        from studio.tui.screens.pair import PairScreen

        self.app.push_screen(PairScreen(self.session, self.io, sid))

    # -- leaving ----------------------------------------------------------------------------------------
    def on_unmount(self) -> None:
        self.close_session()  # however the app ends, queued decisions are written and the lock released

    def close_session(self) -> None:
        """Stop a run (keeping what completed), write every queued decision, release the session."""
        self.stop_run(quiet=True)
        if self.io is not None:
            self.io.flush()
            self.io.close()
            self.io = None
        if self.session is not None:
            try:
                self.session.close()
            except Exception as exc:  # noqa: BLE001 - leaving must not fail
                self.log.error(f"closing the session: {exc}")
            self.session = None
            self.ready = False
