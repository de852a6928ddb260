"""Rich consoles shared by the commands (stderr for errors, stdout for results), and a stdout that a closed
pipe cannot stop: `studio export ... | head -1` still writes every file."""

from __future__ import annotations

from functools import lru_cache

from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from studio.cli.pipes import PipeSafeStdout, guard_stdout  # noqa: F401 - re-exported
from studio.core.display import printable


class DataConsole(Console):
    """A Console for text that comes from data: strings are shown as they are, never read as markup or
    emoji codes (`[/INST]` in a slot value would crash a table; `[bold]x` would be restyled), and control
    characters are made visible (an ANSI escape in a model's output must not recolour or clear the screen).
    A command that styles its own words says so: `print(..., markup=True)` with the data `escape()`d, or Text.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        kwargs.setdefault("highlight", False)
        super().__init__(**kwargs)

    def render_str(self, text: str, **kwargs) -> Text:   # every str printed, and every str cell of a table
        return super().render_str(printable(text), **kwargs)

    def _render_buffer(self, buffer) -> str:
        """The last gate before the terminal: a Text or renderable built from data without `plain()` still
        has its control characters made visible (rich's own cursor moves are control segments, kept)."""
        return super()._render_buffer(seg if seg.control else Segment(printable(seg.text), seg.style)
                                      for seg in buffer)


@lru_cache(maxsize=1)
def console() -> Console:
    return DataConsole()


@lru_cache(maxsize=1)
def error_console() -> Console:
    return DataConsole(stderr=True, style="bold red")
