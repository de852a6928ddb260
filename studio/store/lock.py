"""One writer per session: an fcntl lock on NAME.lock holding the writer's pid.

The kernel drops the lock when the holder dies (even by SIGKILL), so a stale lock file never blocks.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class SessionLock:


    """The one-writer lock of a session (an flock on NAME.lock holding the writer's pid): `acquire()` never
    waits; when it fails, `holder` is the other writer's pid or `unwritable` says the folder cannot be written."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        self.holder: int | None = None      # pid of the other writer when we did not get the lock
        self.unwritable = False             # the folder (or lock file) cannot be written

    def acquire(self) -> bool:
        """Take the lock without waiting; False means read-only (see `holder` / `unwritable`)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            self.unwritable = True
            self.holder = read_holder(self.path)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            self.holder = read_holder(self.path) or -1
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    @property
    def held(self) -> bool:
        """True while this process holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Release the lock (and close its file); does nothing when not held."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_holder(path: Path) -> int | None:
    """The pid written in lock file `path`, or None when unreadable or empty."""
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def is_locked(path: Path) -> int | None:
    """The pid holding `path` (or -1 if unknown), None when nobody does."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return read_holder(path) or -1
    finally:
        os.close(fd)
    return None
