"""The TinyDB files themselves: written by atomic replace, read fast through NAME.index.

A session is NAME.json (plain TinyDB JSON: the small tables, one per line, and an empty `samples`
table) and its samples in segment files NAME.samples/00000.json, 00001.json, ... : segment k is a
plain TinyDB file whose `samples` table holds sample ids k*SEGMENT_SAMPLES+1 ... (k+1)*SEGMENT_SAMPLES,
one sample per line. TinyDB parses a whole file on every table access, so a segment is sized for it to
read one in well under a second; a fold rewrites only the segments that changed. Where a sample lies is
one integer: (file code << SEG_SHIFT) | byte offset, code 0 for NAME.json (the samples of a session of
schema 2, before it is split), k+1 for segment k.

NAME.index (a cache, safe to delete) is one JSON line (each file's identity: inode, size, mtime; the
code tables) followed by the index's columns as raw bytes (studio.store.index): when it matches the
files, opening parses no sample and builds no Python object per sample.
"""

from __future__ import annotations

import os
import re
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson

from studio.core.files import atomic_writer, fsync_dir
from studio.store.errors import StoreError
from studio.store.names import SessionFiles
from studio.store.schema import SEGMENT_SAMPLES

INDEX_FORMAT = 7          # 3: model, persona, follow-ups; 4: flag index; 5: binary columns; 6: cached ids,
#                           cost column by core.cost.sample_cost; 7: segment files
SEG_SHIFT = 40            # a place is (file code << SEG_SHIFT) | offset: files up to 1 TB
SEG_MASK = (1 << SEG_SHIFT) - 1
_SEGMENT_NAME = re.compile(r"(\d{5,})\.json")
INDEX_MAGIC = b"studio-index "


def _stat(fd: int) -> tuple[int, int, int]:
    st = os.fstat(fd)
    return st.st_size, st.st_mtime_ns, st.st_ino


class FileChanged(StoreError):
    """A session file was changed in place by another program (e.g. plain TinyDB) while this process read it:
    the places the index holds no longer point at its samples, so nothing more is read from it."""


class Files:
    """Read descriptors on a session's files by code (0: NAME.json, k+1: segment k); `read(place, size)`.

    Each file's identity (size, mtime, inode) is kept from when it was opened: the studio only ever replaces
    its files (a descriptor keeps reading the version it opened), so a file whose identity moved was edited in
    place by someone else, and a read from it raises FileChanged instead of returning bytes from the wrong
    places. `where`: the session's paths, for the message."""

    def __init__(self, fds: dict[int, int] | None = None, where: SessionFiles | None = None):
        self.fds: dict[int, int] = dict(fds or {})
        self.opened = {code: _stat(fd) for code, fd in self.fds.items()}
        self.where = where

    def read(self, place: int, size: int) -> bytes:
        """`size` bytes at `place` ((code << SEG_SHIFT) | offset). Raises FileChanged (a StoreError)."""
        code = place >> SEG_SHIFT
        self._verify(code)
        return os.pread(self.fds[code], size, place & SEG_MASK)

    def _verify(self, code: int) -> None:
        """Raise FileChanged when file `code` is no longer the version it was when opened."""
        if _stat(self.fds[code]) == self.opened[code]:
            return
        path = file_of(self.where, code) if self.where is not None else None
        raise FileChanged(f"{path.name if path else 'a session file'} was changed by another program while this "
                          "session was open", path=path,
                          hint="this action was not saved; everything saved before it is in the journal and "
                               "kept: close and open the session again (it reads the edit), then redo it; edit "
                               "the files only while no studio holds the session (NAME.lock names its pid)")

    def check(self) -> None:
        """Raise FileChanged if any file was changed in place since it was opened (before a fold copies them)."""
        for code in self.fds:
            self._verify(code)

    def dup(self) -> "Files":
        """Descriptors of their own (for a thread or a scan that outlives a fold's switch), same identities."""
        twin = Files(where=self.where)
        twin.fds = {code: os.dup(fd) for code, fd in self.fds.items()}
        twin.opened = dict(self.opened)
        return twin

    def put(self, code: int, fd: int | None) -> None:
        """Read file `code` through `fd` from now on (None: it is gone); the old descriptor is closed."""
        old = self.fds.pop(code, None) if fd is None else self.fds.get(code)
        if fd is not None:
            self.fds[code] = fd
            self.opened[code] = _stat(fd)
        else:
            self.opened.pop(code, None)
        if old is not None and old != fd:
            os.close(old)

    def close(self) -> None:
        """Close every descriptor."""
        fds, self.fds = self.fds, {}
        for fd in fds.values():
            os.close(fd)

    def identity(self) -> dict[str, list[int]]:
        """{code: [size, mtime_ns, inode]} of the files as they were opened (what NAME.index is valid for: a
        file edited in place since then no longer matches it, so the next open reads that file again)."""
        return {str(code): list(self.opened[code]) for code in sorted(self.fds)}


