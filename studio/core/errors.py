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

    def __init__(self, message: str, *, path: str | Path | None = None, line: int = 0, hint: str = "",
                 hints: dict[str, str] | None = None):
        self.problem = Problem(str(path) if path else "", line, message, hint)
        # what to do in another front end when `hint` names the command line's flags: {"tui": "the form's
        # api_base field (ctrl+g)"}; the front end picks its own (`text_for`), lower layers import none of them
        self.hints = dict(hints or {})
        super().__init__(str(self))

    def text_for(self, front: str) -> str:
        """The error as front end `front` ("cli", "tui") says it: with its own hint when one was given."""
        hint = self.hints.get(front)
        if hint is None:
            return str(self)
        p = Problem(self.problem.path, self.problem.line, self.problem.message, hint, self.problem.severity)
        return str(p) if p.path else f"{p.message} — {hint}" if hint else p.message

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
