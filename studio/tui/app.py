"""The Textual app: a thin shell that shows the main screen, routes worker results and never crashes.

Nothing heavy is imported here: the store, litellm and the embedded model load in workers after the first
frame (see MainScreen._load), so the studio is interactive at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from studio.tui.messages import JobDone, JobFailed, SessionReady

START = time.perf_counter()
HERE = Path(__file__).parent
KEYMAP_FILE = "keymap.yaml"


class StudioApp(App):
    # Styles live in .tcss files (absolute paths: subclasses elsewhere still find them): one beside each
    # widget module, then the app's layout; screens pushed later bring their own (their CSS_PATH).
    CSS_PATH = [str(HERE / "widgets" / f"{name}.tcss") for name in ("editor", "slots", "stream", "tagger",
                                                                   "statusbar")] + [str(HERE / "app.tcss")]
    TITLE = "studio"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("ctrl+p", "command_palette", "Commands", id="app.palette", show=True),
    ]

    def __init__(self, workspace: Any, session_name: str | None = None, *, template: str | None = None,
                 create: bool = True, new: bool = False, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.session_name = session_name
        self.options = {"template": template, "create": create, "new": new}
        self.first_frame: float | None = None
        self.ready_at: float | None = None
        if keymap:
            self.set_keymap(keymap)

    def get_default_screen(self) -> Screen:
        from studio.tui.screens.main import MainScreen

        return MainScreen(self.workspace, self.session_name, **self.options)

    def on_mount(self) -> None:
        self.call_after_refresh(self._first_frame)
        self._load_keymap()

    def _load_keymap(self) -> None:
        """Remapped keys from `keymap.yaml` in the workspace ({binding id: "keys"}); a bad file is reported."""
        path = Path(self.workspace.root) / KEYMAP_FILE
        if not path.is_file():
            return
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in data.items()):
                raise ValueError("write one 'binding-id: keys' per line, e.g. review.accept: y")
            self.update_keymap(data)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            self.notify(f"{path}: {exc} — using the default keys (F1 lists the binding ids)",
                        title="Key map not used", severity="warning", markup=False)

    def _first_frame(self) -> None:
        self.first_frame = time.perf_counter()

    # -- results from worker threads -------------------------------------------------------------------
    def on_job_done(self, event: JobDone) -> None:
        try:
            event.callback(event.result)
        except Exception as exc:  # noqa: BLE001 - a display glitch must not take the session down
            self.notify(f"{type(exc).__name__}: {exc}", title="Display error", severity="error", markup=False)

    def on_job_failed(self, event: JobFailed) -> None:
        self.notify(event.text, title=event.title, severity="error", timeout=8, markup=False)

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
