"""The one place the TUI calls `studio.runs` (shared with the CLI); runs in the run worker thread."""

from __future__ import annotations

from typing import Any, Callable

from studio.core.errors import StudioError


def run_generation(session: Any, text: str, path: str | None, opts: dict, control: dict, stats: dict, *,
                   only: str | None, on_samples: Callable[[list[int]], None],
                   on_progress: Callable[[], None]) -> None:
    try:
        from studio import runs  # noqa: F401
    except ImportError:
        raise StudioError("generation is not installed in this build (studio.runs is missing)",
                          hint="update the studio package") from None
    raise StudioError("generation from the studio is not wired yet", hint="use the CLI for now")
