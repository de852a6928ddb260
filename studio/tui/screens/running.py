"""Generation actions of the main screen: the form, the run worker, stop, and regenerate-after-edit.

The run itself is `studio.runs.run` (shared with the CLI); this only starts it in a worker thread and shows
its progress. Results arrive as SamplesAdded / RunProgress messages that merge when they come fast.
"""

from __future__ import annotations

from typing import Any

from textual import work

from studio.core.errors import StudioError
from studio.tui.messages import JobFailed, RunFinished, RunProgress, SamplesAdded
from studio.tui.guard import guarded, said


def model_choices(template: Any, session_meta: dict) -> list[str]:
    """Configured models first (template, session, $STUDIO_MODELS, the engine default), then local and render."""
    out: list[str] = []
    if template is not None and template.model:
        out.append(template.model)
    if session_meta.get("model"):
        out.append(session_meta["model"])
    from studio.core.settings import settings

    out += settings().models
    try:
        from studio.engine import default_model

        out.append(default_model(session_meta.get("model")))
    except Exception:  # noqa: BLE001 - no engine default configured is fine
        pass
    out += ["local/smollm2", "render"]
    return list(dict.fromkeys(out))


def remember_choice(remembered: dict, template: str, opts: dict) -> dict:
    """The session's `generate` memory after the form's choice `opts`, per template and as the last ("*").
    A `render` preview is not remembered at all: the next run of any template keeps the last real model and
    endpoint (it would otherwise silently make previews)."""
    if opts.get("model") == "render":
        return dict(remembered)
    keep = {k: opts.get(k) for k in ("model", "model_text", "api_base", "concurrency", "answers")}
    return {**remembered, template: keep, "*": keep}


