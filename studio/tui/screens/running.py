"""Generation actions of the main screen: the form, the run worker, stop, and regenerate-after-edit.

The run itself is `studio.runs` (shared with the CLI); this only starts it in a worker thread and shows
its progress. Results arrive as SamplesAdded / RunProgress messages that merge when they come fast.
"""

from __future__ import annotations

import os
from typing import Any

from textual import work

from studio.core.errors import StudioError
from studio.tui.messages import JobFailed, RunFinished, RunProgress, SamplesAdded
from studio.tui.guard import guarded


def model_choices(template: Any, session_meta: dict) -> list[str]:
    """Configured models first (template, session, $STUDIO_MODELS, the engine default), then local and render."""
    out: list[str] = []
    if template is not None and template.model:
        out.append(template.model)
    if session_meta.get("model"):
        out.append(session_meta["model"])
    out += [m.strip() for m in os.environ.get("STUDIO_MODELS", "").split(",") if m.strip()]
    try:
        from studio.engine import default_model

        out.append(default_model(session_meta.get("model")))
    except Exception:  # noqa: BLE001 - no engine default configured is fine
        pass
    out += ["local/smollm2", "render"]
    return list(dict.fromkeys(out))


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
        default = self._default_model()
        form = GenerateScreen(model_choices(template, self.session.meta or {}), model=default,
                              count=template.combine.n, strategy=template.combine.strategy,
                              seed=template.combine.seed, prompt_counts=getattr(analysis.plan, "counts", None))
        self.app.push_screen(form, lambda opts: self.start_run(opts) if opts else None)

    def start_run(self, opts: dict[str, Any], *, only: str | None = None) -> None:
        """Start generation with the editor's text (saved as a version first, so samples link to it)."""
        text, path = self.editor.text, self.editor.path
        self.status.model = opts.get("model") or "render"
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
        except StudioError as exc:
            self.post_message(RunFinished(dict(stats), str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - a provider failure is a notification, not a crash
            self.post_message(RunFinished(dict(stats), f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(RunFinished(dict(stats)))

    def on_samples_added(self, event: SamplesAdded) -> None:
        if self.filters:
            self._reload_ids()
        else:
            empty = not self.stream.ids
            self.stream.append_ids(list(event.ids))
            self._update_stream_title()
            if empty:
                self.refresh_bindings()
        self._recount()  # the new samples are in the store already: count them now

    def on_run_progress(self, event: RunProgress) -> None:
        self.status.run = {**event.stats, "running": True}

    def on_run_finished(self, event: RunFinished) -> None:
        stopped = bool(self._run_control and self._run_control.get("stop")) or bool(event.stats.get("stopped"))
        self._run_control = None
        self.refresh_bindings()
        self.status.run = {**event.stats, "running": False, "stopped": stopped, "in_flight": 0}
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
        """Regenerate the rejected or failed samples of older versions with the current text."""
        if not self._writable():
            return
        if self.editor.dirty:
            self.notify("save the template first (ctrl+s): regenerated samples link to its new version",
                        severity="warning", markup=False)
            return
        if self._run_control is not None:
            self.notify("a run is already going — ctrl+t stops it", severity="warning", markup=False)
            return
        from studio.tui.screens.confirm import ConfirmScreen

        model = self._default_model()
        self.app.push_screen(
            ConfirmScreen(f"Regenerate the rejected and failed samples of older versions of "
                          f"{self.editor.name_label} with the current version ({model})?", yes="Regenerate"),
            lambda yes: self.start_run({"model": model}, only="regenerate") if yes else None)

    def action_export(self) -> None:
        if not self.ready:
            return
        from studio.tui.screens.export import ExportScreen

        io = self.io
        self.app.push_screen(ExportScreen(self.session, self.workspace, self.filters,
                                          flush=io.flush if io is not None else None))
