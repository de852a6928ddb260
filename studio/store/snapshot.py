"""The TinyDB file itself: written whole by atomic replace, read fast through NAME.index.

Layout (plain TinyDB JSON, so `TinyDB(path)` reads it): the small tables first, one per line,
then `"samples":{` with one sample per line. NAME.index (a cache, safe to delete) records the
file's identity (inode, size, mtime), where each sample's JSON lies, and the in-memory index
columns; when it matches the file, opening parses no sample at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import orjson

from studio.core.files import atomic_write_bytes, atomic_writer

INDEX_FORMAT = 4          # 3: model column, persona-attribute and follow-up indexes; 4: flag index


@dataclass
class Loaded:
    tables: dict[str, dict]                         # small tables: doc id (str) -> doc
    columns: dict | None = None                     # fast path: NAME.index content
    samples: list[tuple] = field(default_factory=list)   # slow paths: (id, ix, JSON or None, offset, size)
    fd: int | None = None                           # the TinyDB file, for os.pread
    head_len: int = 0


def write(json_path: Path, index_path: Path, tables: dict[str, dict],
          samples: Iterable[tuple[int, bytes]], columns: dict) -> list[tuple[int, int, int]]:
    """Write the whole session atomically; returns (id, offset, size) of each sample's JSON."""
    placed: list[tuple[int, int, int]] = []
    with atomic_writer(json_path, buffering=1 << 20) as fh:
        fh.write(b'{"_default":{},\n')
        for name in sorted(tables):
            fh.write(b'"%s":%s,\n' % (name.encode(), orjson.dumps(tables[name])))
        head_len = fh.tell()
        fh.write(b'"samples":{')
        sep = b"\n"
        for sid, raw in samples:
            fh.write(b'%s"%d":' % (sep, sid))
            sep = b",\n"
            placed.append((sid, fh.tell(), len(raw)))
            fh.write(raw)
        fh.write(b"\n}}\n")
    write_index(json_path, index_path, head_len, columns, [p[1] for p in placed], [p[2] for p in placed])
    return placed


def write_index(json_path: Path, index_path: Path, head_len: int, columns: dict, offs: list, lens: list) -> None:
    """NAME.index for the file as it is now (its identity is how a later open knows it still fits)."""
    st = os.stat(json_path)
    index = {"format": INDEX_FORMAT, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino,
             "head_len": head_len, **columns, "off": offs, "len": lens}
    try:
        atomic_write_bytes(index_path, orjson.dumps(index), fsync=False)
    except OSError:
        pass                                  # only a cache: the next open reads the file the slow way


def open_fd(path: Path) -> int:
    """A read descriptor on the file as it is now (it keeps reading this version after a replace)."""
    return os.open(path, os.O_RDONLY)


def read_fast(json_path: Path, index_path: Path) -> Loaded | None:
    """Open through the index when it describes exactly this file; None means read it whole."""
    try:
        st = os.stat(json_path)
        index = orjson.loads(index_path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(index, dict) or index.get("format") != INDEX_FORMAT or \
            (index.get("size"), index.get("mtime_ns"), index.get("ino")) != (st.st_size, st.st_mtime_ns, st.st_ino):
        return None
    fd = open_fd(json_path)
    try:
        if os.fstat(fd).st_ino != st.st_ino:
            raise ValueError("replaced while opening")
        head = os.pread(fd, index["head_len"], 0)
        tables = orjson.loads(head.rstrip(b",\n") + b"}")
        tables.pop("_default", None)
    except (KeyError, TypeError, ValueError, orjson.JSONDecodeError):
        os.close(fd)
        return None
    return Loaded(tables=tables, columns=index, fd=fd)


HEAD = b'{"_default":{},\n'


def read_lines(json_path: Path, index_fields) -> Loaded | None:
    """Our own layout without a usable NAME.index: one parse per line, samples stay in the file.

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
            samples: list[tuple] = []
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
                samples.append((sid, index_fields(orjson.loads(body)), None, start + colon + 1, len(body)))
            if not ended:
                raise ValueError("the file ends early")
        ok = True
        return Loaded(tables=tables, samples=samples, fd=fd, head_len=head_len)
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
