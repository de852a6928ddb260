"""The write-ahead journal: every change is appended and fsynced before the call returns.

A line is `CRC32HEX HEADER_JSON[<TAB>DOC_JSON]\\n`. The checksum covers everything after the
space, so a torn or damaged line is recognised. Every op is a full "put" of one document
(header `{"t": table, "id": n, "ix": index fields}`), so replaying ops that are already in the
TinyDB file is harmless: the last put of a document wins either way. The sample's index fields
travel in the header so that replay never has to parse the (large) document itself.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from studio.core.files import fsync_dir


def encode(header: dict, doc: bytes | None) -> bytes:
    """One journal line: CRC32 (8 hex), a space, the JSON `header`, a tab and `doc` (when given), a newline."""
    body = orjson.dumps(header)
    if doc is not None:
        body += b"\t" + doc
    return b"%08x " % zlib.crc32(body) + body + b"\n"


@dataclass
class JournalRead:
    """What `read` recovered from a journal: the operations in order (header dict, body bytes or None), the
    length in bytes of the clean prefix, and the line numbers of damaged lines followed by good ones."""

    ops: list[tuple[dict, bytes | None]] = field(default_factory=list)
    good_bytes: int = 0          # length of the clean prefix (a writer truncates to it)
    bad_lines: list[int] = field(default_factory=list)   # damaged lines followed by good ones

    @property
    def damaged(self) -> bool:
        """True when lines other than a torn last one were unreadable (they are in `bad_lines`)."""
        return bool(self.bad_lines)


def _decode(line: bytes) -> tuple[dict, bytes | None] | None:
    if line.endswith(b"\0"):
        return None                      # cut short by a crash: zeros follow the partial line
    if len(line) < 11 or line[8:9] != b" " or not line.endswith(b"\n"):
        return None
    body = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
    except ValueError:
        return None
    tab = body.find(b"\t")
    try:
        header = orjson.loads(body if tab < 0 else body[:tab])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(header, dict) or "t" not in header or "id" not in header:
        return None
    return header, (None if tab < 0 else body[tab + 1:])


def read(path: Path) -> JournalRead:
    """Every intact op in order; a cut-short last line is a crash mid-write (that call never returned)."""
    out = JournalRead()
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return out
    pos = 0
    pending_bad: list[int] = []
    with fh:
        for n, line in enumerate(fh, 1):
            if line[:1] == b"\0" and not line.strip(b"\0"):
                break                    # the zero-filled room the writer keeps ahead
            op = _decode(line)
            if op is None:
                pending_bad.append(n)
            else:
                if pending_bad:          # damage in the middle: good lines follow it
                    out.bad_lines.extend(pending_bad)
                    pending_bad = []
                out.ops.append(op)
                out.good_bytes = pos + len(line)
            pos += len(line)
    if len(pending_bad) > 1:     # one bad last line is a write a crash cut short: dropped, not damage
        out.bad_lines.extend(pending_bad)
    return out


class JournalWriter:
    """Appends op lines; `append` returns only once the data is on disk.

    The file is grown ahead in zero-filled chunks, so an append overwrites already allocated
    blocks and `fdatasync` has no file-size change to commit: the per-action cost stays low.
    Readers stop at the zero tail.
    """

    CHUNK = 4 << 20

    def __init__(self, path: Path, *, truncate_to: int | None = None):
        self.path = path
        existed = path.exists()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not existed:
            fsync_dir(path.parent)           # the new file's name survives a power cut too
        end = os.fstat(self._fd).st_size
        if truncate_to is not None and truncate_to != end:
            os.ftruncate(self._fd, truncate_to)
            os.fsync(self._fd)
            end = truncate_to
        self.size = end              # bytes of ops
        self._allocated = end        # bytes in the file (ops + zero tail)

    def _grow(self, need: int) -> None:
        extra = max(self.CHUNK, need - self._allocated)
        os.pwrite(self._fd, bytes(extra), self._allocated)
        os.fsync(self._fd)
        self._allocated += extra

    def append(self, data: bytes) -> None:
        """Write `data` (whole lines) at the end of the journal, growing the preallocated file as needed;
        durable (fdatasync) when it returns. Raises OSError (the session turns it into a StoreError)."""
        if self.size + len(data) > self._allocated:
            self._grow(self.size + len(data))
        view = memoryview(data)
        pos = self.size
        while view:
            n = os.pwrite(self._fd, view, pos)
            view, pos = view[n:], pos + n
        os.fdatasync(self._fd)
        self.size = pos

    def reset(self) -> None:
        """Empty the journal (after its ops are safely in the TinyDB file)."""
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)
        self.size = self._allocated = 0

    def close(self) -> None:
        """Drop the unused zero tail so the file holds only ops."""
        if self._fd is not None:
            try:
                if self._allocated > self.size:
                    os.ftruncate(self._fd, self.size)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None
