"""Writing files so that a crash never leaves half of one."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator


@contextmanager
def atomic_writer(path: str | Path, *, fsync: bool = True, buffering: int = -1) -> Iterator[BinaryIO]:
    """A file handle whose content replaces `path` only when the block ends without an error.

    Written to a temporary file in the same folder, fsynced, then renamed over the target.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb", buffering=buffering) as fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync:
        fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes, *, fsync: bool = True) -> None:
    with atomic_writer(path, fsync=fsync) as fh:
        fh.write(data)


def atomic_write_text(path: str | Path, text: str, *, fsync: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def fsync_dir(folder: str | Path) -> None:
    """Make a rename durable (POSIX needs the directory entry flushed too)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_user_text(path: str | Path, error: type[Exception] | None = None, *, what: str = "file",
                   encoding: str = "utf-8", missing_hint: str = "check the path") -> str:
    """Read a text file a person gave us; every failure is a StudioError naming the file and what to do."""
    from studio.core.errors import StudioError

    error = error or StudioError
    try:
        return Path(path).read_text(encoding=encoding)
    except FileNotFoundError:
        raise error(f"no such {what}", path=path, hint=missing_hint) from None
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text (byte {exc.start})", path=path, hint="save the file as UTF-8") from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", path=path, hint="check the path and its permissions") from None