@guarded
class RunningActions:
    """Mixed into MainScreen."""

    _run_control: Any = None

    def action_generate(self) -> None:
        if not self._writable():
            return
        analysis = self.editor.analysis
        if analysis is None or analysis.template is None:
            problem = analysis.problems[0] if analysis and analysis.problems else None
            self.notify(f"cannot generate: {problem or 'the template is still loading'}", severity="error",
                        markup=False)
            return
        if self._run_control is not None:
            self.notify("a run is already going — ctrl+t stops it", severity="warning", markup=False)
            return
        if self.editor.dirty:
            self.notify("generating from the unsaved text; ctrl+s saves it as a version", markup=False)
        from studio.tui.screens.generate import GenerateScreen

        template = analysis.template
        remembered = ((self.session.meta or {}).get("generate") or {})
        mine = remembered.get(template.name) or remembered.get("*") or {}
        default = mine.get("model") if mine.get("model") and not mine.get("model_text") else self._default_model()
        if "api_base" not in mine:   # never chosen in this form: the endpoint that model last ran at (studio run
            # --api-base from a shell), so the form does not send it to the provider's default instead
            last = next((r for r in reversed(self.session.runs()) if r.get("model") == default and r.get("endpoint")),
                        None)
            if last is not None:
                mine = {**mine, "api_base": last["endpoint"]}
        form = GenerateScreen(model_choices(template, self.session.meta or {}), model=default,
                              count=template.combine.n, strategy=template.combine.strategy,
                              seed=template.combine.seed, prompt_counts=getattr(analysis.plan, "counts", None),
                              space=getattr(analysis.plan, "size", None), remembered=mine,
                              mode=template.mode, template=template.name)

        def chosen(opts: dict | None) -> None:
            if not opts:
                return
            if opts.get("add_slot"):
                self.action_focus_pane("slots")
                self.notify("a = add a value to the selected slot (or write a new slot in the template)",
                            markup=False)
                return
            # remembered per template and as the session's last choice (model, endpoint, parallel, answers)
            self.io.submit(self.session.set_meta, generate=remember_choice(remembered, template.name, opts))
            self.start_run(opts)

        self.app.push_screen(form, chosen)

    def start_run(self, opts: dict[str, Any], *, only: str | None = None) -> None:
        """Start generation with the editor's text (saved as a version first, so samples link to it)."""
        text, path = self.editor.text, self.editor.path
        self.status.model = opts.get("model") or ("old samples' models" if only == "regenerate" else "render")
        self.status.run = {"running": True, "in_flight": 0, "done": 0, "failed": 0, "tokens": 0, "cost": 0.0}
        self._run_control = {"stop": False, "run": None}
        self._run_worker(text, str(path) if path else None, dict(opts), self._run_control, only)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="run", exit_on_error=False)
    def _run_worker(self, text: str, path: str | None, opts: dict, control: dict, only: str | None) -> None:
        from studio.tui.run_bridge import run_generation

        stats: dict[str, Any] = {"running": True, "in_flight": 0, "done": 0, "failed": 0, "tokens": 0,
                                 "cost": 0.0}
        try:
            run_generation(self.workspace, self.session, text, path, opts, control, stats, only=only,
                           on_samples=lambda ids: self.post_message(SamplesAdded(ids)),
                           on_progress=lambda: self.post_message(RunProgress(dict(stats))))
        except StudioError as exc:  # a provider or template problem: the run ends with its message
            self.post_message(RunFinished(dict(stats), said(exc)))
            return
        # anything else is a bug: it raises; the App reports it (crash report) and calls worker_failed
        self.post_message(RunFinished(dict(stats)))

    def worker_failed(self, group: str, text: str) -> None:
        """A worker of this screen failed (the App has shown why): a failed run no longer counts as going."""
        if group == "run":
            self._run_control = None
            self.refresh_bindings()
            self.status.run = {**(self.status.run or {}), "running": False, "in_flight": 0}
            self.status.model = self._default_model()
            self._refresh_counts()

    def on_samples_added(self, event: SamplesAdded) -> None:
        if self.filters:   # the view follows new samples when it was at the newest one, as without a filter
            ids = self.stream.ids
            self._reload_ids(follow=not ids or self.stream.cursor >= len(ids) - 1)
        else:
            empty = not self.stream.ids
            self.stream.append_ids(list(event.ids))
            self._update_stream_title()
            if empty:
                self.refresh_bindings()
                self._update_layout()
        self._recount()  # the new samples are in the store already: count them now

    def on_run_progress(self, event: RunProgress) -> None:
        self.status.run = {**event.stats, "running": True}

    def on_run_finished(self, event: RunFinished) -> None:
        stopped = bool(self._run_control and self._run_control.get("stop")) or bool(event.stats.get("stopped"))
        self._run_control = None
        self.refresh_bindings()
        self.status.run = {**event.stats, "running": False, "stopped": stopped, "in_flight": 0}
        self.status.model = self._default_model()   # the run's model only while it runs; then the next one's
        self._refresh_counts()
        if event.error:
            self.app.post_message(JobFailed(event.error, title="Generation failed"))
        else:
            s = event.stats
            self.notify(f"run {'stopped' if stopped else 'finished'}: {s.get('done', 0)} done, "
                        f"{s.get('failed', 0)} failed", markup=False)

    def action_stop(self) -> None:
        if not self.stop_run():
            self.notify("no run is going", markup=False)

    def stop_run(self, quiet: bool = False) -> bool:
        control = self._run_control
        if control is None:
            return False
        control["stop"] = True
        run = control.get("run")
        if run is not None:
            try:
                run.stop()
            except Exception:  # noqa: BLE001
                pass
        if not quiet:
            self.notify("stopping: samples already made are kept", markup=False)
        return True

    def action_regenerate(self) -> None:
        """Regenerate what the last edit changed (studio.analysis.regenerate): first the plan, then a yes."""
        if not self._writable():
            return
        if self.editor.dirty:
            self.notify("save the template first (ctrl+s): regenerated samples link to its new version",
                        severity="warning", markup=False)
            return
        if self._run_control is not None:
            self.notify("a run is already going — ctrl+t stops it", severity="warning", markup=False)
            return
        text, path = self.editor.text, self.editor.path
        session = self.session

        def plan() -> Any:
            from studio.core.template import parse_template
            from studio.tui.run_bridge import regeneration_plan

            return regeneration_plan(session, parse_template(text, path), redo_rejected=True)

        self.io.submit(plan, done=self._confirm_regeneration)

    def _confirm_regeneration(self, plan: Any) -> None:
        from studio.tui.screens.confirm import ConfirmScreen
        redo = len(plan.redo)
        changed = len(plan.changed)
        if not changed and not redo:
            self.notify(f"nothing to regenerate: {plan.describe()}", markup=False)
            return
        models = ", ".join(dict.fromkeys(m or "the default model" for m, _ in plan.models())) or "-"
        label = self.session.version_display(plan.template, plan.new_version)
        if not self.session.version_label(plan.template, plan.new_version):   # not saved yet: a data-file edit
            label = f"new {label}"
        lines = [f"Regenerate {plan.template} with {label}: {changed} changed prompt(s), by the model(s) that "
                 f"made them ({models})."]
        if plan.retired:
            lines.append(f"{len(plan.retired)} fill(s) retired: {plan.retired[0][1]}"
                         + (" …" if len(plan.retired) > 1 else ""))
        if plan.unbuildable:
            lines.append(f"{len(plan.unbuildable)} the new version cannot render: {plan.unbuildable[0][1]}")
        lines.append(f"{len(plan.unchanged)} unchanged keep their samples and decisions.")
        also, yes = None, "Regenerate"
        if not changed:   # only the redo is on offer: it is what y does (a "Regenerate" that did nothing was)
            lines[0] = f"No prompt of {plan.template} changed."
            lines.append(f"y: redo the {redo} rejected/failed whose prompt did not change (fresh seed).")
            yes = f"Redo {redo}"
        elif redo:
            lines.append(f"a: also redo the {redo} rejected/failed whose prompt did not change (fresh seed).")
            also = f"+ redo {redo}"

        def answer(value: Any) -> None:
            if value == "also" or (value is True and not changed):
                self.start_run({"model": None, "redo_rejected": True}, only="regenerate")
            elif value == "other":
                self._pick_regeneration_model(bool(redo) and not changed)
            elif value:
                self.start_run({"model": None}, only="regenerate")

        self.app.push_screen(ConfirmScreen("\n".join(lines), yes=yes, also=also, other="another model"), answer)

    def _pick_regeneration_model(self, redo: bool) -> None:
        """The person picks the model (the default is the one that made each sample)."""
        from studio.tui.screens.pick import PickScreen

        template = self.editor.analysis.template if self.editor.analysis else None
        choices = [(m, m) for m in model_choices(template, self.session.meta or {}) if m != "render"]

        def picked(model: str | None) -> None:
            if model:
                self.start_run({"model": model, "redo_rejected": redo}, only="regenerate")

        self.app.push_screen(PickScreen("Regenerate with which model?", choices), picked)

    def action_export(self) -> None:
        if not self.ready:
            return
        from studio.tui.screens.export import ExportScreen

        io = self.io
        self.app.push_screen(ExportScreen(self.session, self.workspace, self.filters,
                                          flush=io.flush if io is not None else None))
