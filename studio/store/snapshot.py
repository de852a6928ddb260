"""The TinyDB file itself: written whole by atomic replace, read fast through NAME.index.

Layout (plain TinyDB JSON, so `TinyDB(path)` reads it): the small tables first, one per line,
then `"samples":{` with one sample per line. NAME.index (a cache, safe to delete) is one JSON line
(the file's identity: inode, size, mtime; the code tables) followed by the index's columns as raw
bytes (studio.store.index): when it matches the file, opening parses no sample and builds no Python
object per sample.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson

from studio.core.files import atomic_writer

INDEX_FORMAT = 6          # 3: model, persona, follow-ups; 4: flag index; 5: binary columns; 6: cached ids,
#                           cost column by core.cost.sample_cost
INDEX_MAGIC = b"studio-index "


@dataclass
class Loaded:
    """A session file as it was read: the small tables; `fast` when the sample index came from NAME.index,
    else the samples one by one (id, index fields, JSON bytes, 0, 0); `fd` stays open for preads."""

    tables: dict[str, dict]                         # small tables: doc id (str) -> doc
    fast: bool = False                              # the index came from NAME.index
    samples: list[tuple] | None = None              # the whole-file path: (id, ix, JSON, 0, 0)
    fd: int | None = None                           # the TinyDB file, for os.pread
    head_len: int = 0


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


def write_index(json_path: Path, index_path: Path, head_len: int, dumped: tuple[dict, list]) -> None:
    """NAME.index for the file as it is now (its identity is how a later open knows it still fits), streamed:
    one JSON line, then the columns' bytes (`dumped`: SampleIndex.dump). Only a cache: a failure is ignored."""
    header, buffers = dumped
    try:
        st = os.stat(json_path)
        header = {"format": INDEX_FORMAT, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino,
                  "head_len": head_len, **header}
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


def read_fast(json_path: Path, index_path: Path, index) -> Loaded | None:
    """Open through NAME.index when it describes exactly this file, loading `index` (a SampleIndex) from it;
    None means read the file."""
    try:
        st = os.stat(json_path)
        fh = open(index_path, "rb")
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
        if not isinstance(header, dict) or header.get("format") != INDEX_FORMAT or \
                (header.get("size"), header.get("mtime_ns"), header.get("ino")) != (st.st_size, st.st_mtime_ns, st.st_ino):
            return None
        fd = open_fd(json_path)
        try:
            if os.fstat(fd).st_ino != st.st_ino:
                raise ValueError("replaced while opening")
            head = os.pread(fd, header["head_len"], 0)
            tables = orjson.loads(head.rstrip(b",\n") + b"}")
            tables.pop("_default", None)
            index.load(header, fh)
        except (KeyError, TypeError, ValueError, EOFError, OSError, orjson.JSONDecodeError):
            os.close(fd)
            return None
    return Loaded(tables=tables, fast=True, fd=fd, head_len=header["head_len"])


HEAD = b'{"_default":{},\n'


def read_lines(json_path: Path, index_fields, put: Callable[..., None]) -> Loaded | None:
    """Our own layout without a usable NAME.index: one parse per line, samples stay in the file; each is
    given to `put(id, index fields, None, offset, size)` as it is read.

    None when the file is not in this layout (then it is read whole); ValueError when a line is
    damaged or the file ends early (then it is salvaged).
    """
    fd = open_fd(json_path)
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
                put(sid, index_fields(orjson.loads(body)), None, start + colon + 1, len(body))
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
