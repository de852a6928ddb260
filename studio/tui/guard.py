"""Errors that leave a trace: what the person sees when something fails, decided in one place.

- A user mistake (StudioError) is a notification with its `file:line: what — what to do` text.
- Anything else is a bug: a crash report (studio.core.crash: traceback and versions, no keys, no sample
  text) is written to the workspace's `sessions/.crash/`, and the notification says where it is.

Workers raise; `StudioApp.on_worker_state_changed` calls `report` for a failed worker (screens and
widgets forward their workers' state changes there with `ForwardWorkerErrors`: Textual does not bubble
them). The synchronous key and message handlers of every screen and widget are wrapped by `guarded`:
Textual ends the app on an exception in a handler, so they report and the studio carries on. Anything
that still escapes (an async handler, compose) ends the app with a crash report (StudioApp._handle_exception).
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any, Callable

from textual.actions import SkipAction

from studio.core.errors import StudioError

# What failed, by worker group (the `group=` of each @work), as the notification's title.
WORKERS = {
    "load": "Cannot open the session",
    "analysis": "Analysis",
    "verify": "Double-check",
    "export-plan": "Export",
    "export-write": "Export",
    "feedback-load": "Feedback",
    "feedback-import": "Feedback import",
    "feedback-draft": "Template draft",
    "template-analysis": "Template preview",
    "run": "Generation",
    "value-stats": "Slot value counts",
}


def said(exc: BaseException) -> str:
    """The text of an error as the studio says it: a StudioError with the hint for the studio (the form field
    or key) when its layer gave one, not the command line's flag."""
    return exc.text_for("tui") if isinstance(exc, StudioError) else str(exc)


def report(node: Any, exc: BaseException, where: str, title: str | None = None) -> str:
    """Show `exc` to the person (on the UI thread) and return the text shown. Unexpected errors also leave a
    crash report in the workspace; its path is in the text."""
    if isinstance(exc, StudioError):
        text = said(exc)
        node.notify(text, title=title or "Cannot do that", severity="error", markup=False)
        return text
    from studio.core.crash import write_crash_report

    workspace = getattr(node.app, "workspace", None)
    folder = getattr(workspace, "crash_dir", None) if workspace is not None else None
    path = write_crash_report(folder, exc, where=where)
    text = (f"{type(exc).__name__}: {_short(exc)} — the studio carried on. "
            f"Crash report: {_shown(path, workspace)}")
    node.log.error(f"{where}: {exc!r} (crash report {path})")
    node.notify(text, title=title or "Unexpected error", severity="error", timeout=15, markup=False)
    return text


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text if len(text) <= 120 else text[:120] + "…"


def _shown(path: Path, workspace: Any) -> str:
    """The report's path relative to the workspace when it is inside it (shorter on a toast)."""
    try:
        return str(path.relative_to(workspace.root))
    except (AttributeError, ValueError):
        return str(path)


class ForwardWorkerErrors:
    """Mixin for a screen or widget that runs workers: their state changes go to the App's one handler."""

    def on_worker_state_changed(self, event: Any) -> None:
        self.app.on_worker_state_changed(event)  # type: ignore[attr-defined]


def _wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def guarded(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except SkipAction:     # Textual's "not mine: try the next binding", not an error
            raise
        except Exception as exc:  # noqa: BLE001 - the whole point: report, keep the session alive
            report(self, exc, where=f"{type(self).__name__}.{fn.__name__}")
        return None

    return guarded


def guarded(cls: type) -> type:
    """Wrap every synchronous `action_*` and `on_*` method defined on `cls`."""
    for name, fn in list(vars(cls).items()):
        if name.startswith(("action_", "on_")) and inspect.isfunction(fn) \
                and not inspect.iscoroutinefunction(fn):
            setattr(cls, name, _wrap(fn))
    cls.__guarded__ = True  # type: ignore[attr-defined]  # tests check every screen and widget has it
    return cls