def room_for(n_files: int) -> None:
    """Raise the soft limit on open files when a session's descriptors (held open, and dup'd by a fold and a text
    search) would come near it: 10,000,000 samples are 1,000 segments. Best effort."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 4 * n_files + 256
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard),
                                                        hard))
    except (ImportError, ValueError, OSError):
        pass


def segment_files(files: SessionFiles) -> dict[int, Path]:
    """The segment files on disk: {k: NAME.samples/0000K.json} (other names there are ignored)."""
    try:
        names = os.listdir(files.segments)
    except OSError:
        return {}
    out = {}
    for name in names:
        m = _SEGMENT_NAME.fullmatch(name)
        if m:
            out[int(m.group(1))] = files.segments / name
    return dict(sorted(out.items()))


def file_of(files: SessionFiles, code: int) -> Path:
    """The path of file `code`."""
    return files.json if code == 0 else files.segment(code - 1)


@dataclass
class Loaded:
    """A session's files as they were read: the small tables; `fast` when the sample index came from NAME.index;
    `files` stay open for preads."""

    tables: dict[str, dict]                         # small tables: doc id (str) -> doc
    fast: bool = False                              # the index came from NAME.index
    fd: int | None = None                           # read_lines: the file read, for os.pread
    head_len: int = 0
    files: Files = field(default_factory=Files)


@dataclass
class Placed:
    """What a fold wrote: every frozen row's new place and size, which files were replaced or removed."""

    head_len: int
    off: array
    size: array
    written: list[int]                              # codes of the files written (0: NAME.json)
    removed: list[int]                              # codes of segment files deleted


