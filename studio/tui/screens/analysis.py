"""The analysis screen (issues 6, 18): where failures come from, two versions side by side, the verifier.

All the work is studio.analysis (the same as `studio report` / `studio verify`); this screen only runs
it in a worker thread and shows its pictures (studio.analysis.pictures: accept rate per version over time,
failures per slot value as a heat map, cost per accepted sample, review pace) and rich tables. Keys: c compare the last two versions of a template,
t next template, v verify the samples the main screen shows, d disagreements, f feedback, r refresh.
"""

from __future__ import annotations

from pathlib import Path

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from studio.core.errors import StudioError
from studio.tui.guard import ForwardWorkerErrors, guarded

VERIFY_LIMIT = 500  # samples per press of v; the rest on the next press


@guarded
class AnalysisScreen(ForwardWorkerErrors, Screen):
    HELP_GROUP = "analysis"
    CSS_PATH = str(Path(__file__).with_name("analysis.tcss"))
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="analysis.close"),
        Binding("r", "show('report')", "Report", id="analysis.report"),
        Binding("c", "show('compare')", "Compare versions", id="analysis.compare"),
        Binding("t", "next_template", "Next template", id="analysis.next_template"),
        Binding("v", "verify", "Verify shown", id="analysis.verify"),
        Binding("d", "show('disagreements')", "Disagreements", id="analysis.disagreements"),
        Binding("f", "feedback", "Feedback", id="analysis.feedback"),
        Binding("s", "samples_with", "Samples with…", id="analysis.samples_with"),
    ]

    def __init__(self, session: Any, workspace: Any, filters: dict | None = None, model: str = "render") -> None:
        super().__init__()
        self.session, self.workspace = session, workspace
        self.filters = dict(filters or {})
        self.model = model
        self.mode = "report"
        self.templates: list[str] = []
        self.template: str | None = self.filters.get("template")
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header(icon="≡")
        yield Static("", id="analysis-state", markup=False)
        with VerticalScroll(id="analysis-scroll"):
            yield Static("computing…", id="analysis-body", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"analysis · {self.session.name}"
        self.query_one("#analysis-scroll").focus()
        self.action_show("report")

    # -- what is shown ----------------------------------------------------------------------------------
    def action_show(self, mode: str) -> None:
        self.mode = mode
        self._state("computing…")
        self._compute(mode, self.template)

    def action_next_template(self) -> None:
        if not self.templates:
            return
        i = self.templates.index(self.template) + 1 if self.template in self.templates else 0
        self.template = self.templates[i % len(self.templates)]
        self.action_show(self.mode if self.mode != "report" else "compare")

    # Not on the session thread (studio.tui.io): a scan of a large session takes seconds and would hold the
    # review writes queued behind it. It only reads, and Session methods are thread-safe (one lock).
    @work(thread=True, exclusive=True, group="analysis", exit_on_error=False)
    def _compute(self, mode: str, template: str | None) -> None:
        try:
            renderable, state = self._build(mode, template)
        except StudioError as exc:  # nothing to show yet (e.g. no second version): said in the pane
            renderable, state = str(exc), f"{mode}: nothing to show"
        self.app.call_from_thread(self._show, renderable, state)  # a bug raises: the App reports it

    def _build(self, mode: str, template: str | None):
        from rich.console import Group
        from rich.text import Text

        from studio.analysis import tables
        from studio.analysis.attribution import analyse_session
        from studio.analysis.verify import agreement, disagreements, verified_samples

        session = self.session
        names = sorted({name for (name, _v) in (session.counts().get("versions") or {})})
        self.templates = names
        if mode == "compare":
            from studio.analysis.compare import compare_in_session

            template = template or _most_versions(session, names)
            if template is None:
                raise StudioError("no template has two saved versions yet",
                                  hint="edit and save a template (ctrl+s), generate, then compare")
            self.template = template
            return tables.comparison(compare_in_session(session, template)), f"compare · {template} · t: next template"
        verified = verified_samples(session)            # only the samples with a double-check verdict are read

        if mode == "disagreements":
            differ = disagreements(verified)
            if not differ:
                return Text("no disagreements between the verifier and your decisions"), "disagreements"
            return (tables.disagreements_table(differ, more=f"`studio verify {session.name} --disagreements --json` "
                                                            "lists every id"), f"disagreements · {len(differ)}")
        report = analyse_session(session)              # counted from the store's index, no sample parsed
        if not report.templates:
            return Text("no samples yet — generate some first"), "report"
        from studio.analysis.pictures import from_session, pictures

        # pictures first: a curator looks before reading; the tables follow for the exact numbers. The
        # verifier's agreement comes above them: it is what `v` asks for.
        labels = session.version_labels()
        parts: list = [tables.flags_text(report), Text("")]
        agree = agreement(verified)
        if agree:
            parts.append(tables.agreement_table(agree))
        more = f"`studio report {session.name} --top N` lists more, --json every value"
        parts += [pictures(from_session(session, report), labels, more=more), Text(""),
                  tables.versions_table(report, f"session {session.name}", labels)]
        for tr in report.templates:
            parts += tables.value_tables(tr, more=more)
        return Group(*parts), f"report · {len(report.flags)} flag(s) · c compare · v verify · f feedback"

    def _show(self, renderable: Any, state: str) -> None:
        self.query_one("#analysis-body", Static).update(renderable)
        self._state(state)

    def _state(self, text: str) -> None:
        self.query_one("#analysis-state", Static).update(text)

    # -- verify -----------------------------------------------------------------------------------------
    def action_verify(self) -> None:
        if self.busy:
            self.notify("already verifying", markup=False)
            return
        if getattr(self.session, "read_only", False):
            self.notify("this session is open read-only", severity="warning", markup=False)
            return
        if self.model == "render":
            self.notify("the verifier needs a model: set STUDIO_MODEL or the session's model", severity="warning",
                        markup=False)
            return
        self.busy = True
        self._state(f"verifying with {self.model}…")
        self._verify()

    # Own thread, not the session thread: it waits on the model; its writes (update_sample) take the lock.
    @work(thread=True, exclusive=True, group="verify", exit_on_error=False)
    def _verify(self) -> None:
        from studio.analysis.verify import checker_template, verdict_of, verify_samples

        try:
            keys = ("status", "tag", "template", "version", "slot", "text")
            ids = []
            for s in self.session.iter_samples(**{k: v for k, v in self.filters.items() if k in keys}):
                if s.get("status") != "failed" and verdict_of(s) is None and s.get("output"):
                    ids.append(s["id"])
                    if len(ids) >= VERIFY_LIMIT:
                        break
            result = verify_samples(self.session, ids, model=self.model, template=checker_template(self.workspace),
                                    cache_dir=self.workspace.cache_dir)
            verdicts = ", ".join(f"{n} {v}" for v, n in sorted(result.verdicts.items())) or "none"
            text = f"verified {result.verified} sample(s): {verdicts}; {len(result.failed)} failed"
            self.app.call_from_thread(self._verified, text, bool(result.failed))
        except StudioError as exc:
            self.app.call_from_thread(self._verified, str(exc), True)

    def worker_failed(self, group: str, text: str) -> None:
        """A bug in a worker (the App has shown it and kept a crash report): leave the screen usable."""
        if group == "verify":
            self.busy = False
        self._state("error: see the notification")

    def _verified(self, text: str, problem: bool) -> None:
        self.busy = False
        self.notify(text, title="Verify", severity="warning" if problem else "information", markup=False)
        self.action_show("report")

    # -- leaving / elsewhere --------------------------------------------------------------------------------
    def action_feedback(self) -> None:
        from studio.tui.screens.feedback import FeedbackScreen

        self.app.push_screen(FeedbackScreen(self.session, self.workspace, self.model))

    def action_close(self) -> None:
        self.app.pop_screen()

    # -- "show me the samples with audience=a ten-year-old" (issue 16 §4) ---------------------------------
    def action_samples_with(self) -> None:
        self._state("counting slot values and persona attributes…")
        self._value_stats()

    @work(thread=True, exclusive=True, group="analysis", exit_on_error=False)
    def _value_stats(self) -> None:
        from studio.tui.values import value_stats

        stats = value_stats(self.session, self.template)
        self.app.call_from_thread(self._pick_value, stats)

    def _pick_value(self, stats: list) -> None:
        from studio.tui.screens.pick import PickScreen

        self._state("")
        if not stats:
            self.notify("no slot values or persona attributes recorded in this session", markup=False)
            return
        items = [(str(i), f"{v.label} · {v.samples:,} samples · accept {v.rate}") for i, v in enumerate(stats)]

        def picked(choice: str | None) -> None:
            if choice is None:
                return
            main = next((s for s in self.app.screen_stack if hasattr(s, "_reload_ids")), None)
            if main is None:
                return
            main.filters = dict(stats[int(choice)].filter)
            main._reload_ids()
            self.app.pop_screen()  # back to the stream, showing those samples

        self.app.push_screen(PickScreen("Show the samples with (worst accept rate first)", items), picked)


def _most_versions(session, names: list[str]) -> str | None:
    best, most = None, 1
    for name in names:
        n = len(session.template_versions(name))
        if n > most:
            best, most = name, n
    return best
