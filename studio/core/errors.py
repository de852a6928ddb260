"""Errors meant for people: where it is wrong, what is wrong, what to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Problem:
    """One finding about a file; `line` is 1-based, 0 when the whole file is meant."""

    path: str
    line: int
    message: str
    hint: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text


class StudioError(Exception):
    """A user-facing error: front ends print it as is (exit code 2), never a traceback."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | Path | None = None, line: int = 0, hint: str = ""):
        self.problem = Problem(str(path) if path else "", line, message, hint)
        super().__init__(str(self))

    @property
    def path(self) -> str:
        """The file the mistake is in ("" when none)."""
        return self.problem.path

    @property
    def line(self) -> int:
        """The 1-based line of the mistake (0 when unknown)."""
        return self.problem.line

    @property
    def hint(self) -> str:
        """What to do about it ("" when nothing more to say)."""
        return self.problem.hint

    def __str__(self) -> str:
        p = self.problem
        if not p.path:
            return f"{p.message} — {p.hint}" if p.hint else p.message
        return str(p)


class TemplateError(StudioError):
    """A template file that cannot be loaded or rendered."""


class SlotError(StudioError):
    """A slot whose values cannot be read."""