def write_session(files: SessionFiles, tables: dict[str, dict], frozen, read_raw: Callable[[int, int], bytes],
                  dirty: set[int] | None = None, per: int = SEGMENT_SAMPLES) -> Placed:
    """Write the segments that changed, then NAME.json, each by atomic replace (the caller keeps the journal
    until this returns). A segment changed when one of its samples is held in memory (`frozen.overlay`) or
    it is in `dirty` (the session marks segments whose samples lie elsewhere: read from a file edited by
    hand); `dirty=None` (a migration, a copy): every segment is written and segment files no sample belongs
    to are removed."""
    n = frozen.n
    sid = frozen.sid
    off, size = array("q", frozen.off[:n]), array("I", frozen.size[:n])
    on_disk = segment_files(files)
    if dirty is None:
        need = set(on_disk)
        if n:
            need |= set(range((sid[0] - 1) // per, (sid[n - 1] - 1) // per + 1))
    else:
        need = set(dirty) | {(s - 1) // per for s in frozen.overlay}
    written: list[int] = []
    removed: list[int] = []
    if need and not files.segments.is_dir():
        files.segments.mkdir(exist_ok=True)
        fsync_dir(files.folder)
    for k in sorted(need):
        p0 = min(bisect_left(sid, k * per + 1), n)
        p1 = min(bisect_left(sid, (k + 1) * per + 1), n)
        if p0 >= p1:
            if k in on_disk:
                on_disk[k].unlink(missing_ok=True)
                removed.append(k + 1)
            continue
        _, offs, lens = write(files.segment(k), {}, frozen.entries(read_raw, p0, p1))
        base = (k + 1) << SEG_SHIFT
        off[p0:p1] = array("q", [o + base for o in offs])
        size[p0:p1] = lens
        written.append(k + 1)
    head_len, _, _ = write(files.json, tables, [])
    written.append(0)
    return Placed(head_len, off, size, written, removed)


def write(json_path: Path, tables: dict[str, dict], samples: Iterable[tuple[int, Any]]) -> tuple[int, array, array]:
    """Write the whole session atomically -> (head length, offset and size of each sample's JSON, in order)."""
    offs, lens = array("q"), array("I")
    with atomic_writer(json_path, buffering=1 << 20) as fh:
        fh.write(b'{"_default":{},\n')
        for name in sorted(tables):
            fh.write(b'"%s":%s,\n' % (name.encode(), orjson.dumps(tables[name])))
        head_len = fh.tell()
        fh.write(b'"samples":{')
        sep = b"\n"
        pos = fh.tell()
        for sid, raw in samples:
            key = b'%s"%d":' % (sep, sid)
            sep = b",\n"
            fh.write(key)
            fh.write(raw)
            offs.append(pos + len(key))
            lens.append(len(raw))
            pos += len(key) + len(raw)
        fh.write(b"\n}}\n")
    return head_len, offs, lens


def write_index(index_path: Path, head_len: int, dumped: tuple[dict, list], files: Files) -> None:
    """NAME.index for the files as `files` opened them (their identity is how a later open knows it still fits),
    streamed: one JSON line, then the columns' bytes (`dumped`: SampleIndex.dump). Only a cache: a failure is
    ignored, and a stale one is never used (the identities differ), so a read-only view may write it too."""
    header, buffers = dumped
    try:
        header = {"format": INDEX_FORMAT, "files": files.identity(), "head_len": head_len, **header}
        with atomic_writer(index_path, buffering=1 << 20, fsync=False) as fh:
            fh.write(INDEX_MAGIC + orjson.dumps(header) + b"\n")
            for buf in buffers:
                fh.write(buf)
    except OSError:
        pass                                  # the next open reads the file the slow way
    finally:
        for buf in buffers:
            buf.release()                     # the columns may grow again


def index_header(index_path: Path) -> dict | None:
    """The first line of NAME.index (None when it is missing or of another kind)."""
    try:
        with open(index_path, "rb") as fh:
            line = fh.readline()
    except OSError:
        return None
    if not line.startswith(INDEX_MAGIC):
        return None
    try:
        header = orjson.loads(line[len(INDEX_MAGIC):])
    except orjson.JSONDecodeError:
        return None
    return header if isinstance(header, dict) else None


def open_fd(path: Path) -> int:
    """A read descriptor on the file as it is now (it keeps reading this version after a replace)."""
    return os.open(path, os.O_RDONLY)


def read_fast(files: SessionFiles, index) -> Loaded | None:
    """Open through NAME.index when it describes exactly these files, loading `index` (a SampleIndex) from it;
    None means read the files."""
    try:
        fh = open(files.index, "rb")
    except OSError:
        return None
    with fh:
        line = fh.readline()
        if not line.startswith(INDEX_MAGIC):
            return None
        try:
            header = orjson.loads(line[len(INDEX_MAGIC):])
        except orjson.JSONDecodeError:
            return None
        if not isinstance(header, dict) or header.get("format") != INDEX_FORMAT:
            return None
        want = header.get("files")
        paths = {"0": files.json, **{str(k + 1): p for k, p in segment_files(files).items()}}
        if not isinstance(want, dict) or want.keys() != paths.keys():
            return None
        opened = Files()
        try:
            for code, path in paths.items():
                opened.put(int(code), open_fd(path))
            if opened.identity() != want:
                raise ValueError("the files changed")
            head = os.pread(opened.fds[0], header["head_len"], 0)
            tables = orjson.loads(head.rstrip(b",\n") + b"}")
            tables.pop("_default", None)
            index.load(header, fh)
        except (KeyError, TypeError, ValueError, EOFError, OSError, orjson.JSONDecodeError):
            opened.close()
            return None
    return Loaded(tables=tables, fast=True, head_len=header["head_len"], files=opened)


HEAD = b'{"_default":{},\n'


def read_lines(json_path: Path, index_fields, put: Callable[..., None], code: int = 0) -> Loaded | None:
    """Our own layout without a usable NAME.index: one parse per line, samples stay in the file; each is
    given to `put(id, index fields, None, place, size)` as it is read (place: `code` << SEG_SHIFT | offset).

    None when the file is not in this layout (then it is read whole); ValueError when a line is
    damaged or the file ends early (then it is salvaged).
    """
    fd = open_fd(json_path)
    base = code << SEG_SHIFT
    ok = False
    try:
        with os.fdopen(os.dup(fd), "rb") as fh:
            if fh.readline() != HEAD:
                return None
            pos = len(HEAD)
            tables: dict = {}
            head_len = 0
            in_samples = ended = False
            for n, line in enumerate(fh, 2):
                start, pos = pos, pos + len(line)
                if ended:
                    if line.strip():
                        raise ValueError(f"line {n}: text after the end of the data")
                    continue
                if not in_samples:
                    if line == b'"samples":{\n':
                        in_samples, head_len = True, start
                        continue
                    tables.update(orjson.loads(b"{" + line.rstrip(b",\n") + b"}"))
                    continue
                if line == b"}}\n":
                    ended = True
                    continue
                colon = line.index(b":")
                body = line[colon + 1:].rstrip(b"\n")
                body = body[:-1] if body.endswith(b",") else body
                sid = int(line[1:colon - 1])
                put(sid, index_fields(orjson.loads(body)), None, base + start + colon + 1, len(body))
            if not ended:
                raise ValueError("the file ends early")
        ok = True
        return Loaded(tables=tables, fd=fd, head_len=head_len)
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise ValueError(str(exc).split("\n")[0]) from None
    finally:
        if not ok:
            os.close(fd)


def read_whole(json_path: Path) -> object:
    """Parse the file in one go (files written by plain TinyDB, old schemas, stale index)."""
    data = json_path.read_bytes()
    if not data.strip():
        raise ValueError("the file is empty")
    return orjson.loads(data)


def salvage(json_path: Path) -> tuple[dict, dict[int, dict], int]:
    """Read what survives of a damaged file line by line: (tables, samples, unreadable lines)."""
    tables: dict = {}
    samples: dict[int, dict] = {}
    bad = 0
    for line in json_path.read_bytes().split(b"\n"):
        line = line.strip().rstrip(b",")
        if line.startswith(b"{"):
            line = line[1:]
        if not line or line in (b'"samples":{', b"}", b"}}"):
            continue
        try:
            obj = orjson.loads(b"{" + line + b"}")
        except orjson.JSONDecodeError:
            bad += 1
            continue
        for key, value in obj.items():
            if key.isdigit() and isinstance(value, dict):
                samples[int(key)] = value
            elif isinstance(value, dict) and key != "_default":
                tables[key] = value
    return tables, samples, bad
