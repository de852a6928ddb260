"""The Textual app: a thin shell that shows the main screen, routes worker results and never crashes.

Nothing heavy is imported here: the store, litellm and the embedded model load in workers after the first
frame (see MainScreen._load), so the studio is interactive at once.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from studio.tui.guard import WORKERS, report
from studio.tui.messages import JobDone, JobFailed, SessionReady
from studio.tui.typeahead import TypeAhead

HERE = Path(__file__).parent
KEYMAP_FILE = "keymap.yaml"


class StudioApp(TypeAhead, App):
    # Styles live in .tcss files (absolute paths: subclasses elsewhere still find them): one beside each
    # widget module, then the app's layout; screens pushed later bring their own (their CSS_PATH).
    CSS_PATH = [str(HERE / "widgets" / f"{name}.tcss") for name in ("editor", "slots", "stream", "tagger",
                                                                   "statusbar")] + [str(HERE / "app.tcss")]
    TITLE = "studio"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("ctrl+p", "command_palette", "Commands", id="app.palette", show=False),   # the footer shows ^p itself
    ]

    def __init__(self, workspace: Any, session_name: str | None = None, *, template: str | None = None,
                 create: bool = True, new: bool = False, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        from studio.tui.widths import TerminalWidths

        # every drawn line: characters whose width the terminal agrees on (textual is pinned: _filters is where
        # App keeps its own NO_COLOR filter)
        self._filters.append(TerminalWidths())
        self.workspace = workspace
        self.session_name = session_name
        self.options = {"template": template, "create": create, "new": new}
        self.first_frame: float | None = None
        self.crash_report: Path | None = None  # set when an unhandled error ended the app
        self.ready_at: float | None = None
        if keymap:
            self.set_keymap(keymap)

    def run(self, *args: Any, headless: bool = False, **kwargs: Any) -> Any:
        """Run in the terminal; without one (stdin or stdout redirected, e.g. from cron or a pipe) say so and
        return 2 instead of drawing into nothing at 100% CPU."""
        if not headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
            which = "stdin" if not sys.stdin.isatty() else "stdout"
            print(f"studio: the studio needs a terminal ({which} is not one) — run it in a terminal or tmux; "
                  "without one use `studio run`, `studio show`, `studio export` (studio --help lists them)",
                  file=sys.stderr)
            return 2
        return super().run(*args, headless=headless, **kwargs)

    def get_default_screen(self) -> Screen:
        from studio.tui.screens.main import MainScreen

        return MainScreen(self.workspace, self.session_name, **self.options)

    def on_mount(self) -> None:
        # Workers (the session thread's bulk writes, the text index build) hold the GIL while they run: a key's
        # frame waits up to this long each time it needs it back (Python's default is 5 ms), not 5 ms a time.
        sys.setswitchinterval(0.001)
        self.call_after_refresh(self._first_frame)
        self._load_keymap()

    def on_unmount(self) -> None:
        from studio.core.bulk import thaw_heap

        thaw_heap()          # the main screen froze the session's objects out of GC passes (freeze_heap)

    def _load_keymap(self) -> None:
        """Remapped keys from `keymap.yaml` in the workspace ({binding id: "keys"}); a bad file is reported."""
        path = Path(self.workspace.root) / KEYMAP_FILE
        if not path.is_file():
            return
        from studio.tui.keymap import load_keymap

        good, problems = load_keymap(path)
        self.update_keymap(good)
        if not problems:
            return
        if good:
            self.notify("\n".join(map(str, problems)) + "\n(those lines are not used; the rest are)",
                        title="Key map", severity="warning", timeout=10, markup=False)
        else:
            self.notify("\n".join(map(str, problems)) + "\n(using the default keys; F1 lists the binding ids)",
                        title="Key map not used", severity="warning", timeout=10, markup=False)

    def _first_frame(self) -> None:
        self.first_frame = time.perf_counter()

    # -- results and errors from worker threads: what the person sees is decided here -----------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one handler for failed workers (screens forward theirs: guard.ForwardWorkerErrors). The toast
        is titled by the worker's group; a bug also leaves a crash report. The worker's screen, if it has a
        `worker_failed(group, text)`, then puts itself back in a usable state (buttons, "working…" lines)."""
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.error is None:
            return
        group = worker.group or worker.name
        text = report(self, worker.error, where=f"worker {group!r} ({worker.name})", title=WORKERS.get(group))
        restore = getattr(worker.node, "worker_failed", None)
        if callable(restore):
            try:
                restore(group, text)
            except Exception as exc:  # noqa: BLE001 - a failing restore is reported, never a crash
                report(self, exc, where=f"{type(worker.node).__name__}.worker_failed")

    def on_job_done(self, event: JobDone) -> None:
        try:
            event.callback(event.result)
        except Exception as exc:  # noqa: BLE001 - a display glitch must not take the session down
            report(self, exc, where=f"session job callback {getattr(event.callback, '__qualname__', '?')}")

    def on_job_failed(self, event: JobFailed) -> None:
        if event.error is not None:
            report(self, event.error, where=event.where or event.title, title=event.title)
        else:
            self.notify(event.text, title=event.title, severity="error", timeout=8, markup=False)

    def _handle_exception(self, error: Exception) -> None:
        """An exception no handler caught ends the app (Textual's rule): leave a crash report first, so the
        bug is kept; `studio` prints its path after the screen closes. (Private hook; textual is pinned.)"""
        from studio.core.crash import write_crash_report

        self.crash_report = write_crash_report(getattr(self.workspace, "crash_dir", None), error,
                                               where="the studio (unhandled)")
        super()._handle_exception(error)

    def on_session_ready(self, event: SessionReady) -> None:
        self.ready_at = time.perf_counter()

    # -- every action in the command palette ------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        from studio.tui.commands import screen_commands

        yield from screen_commands(self, screen)

    # -- leaving ------------------------------------------------------------------------------------
    async def action_quit(self) -> None:
        screen = self._main()
        if screen is not None and screen.editor.dirty:
            from studio.tui.screens.confirm import ConfirmScreen

            def done(yes: bool) -> None:
                if yes:
                    self._leave()

            self.push_screen(ConfirmScreen("The template has unsaved changes. Quit and throw them away?",
                                           yes="Quit"), done)
            return
        self._leave()

    def _main(self):
        from studio.tui.screens.main import MainScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def _leave(self) -> None:
        screen = self._main()
        if screen is not None:
            screen.close_session()
        self.exit(0)
