"""Command palette entries: every described binding of the main screen and its panes, runnable by name."""

from __future__ import annotations

from typing import Iterable

from textual.app import SystemCommand


def screen_commands(app, screen) -> Iterable[SystemCommand]:
    from studio.tui.screens.main import MainScreen

    if not isinstance(screen, MainScreen):
        return
    seen: set[str] = set()
    for node in [screen, *screen.query("*")]:
        for bindings in node._bindings.key_to_bindings.values():
            for b in bindings:
                if not b.description or b.action in seen or b.system:
                    continue
                seen.add(b.action)
                where = type(node).__name__
                yield SystemCommand(b.description, f"{where} · key {app.get_key_display(b)}",
                                    _runner(app, node, b.action))


def _runner(app, node, action: str):
    async def run() -> None:
        await app.run_action(action, node)

    return run
