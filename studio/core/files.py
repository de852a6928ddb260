"""Writing files so that a crash never leaves half of one."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Iterator

if TYPE_CHECKING:
    from studio.core.errors import StudioError


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
    """Replace `path` with `data` all at once (temp file, fsync unless `fsync=False`, rename). Raises OSError."""
    with atomic_writer(path, fsync=fsync) as fh:
        fh.write(data)


def atomic_write_text(path: str | Path, text: str, *, fsync: bool = True) -> None:
    """`atomic_write_bytes` of `text` as UTF-8."""
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


def read_user_text(path: str | Path, error: type[StudioError] | None = None, *, what: str = "file",
                   encoding: str = "utf-8", missing_hint: str = "check the path") -> str:
    """Read a text file a person gave us, exactly: a UTF-8 byte-order mark (spreadsheets write one) is the
    only thing removed; every failure is a StudioError naming the file (and line) and what to do.

    Line endings are left as they are: each format splits lines its own way (see `lines`).
    """
    from studio.core.errors import StudioError

    error = error or StudioError
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"no such {what}", path=path, hint=missing_hint) from None
    except IsADirectoryError:
        raise error(f"{path} is a folder, not a {what}", path=path, hint=missing_hint) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", path=path, hint="check the path and its permissions") from None
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig"):
        # Excel's "Unicode text" is UTF-16 with its byte-order mark: unambiguous, so read it.
        encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(f"not UTF-8 text (byte 0x{data[exc.start]:02X} at column {column}; Latin-1 or Windows-1252?)",
                    path=path, line=line, hint="save the file as UTF-8 (a spreadsheet's \"CSV UTF-8\")") from None


def unstorable(value: Any, _depth: int = 0) -> str | None:
    """The first string in `value` (a JSON/YAML value, keys too) that cannot be stored as UTF-8 — a lone
    surrogate such as JSON's `"\\ud83d"` — shown escaped, else None. Sessions and exports are UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return ascii(value[max(0, exc.start - 10):exc.end + 10])
        return None
    if _depth > 100:
        return None
    if isinstance(value, dict):
        items: Any = (x for kv in value.items() for x in kv)
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return None
    for item in items:
        bad = unstorable(item, _depth + 1)
        if bad is not None:
            return bad
    return None


UNSTORABLE_HINT = ("replace the escape with the whole character (a surrogate pair such as \\ud83d\\ude00) "
                   "or remove it")


def check_storable(value: Any, error: type[StudioError] | None = None, *, path: str | Path | None = None,
                   line: int = 0, what: str = "text") -> None:
    """Raise `error` (`file:line: what — what to do`) when `value` holds text that cannot be stored as UTF-8.
    The one check every reader of user JSON/JSONL/YAML runs on what it read (CSV and plain text are decoded
    strictly, so they cannot hold such text)."""
    from studio.core.errors import StudioError

    bad = unstorable(value)
    if bad is not None:
        raise (error or StudioError)(f"{what} holds a lone surrogate escape that cannot be stored as UTF-8: {bad}",
                                     path=path, line=line, hint=UNSTORABLE_HINT)


def lines(text: str) -> list[str]:
    """Split a line-based file (one value or JSON record a line) at `\\n` only, dropping a `\\r` before it.

    Not `str.splitlines()`: that also splits at U+2028/U+2029, form feeds, vertical tabs and the like,
    which are text inside a value (and valid inside a JSON string), not the ends of lines.
    """
    out = text.split("\n")
    if out and out[-1] == "":
        out.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in out]
