"""The rows' JSON lines, kept in unnamed temporary files as they are made, not in memory.

A million rows held as bytes objects cost about 330 MB; here each costs 13 bytes of offsets (file, offset,
size), and the text sits in the page cache, which the kernel may drop to disk. The clean stage appends lines
in reading order; later stages reorder or drop rows by index (`reorder`, `take`), the redact stage replaces
the few lines that hold a secret (`replace`), and the writer and the card read them back in row order.

Two processes can fill one Lines: every file is made before the clean stage forks (`Lines(files, k)` appends
to file k), the child's columns come back pickled without the files (`attach` joins them again), so only
offsets cross between the processes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from array import array
from itertools import islice
from typing import Iterable, Iterator

import numpy as np

_FLUSH = 1 << 20            # bytes buffered before a write
_READ = 4096                # rows read per batch (one pread each; reading in file order where it can)


class RowsDigest:
    """A hash of every row and its split, in the order written (the card names its config after it); the
    writer feeds it as it writes, so the rows are read once."""

    def __init__(self, suffix: str):
        self._h = hashlib.blake2b(digest_size=6)
        self._h.update(suffix.encode())

    def add(self, split: str, line: bytes) -> None:
        """One more row (in row order) of this split."""
        h = self._h
        h.update(split.encode())
        h.update(b"\0")
        h.update(line)
        h.update(b"\n")

    def name(self) -> str:
        """`rows-` and 12 hex."""
        return f"rows-{self._h.hexdigest()}"


def new_files(n: int) -> list:
    """n unnamed temporary files (removed by the system when closed or when the process ends)."""
    return [tempfile.TemporaryFile(prefix="studio-export-") for _ in range(n)]


class Lines:
    """A sequence of JSON lines (bytes without the newline): len(), [i], iteration in row order, == a list."""

    def __init__(self, files: list | None = None, file: int = 0):
        self.files = files if files is not None else new_files(1)
        self._file = file
        fd = self.files[file].fileno()
        os.ftruncate(fd, 0)                         # a half redone here after a failed child starts empty
        self._pos = 0
        self._buf: list[bytes] = []
        self._buffered = 0
        self._off = array("q")
        self._size = array("I")
        self.off = np.zeros(0, dtype=np.int64)
        self.size = np.zeros(0, dtype=np.uint32)
        self.part = np.zeros(0, dtype=np.uint8)
        self.changed: dict[int, bytes] = {}

    # ------------------------------------------------------------ filling
    def append(self, line: bytes) -> None:
        """Add a line at the end (written when the buffer fills; `seal` writes the rest)."""
        self._off.append(self._pos + self._buffered)
        self._size.append(len(line))
        self._buf.append(line)
        self._buffered += len(line)
        if self._buffered >= _FLUSH:
            self._flush()

    def _flush(self) -> None:
        if not self._buf:
            return
        data = b"".join(self._buf)
        fd, done = self.files[self._file].fileno(), 0
        while done < len(data):
            done += os.pwrite(fd, data[done:] if done else data, self._pos + done)
        self._pos += len(data)
        self._buf, self._buffered = [], 0

    def seal(self) -> "Lines":
        """Write what is buffered and turn the offsets into arrays (done before reading or pickling)."""
        self._flush()
        if len(self._off):
            self.off = np.concatenate([self.off, np.frombuffer(self._off, dtype=np.int64)])
            self.size = np.concatenate([self.size, np.frombuffer(self._size, dtype=np.uint32)])
            self.part = np.concatenate([self.part, np.full(len(self._off), self._file, dtype=np.uint8)])
            self._off, self._size = array("q"), array("I")
        return self

    def __getstate__(self) -> dict:
        self.seal()
        return {"off": self.off, "size": self.size, "part": self.part, "changed": self.changed}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.files, self._file, self._pos, self._buf, self._buffered = [], 0, 0, [], 0
        self._off, self._size = array("q"), array("I")

    def attach(self, files: list) -> "Lines":
        """Give a Lines that came back from another process its files again (the same list it was made with)."""
        self.files = files
        return self

    def extend(self, other: "Lines") -> None:
        """Append the rows of `other` (which shares our files)."""
        self.seal()
        other.seal()
        n = len(self.off)
        self.changed.update({i + n: v for i, v in other.changed.items()})
        self.off = np.concatenate([self.off, other.off])
        self.size = np.concatenate([self.size, other.size])
        self.part = np.concatenate([self.part, other.part])

    # ------------------------------------------------------------ reshaping
    def reorder(self, order: np.ndarray) -> None:
        """Keep the rows at these positions, in this order (an index array, or a boolean mask)."""
        self.seal()
        if self.changed:
            old = np.arange(len(self.off))[order]
            self.changed = {k: self.changed[int(i)] for k, i in enumerate(old) if int(i) in self.changed}
        self.off, self.size, self.part = self.off[order], self.size[order], self.part[order]

    take = reorder

    def replace(self, i: int, line: bytes) -> None:
        """Row i now holds `line` (kept in memory: the redact stage rewrites a few rows)."""
        self.changed[i] = line

    # ------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self.off) + len(self._off)

    def __getitem__(self, i: int) -> bytes:
        self.seal()
        if i < 0:
            i += len(self.off)
        if i in self.changed:
            return self.changed[i]
        return os.pread(self.files[int(self.part[i])].fileno(), int(self.size[i]), int(self.off[i]))

    def __iter__(self) -> Iterator[bytes]:
        return self.select(None)

    def select(self, rows: Iterable[int] | np.ndarray | None) -> Iterator[bytes]:
        """The lines of these rows (all when None), in that order; read a batch at a time, each batch in file
        order (the rows of a live run follow their content, not the order they were stored in)."""
        self.seal()
        if rows is None:
            rows = np.arange(len(self.off))
        if isinstance(rows, np.ndarray):
            batches: Iterable[np.ndarray] = (rows[k:k + _READ] for k in range(0, len(rows), _READ))
        else:
            batches = _batches(iter(rows))
        fds = [f.fileno() for f in self.files]
        changed, pread = self.changed, os.pread
        for batch in batches:
            if not len(batch):
                break
            off, size, part = self.off[batch], self.size[batch], self.part[batch]
            reads = np.lexsort((off, part)).tolist()
            offl, sizel, partl = off.tolist(), size.tolist(), part.tolist()
            got: list[bytes] = [b""] * len(batch)
            for k in reads:
                got[k] = pread(fds[partl[k]], sizel[k], offl[k])
            for k, i in enumerate(batch.tolist()):
                yield changed[i] if i in changed else got[k]

    def holds_any(self, needles: list[bytes]) -> bool:
        """True when some line may hold one of `needles`: a fast scan of the files a few MB at a time (rows
        dropped since are scanned too, so True asks for a closer look at each row; False is sure)."""
        self.seal()
        needles = [x for x in needles if x]
        if not needles:
            return False
        if any(x in line for line in self.changed.values() for x in needles):
            return True
        overlap = max(map(len, needles)) - 1
        for f in self.files:
            fd, at, tail = f.fileno(), 0, b""
            while True:
                chunk = os.pread(fd, 8 << 20, at)
                if not chunk:
                    break
                data = tail + chunk
                if any(x in data for x in needles):
                    return True
                tail = data[-overlap:] if overlap else b""
                at += len(chunk)
        return False

    def __eq__(self, other) -> bool:
        if isinstance(other, (Lines, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Lines({len(self)} rows)"


def _batches(it: Iterator[int]) -> Iterator[np.ndarray]:
    while True:
        batch = np.fromiter(islice(it, _READ), dtype=np.int64)
        if not len(batch):
            return
        yield batch
