"""A stdout that survives its reader going away (`studio ... | head`): apart from console.py, so a command
that prints no rich output (e.g. `studio run --json`) starts without importing rich."""

from __future__ import annotations

import os
import sys


class PipeSafeStdout:
    """Stands in for sys.stdout: once the reader has gone (EPIPE), output goes to /dev/null and the command
    carries on, so a closed pipe never stops the work the output was only describing."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def _gone(self) -> None:
        if not self.closed_by_reader:
            self.closed_by_reader = True
            try:                         # later writes, and the interpreter's flush at exit, go nowhere
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self._stream.fileno())
                os.close(devnull)
            except (OSError, ValueError):
                pass

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def guard_stdout() -> PipeSafeStdout | None:
    """Make sys.stdout pipe-safe (idempotent); the command-line entry point calls it first."""
    if isinstance(sys.stdout, PipeSafeStdout) or sys.stdout is None:
        return sys.stdout
    sys.stdout = PipeSafeStdout(sys.stdout)
    return sys.stdout
