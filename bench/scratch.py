"""Temporary folders for the benchmarks, deleted when the benchmark ends (normally, on an error or ctrl+c)."""

from __future__ import annotations

import atexit
import shutil
import signal
import sys
import tempfile
from pathlib import Path

_made: list[Path] = []


def temp_dir(prefix: str, keep: bool = False) -> Path:
    """A new folder under the system's temporary folder, removed at exit unless `keep`."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if not keep:
        _made.append(path)
    return path


def _clean() -> None:
    while _made:
        shutil.rmtree(_made.pop(), ignore_errors=True)


atexit.register(_clean)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed benchmark still runs atexit
