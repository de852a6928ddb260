"""The in-memory index over a session's samples: columns, not a dict per sample.

Per sample it keeps a few fixed-width columns (`array`): the id, where its JSON lies (place: which TinyDB
file, segment or NAME.json, and the offset in it, as one integer, studio.store.snapshot; and size), status / template / version / model / flag as 4-byte codes into small tables of the
distinct strings, created / reviewed / cost / latency as doubles (NaN for None), and one code column per
slot name and persona attribute. Only the multi-valued fields (tags, follow-ups) have inverted indexes:
a sorted array of ids per tag. About 80 bytes a sample, a million samples in ~80 MB, and no Python object
per sample. Ids are kept ascending, so a place is `id - first id` (dense ids) or a bisection.
Filters are numpy scans of the code columns (numpy is imported when a query first needs it).
Changed or new samples' JSON is held in memory (`overlay`, by id) until a fold writes it into the file.
NAME.index is these columns' bytes behind one JSON line (`dump` / `load`), so opening parses no sample.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Iterator

from studio.core.record import STATUSES

ORDERS = ("id", "created", "reviewed", "status", "template", "version", "cost", "latency")
_COL = {"created": "c", "reviewed": "r", "status": "st", "template": "tp", "version": "v",
        "cost": "co", "latency": "la"}
SEP = "\x1f"      # joins a slot's name and value into one key (Facets keys are (name, value) pairs)
GREP_BLOCK = 8 << 20
READ_GAP = 16 << 10            # bytes between stored samples read through rather than a second pread
CODED = ("st", "tp", "v", "md", "fl")        # one value per sample, few distinct: 4-byte codes
FLOATS = ("c", "r", "co", "la")              # numbers: doubles, NaN for None (other values kept aside)
KEYED = ("sl", "pa")                         # slot name / persona attribute -> value code column
MULTI = ("tg", "fu", "ca")                   # lists: key -> sorted array of ids ("ca": ["cached"] or [])
_NORMAL = {"st": "pending", "tp": "", "v": "", "fl": ""}     # what a missing value counts as
_NAN = float("nan")


_MALLOC_SET = False


def _grow_columns_in_place() -> None:
    """Let the columns grow without leaving holes in the heap (glibc; best effort, once per process).

    A column grows by realloc. glibc's mmap threshold rises with every large block freed (up to 32 MB),
    so the columns soon live in the heap, where each move leaves a hole: RSS grew ~150 bytes a sample more
    than the columns themselves. A fixed threshold keeps blocks of 1 MB and more mmapped, grown by mremap.
    """
    global _MALLOC_SET
    if _MALLOC_SET:
        return
    _MALLOC_SET = True
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)         # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def _place(sid: array, wanted: int) -> int | None:
    """Where id `wanted` is in the ascending array `sid` (None: absent)."""
    n = len(sid)
    if not n:
        return None
    first = sid[0]
    if sid[-1] - first == n - 1:                  # dense ids (the usual case): no search
        p = wanted - first
        return p if 0 <= p < n else None
    p = bisect_left(sid, wanted)
    return p if p < n and sid[p] == wanted else None


def _hashable(value: Any) -> Any:
    return value if not isinstance(value, (list, dict)) else str(value)


class Codes:
    """The distinct values of a coded column; the column keeps each value's place here."""

    __slots__ = ("values", "code")

    def __init__(self, values: Iterable = ()):
        self.values: list = list(values)
        self.code: dict = {v: i for i, v in enumerate(self.values)}

    def of(self, value: Any) -> int:
        """The code of `value`, added when new."""
        value = _hashable(value)
        c = self.code.get(value)
        if c is None:
            c = self.code[value] = len(self.values)
            self.values.append(value)
        return c


@dataclass
class Frozen:
    """Where every sample's JSON lies at one moment, rows [0, n): what a fold writes and a text search scans,
    outside the session's lock. The overlay is a copy of references; the columns are copies, or for a fold
    the live columns themselves (their first n rows do not change until the fold is done: SampleIndex.freeze)."""

    sid: Any                     # an array, or a range when the ids are dense
    off: array
    size: array
    overlay: dict[int, bytes]
    inserts: int = 0
    n: int = 0

    def place(self, wanted: int) -> int | None:
        """The row of id `wanted` (None: absent)."""
        p = _place(self.sid, wanted)
        return p if p is not None and p < self.n else None

    def raw(self, p: int, read_raw: Callable[[int, int], bytes]) -> bytes:
        """The JSON of row `p`."""
        r = self.overlay.get(self.sid[p])
        return r if r is not None else read_raw(self.off[p], self.size[p])

    def _runs(self, span: int, lo: int = 0, hi: int | None = None) -> Iterator[tuple[int, int]]:
        """Rows [p, q) of [lo, hi) whose JSON lies in one file close together (one read each); (p, -1): in memory.
        Places in different files differ by at least 1 << SEG_SHIFT, so a run never spans two files."""
        sid, off, size, ov = self.sid, self.off, self.size, self.overlay
        n, p = (self.n if hi is None else hi), lo
        while p < n:
            if sid[p] in ov:
                yield p, -1
                p += 1
                continue
            start = off[p]
            end = start + size[p]
            q = p + 1
            while q < n and sid[q] not in ov and 0 <= off[q] - end <= READ_GAP and off[q] + size[q] - start <= span:
                end = off[q] + size[q]
                q += 1
            yield p, q
            p = q

    def entries(self, read_raw: Callable[[int, int], bytes], lo: int = 0,
                hi: int | None = None) -> Iterator[tuple[int, Any]]:
        """(id, JSON) of the samples in rows [lo, hi) (default: all) in id order; neighbours in a file are read
        with one pread per 8 MB."""
        sid, off, size, ov = self.sid, self.off, self.size, self.overlay
        for p, q in self._runs(GREP_BLOCK, lo, hi):
            if q < 0:
                yield sid[p], ov[sid[p]]
                continue
            start = off[p]
            buf = memoryview(read_raw(start, off[q - 1] + size[q - 1] - start))
            for k in range(p, q):
                a = off[k] - start
                yield sid[k], buf[a: a + size[k]]

    def grep(self, needle: bytes, read_raw: Callable[[int, int], bytes], also: Any = None) -> set[int]:
        """Ids whose stored JSON contains `needle` (lower-case ASCII), ignoring ASCII case, or one of the
        characters of `also` (textindex.AsciiSources: what folds into part of the needle; looked for only in
        a block that holds one).

        Scans the TinyDB file in large blocks (one read and one lower() per 8 MB, not per sample),
        then the samples held in memory; a prefilter, callers confirm on the parsed document.
        """
        hits: set[int] = set()
        sid, off, size, ov = self.sid, self.off, self.size, self.overlay
        for p, q in self._runs(GREP_BLOCK):
            if q < 0:
                raw = ov[sid[p]]
                if needle in raw.lower() or (also is not None and also.present(raw)):
                    hits.add(sid[p])
                continue
            start = off[p]
            raw = read_raw(start, off[q - 1] + size[q - 1] - start)
            block = raw.lower()
            k = block.find(needle)
            while k >= 0:
                r = bisect_right(off, start + k, p, q) - 1
                sample_end = off[r] + size[r] - start
                if k + len(needle) <= sample_end:
                    hits.add(sid[r])
                    k = block.find(needle, sample_end)
                else:
                    k = block.find(needle, k + 1)
            if also is not None and also.present(raw):
                for k in also.where(raw):
                    r = bisect_right(off, start + k, p, q) - 1
                    if k < off[r] + size[r] - start:      # inside sample r (not in the JSON between samples)
                        hits.add(sid[r])
        return hits


@dataclass
class Facets:
    """What failure attribution counts, without a sample parsed (`Session.facets`).

    Columns in id order (template, version, status, cost, model; as stored, "" when missing); inverted
    indexes over the whole session (callers intersect): status, tag, template -> ids, and
    (slot, value) / (persona attribute, value) -> ids (values as text; persona `text` is not indexed).
    """

    ids: list[int]
    template: list
    version: list
    status: list
    cost: list
    model: list
    by_status: dict[str, set[int]]
    by_tag: dict[str, set[int]]
    by_template: dict[str, set[int]]
    slots: dict[tuple[str, str], set[int]]
    persona: dict[tuple[str, str], set[int]]


class SampleIndex:
    """The columns (see the module's docstring); the session holds its lock around every call."""

    def __init__(self, read_raw: Callable[[int, int], bytes] | None = None):
        _grow_columns_in_place()
        self.read_raw = read_raw                      # (offset, size) -> bytes from the TinyDB file
        self.sid = array("q")
        self.off = array("q")
        self.size = array("I")
        self.codes: dict[str, Codes] = {c: Codes() for c in CODED}
        self.cc: dict[str, array] = {c: array("i") for c in CODED}
        self.fc: dict[str, array] = {c: array("d") for c in FLOATS}
        self.odd: dict[str, dict[int, Any]] = {c: {} for c in FLOATS}    # id -> a value that is not a float
        self.keyed: dict[str, dict[str, tuple[Codes, array]]] = {k: {} for k in KEYED}
        self.multi: dict[str, dict[str, array]] = {k: {} for k in MULTI}
        self.overlay: dict[int, bytes] = {}           # id -> JSON held in memory (newer than the file)
        self.versions: Counter = Counter()            # (template, version) -> n
        self.overlay_bytes = 0
        self.inserts = 0                              # rows put before the end (places moved)
        self.frozen = False                           # a fold shares the columns (freeze(copy=False))

    def __len__(self) -> int:
        return len(self.sid)

    def __contains__(self, sid: int) -> bool:
        return _place(self.sid, sid) is not None

    @property
    def max_id(self) -> int:
        """The largest sample id (0 for an empty session)."""
        return self.sid[-1] if self.sid else 0

    def place(self, sid: int) -> int | None:
        """The row of sample `sid` (None: no such sample)."""
        return _place(self.sid, sid)

    # ------------------------------------------------------------ values

    def value(self, col: str, p: int) -> Any:
        """Column `col` (an INDEX_CODES code) of row `p`, as index_fields gave it."""
        if col in self.fc:
            v = self.fc[col][p]
            return v if v == v else self.odd[col].get(self.sid[p])
        c = self.cc[col][p]
        return self.codes[col].values[c]

    def values(self, col: str, places: Iterable[int] | None = None) -> list:
        """Column `col` of these rows (None: every row), decoded."""
        if col in self.fc:
            arr, odd, sid = self.fc[col], self.odd[col], self.sid
            rows = range(len(arr)) if places is None else places
            return [v if v == v else odd.get(sid[p]) for p in rows for v in (arr[p],)]
        table, arr = self.codes[col].values, self.cc[col]
        if places is None:
            return list(map(table.__getitem__, arr))
        return [table[arr[p]] for p in places]

    def known_values(self, col: str) -> tuple[list, int]:
        """Column `col` (a FLOATS code) of every row with the None values left out, in row order, and the number
        of rows: what `[v for v in values(col) if v is not None]` gives, but picked by numpy (a 100,000-sample
        session's cost in about a millisecond, not 30 ms on the thread a key's frame shares the GIL with)."""
        if self.odd[col]:                            # a value that is not a float somewhere: the general path
            values = self.values(col)
            return [v for v in values if v is not None], len(values)
        import numpy as np

        arr = self._view(self.fc[col])
        return arr[~np.isnan(arr)].tolist(), len(arr)

    def tags_of(self, sids: list[int], kind: str = "tg") -> list[list[str]]:
        """The tags (or follow-up names, kind "fu") of each of these samples."""
        out: list[list[str]] = [[] for _ in sids]
        if not sids:
            return out
        where = {sid: k for k, sid in enumerate(sids)}
        lo_id, hi_id = min(sids), max(sids)
        for key, arr in self.multi[kind].items():
            for sid in arr[bisect_left(arr, lo_id): bisect_right(arr, hi_id)]:
                k = where.get(sid)
                if k is not None:
                    out[k].append(key)
        return out

    def raw_of(self, sid: int) -> bytes:
        """The stored JSON bytes of sample `sid` (from memory, else read from the file). KeyError for an unknown id."""
        r = self.overlay.get(sid)
        if r is not None:
            return r
        p = _place(self.sid, sid)
        if p is None:
            raise KeyError(sid)
        return self.read_raw(self.off[p], self.size[p])

    # ------------------------------------------------------------ changes

    def _new_row(self, sid: int) -> int:
        n = len(self.sid)
        if not n or sid > self.sid[-1]:
            p = n

            def add(arr: array, default: Any) -> None:
                arr.append(default)
        else:
            if self.frozen:
                from studio.store.errors import StoreError
                raise StoreError(f"sample {sid} cannot be put before sample {self.sid[-1]} while a fold runs",
                                 hint="this is a bug: new samples get the next id")
            p = bisect_left(self.sid, sid)
            self.inserts += 1

            def add(arr: array, default: Any) -> None:
                arr.insert(p, default)
        add(self.sid, sid)
        add(self.off, 0)
        add(self.size, 0)
        for c in CODED:
            add(self.cc[c], self.codes[c].of(_NORMAL.get(c)))
        for c in FLOATS:
            add(self.fc[c], _NAN)
        for kind in KEYED:
            for _codes, arr in self.keyed[kind].values():
                add(arr, -1)
        self.versions[("", "")] += 1
        return p

    def _append(self, sid: int, ix: dict, raw: bytes | None, off: int, size: int) -> None:
        """`put` of a sample after every other (the usual case): each column grows by one."""
        self.sid.append(sid)
        self.off.append(off)
        self.size.append(size)
        codes, cc = self.codes, self.cc
        tp = ix.get("tp") or ""
        v = ix.get("v") or ""
        for c, value in (("st", ix.get("st") or "pending"), ("tp", tp), ("v", v), ("md", ix.get("md")),
                         ("fl", ix.get("fl") or "")):
            table = codes[c]
            code = table.code.get(value) if type(value) is str else None
            cc[c].append(table.of(value) if code is None else code)
        fc, odd = self.fc, self.odd
        for c in FLOATS:
            value = ix.get(c)
            if type(value) is float and value == value:
                fc[c].append(value)
            else:
                fc[c].append(_NAN)
                if value is not None:
                    odd[c][sid] = value
        n = len(self.sid)
        for kind in KEYED:
            new = ix.get(kind) or {}
            columns = self.keyed[kind]
            if new.keys() - columns.keys():
                for name in new.keys() - columns.keys():
                    columns[str(name)] = (Codes(), array("i", [-1]) * (n - 1))
            for name, (table, arr) in columns.items():
                value = new.get(name)
                if value is None:
                    arr.append(-1)
                else:
                    code = table.code.get(value)
                    arr.append(table.of(str(value)) if code is None else code)
        for kind in MULTI:
            keys = ix.get(kind)
            if keys:
                d = self.multi[kind]
                for key in set(keys):
                    arr = d.get(key)
                    if arr is None:
                        d[str(key)] = array("q", [sid])
                    else:
                        arr.append(sid)
        self.versions[(tp, v)] += 1
        if raw is not None:
            self.overlay[sid] = raw
            self.overlay_bytes += len(raw)

    def put(self, sid: int, ix: dict, raw: bytes | None, off: int = 0, size: int = 0) -> None:
        """Add or replace sample `sid`: `ix` its index fields (core.record.index_fields), `raw` its JSON bytes when
        held in memory, else its place in the file (`off`, `size` in bytes)."""
        p = _place(self.sid, sid)
        if p is None:
            if not self.sid or sid > self.sid[-1]:
                self._append(sid, ix, raw, off, size)
                return
            p = self._new_row(sid)
        version = (self.value("tp", p), self.value("v", p))
        self.versions[version] -= 1
        if self.versions[version] <= 0:
            del self.versions[version]
        for c in CODED:
            v = ix.get(c)
            self.cc[c][p] = self.codes[c].of(v or _NORMAL[c] if c in _NORMAL else v)
        for c in FLOATS:
            v = ix.get(c)
            if type(v) is float and v == v:
                self.fc[c][p] = v
                self.odd[c].pop(sid, None)
            else:
                self.fc[c][p] = _NAN
                if v is None:
                    self.odd[c].pop(sid, None)
                else:
                    self.odd[c][sid] = v
        for kind in KEYED:
            new = ix.get(kind) or {}
            columns = self.keyed[kind]
            for name in new.keys() - columns.keys():
                columns[str(name)] = (Codes(), array("i", [-1]) * len(self.sid))
            for name, (codes, arr) in columns.items():
                v = new.get(name)
                arr[p] = -1 if v is None else codes.of(str(v))
        for kind in MULTI:
            new_keys = set(ix.get(kind) or ())
            d = self.multi[kind]
            for key, arr in list(d.items()):
                i = bisect_left(arr, sid)
                has = i < len(arr) and arr[i] == sid
                if has and key not in new_keys:
                    del arr[i]
                    if not arr:
                        del d[key]
                elif not has and key in new_keys:
                    arr.insert(i, sid)
            for key in new_keys - d.keys():
                d[str(key)] = array("q", [sid])
        self.versions[(self.value("tp", p), self.value("v", p))] += 1
        old = self.overlay.pop(sid, None)
        if old is not None:
            self.overlay_bytes -= len(old)
        if raw is not None:
            self.overlay[sid] = raw
            self.overlay_bytes += len(raw)
        if raw is None:
            self.off[p], self.size[p] = off, size     # else the file's older copy keeps its place (see freeze)

    # ------------------------------------------------------------ folds

    def freeze(self, copy: bool = True) -> Frozen:
        """Where every sample's JSON is right now, for a fold or a text search outside the lock: a copy of the
        overlay's references, and of id, offset and size (20 bytes a sample) with `copy`. Without it (a fold) the
        live columns are shared, no copy: a row's place changes only by `relocate` (which ends the fold), a
        sample put again keeps its old place (its JSON is in the overlay), and no id may be put before the
        last until `relocate` or `thaw`."""
        n = len(self.sid)
        if copy:
            return Frozen(array("q", self.sid), array("q", self.off), array("I", self.size), dict(self.overlay),
                          self.inserts, n)
        self.frozen = True
        dense = n and self.sid[-1] - self.sid[0] == n - 1
        sid = range(self.sid[0], self.sid[0] + n) if dense else array("q", self.sid)
        return Frozen(sid, self.off, self.size, dict(self.overlay), self.inserts, n)

    def thaw(self) -> None:
        """The fold that shared the columns is over (relocate does this too)."""
        self.frozen = False

    def relocate(self, frozen: Frozen, offs: array, lens: array, read_raw: Callable[[int, int], bytes]) -> None:
        """After a fold wrote `frozen`'s rows at `offs`/`lens`: they now live in the new file, except the samples
        changed meanwhile (their newer JSON stays in memory)."""
        self.frozen = False
        n0 = frozen.n
        if frozen.inserts == self.inserts:
            self.off[:n0] = offs
            self.size[:n0] = lens
        else:                                          # rows moved since: place them one by one
            for k in range(n0):
                p = _place(self.sid, frozen.sid[k])   # (only a copied Frozen can see rows move)
                if p is not None:
                    self.off[p], self.size[p] = offs[k], lens[k]
        for sid, raw in frozen.overlay.items():
            if self.overlay.get(sid) is raw:           # not changed meanwhile
                del self.overlay[sid]
        self.overlay_bytes = sum(map(len, self.overlay.values()))
        self.read_raw = read_raw

    # ------------------------------------------------------------ NAME.index

    def dump(self, n: int, offs: array, lens: array) -> tuple[dict, list]:
        """The first `n` rows as NAME.index holds them, at file places `offs`/`lens`: (a JSON-able header, buffers
        to write after it in order). Live values are written (samples changed since the file was written are
        put again from the journal when it is opened). None when rows moved since `n` was taken."""
        top = self.sid[n - 1] if n else 0
        arrays: list[tuple[str, array, int]] = [("id", self.sid, n), ("off", offs, n), ("len", lens, n)]
        arrays += [(c, self.cc[c], n) for c in CODED] + [(c, self.fc[c], n) for c in FLOATS]
        keyed: dict[str, dict[str, list]] = {}
        for kind in KEYED:
            keyed[kind] = {}
            for name, (codes, arr) in self.keyed[kind].items():
                keyed[kind][name] = codes.values
                arrays.append((f"{kind}{SEP}{name}", arr, n))
        multi: dict[str, list[str]] = {}
        for kind in MULTI:
            multi[kind] = []
            for key, arr in self.multi[kind].items():
                k = bisect_right(arr, top)
                if k:
                    multi[kind].append(key)
                    arrays.append((f"{kind}{SEP}{key}", arr, k))
        header = {"byteorder": sys.byteorder, "n": n, "codes": {c: self.codes[c].values for c in CODED},
                  "keyed": keyed, "multi": multi,
                  "odd": {c: [[s, v] for s, v in d.items() if s <= top] for c, d in self.odd.items()},
                  "arrays": [[label, arr.typecode, count] for label, arr, count in arrays]}
        return header, [memoryview(arr)[:count] for _label, arr, count in arrays]

    def load(self, header: dict, fh: BinaryIO) -> None:
        """Take the columns NAME.index holds (`header` its first line, `fh` just after it); ValueError/KeyError
        when they do not fit together (the file is then read the slow way)."""
        if header["byteorder"] != sys.byteorder:
            raise ValueError("written on a machine of the other byte order")
        n = int(header["n"])
        got: dict[str, array] = {}
        for label, typecode, count in header["arrays"]:
            arr = array(typecode)
            arr.fromfile(fh, count)               # EOFError when the file is short
            got[label] = arr
        self.sid, self.off, self.size = got["id"], got["off"], got["len"]
        if self.off.typecode != "q" or self.size.typecode != "I" or not len(self.sid) == len(self.off) == n:
            raise ValueError("columns of another shape")
        for c in CODED:
            self.codes[c] = Codes(header["codes"][c])
            self.cc[c] = got[c]
        for c in FLOATS:
            self.fc[c] = got[c]
            self.odd[c] = {int(s): v for s, v in header["odd"][c]}
        for kind in KEYED:
            self.keyed[kind] = {name: (Codes(values), got[f"{kind}{SEP}{name}"])
                                for name, values in header["keyed"][kind].items()}
        for kind in MULTI:
            self.multi[kind] = {key: got[f"{kind}{SEP}{key}"] for key in header["multi"][kind]}
        if any(len(a) != n for a in (*self.cc.values(), *self.fc.values())) or \
                any(len(a) != n for d in self.keyed.values() for _c, a in d.values()):
            raise ValueError("columns of different lengths")
        self.overlay, self.overlay_bytes, self.inserts = {}, 0, 0
        self.versions = Counter()
        if n:
            import numpy as np

            pair = np.frombuffer(self.cc["tp"], np.int32).astype(np.int64) << 32
            pair |= np.frombuffer(self.cc["v"], np.int32).astype(np.int64) & 0xFFFFFFFF
            keys, counts = np.unique(pair, return_counts=True)
            tp, v = self.codes["tp"].values, self.codes["v"].values
            for key, count in zip(keys.tolist(), counts.tolist()):
                self.versions[(tp[key >> 32], v[key & 0xFFFFFFFF])] = count

    # ------------------------------------------------------------ queries

    def _view(self, arr: array):
        import numpy as np

        return np.frombuffer(arr, {"i": np.int32, "q": np.int64, "d": np.float64}[arr.typecode]) if len(arr) \
            else np.zeros(0, {"i": np.int32, "q": np.int64, "d": np.float64}[arr.typecode])

    def _rows_of_ids(self, ids):
        """Rows of ids known to be present (a numpy array), ascending when the ids are."""
        import numpy as np

        ids = np.asarray(ids, np.int64)
        if not len(self.sid):
            return ids
        if self.sid[-1] - self.sid[0] == len(self.sid) - 1:
            return ids - self.sid[0]
        return np.searchsorted(self._view(self.sid), ids)

    def _mask(self, status=None, tag=None, template=None, version=None, slot=None, followup=None, flag=None,
              persona=None):
        """A boolean mask of the rows matching the filters (None: no filter)."""
        import numpy as np

        mask = None

        def both(m):
            nonlocal mask
            mask = m if mask is None else (mask & m)

        n = len(self.sid)
        for col, wanted in (("st", status), ("tp", template), ("v", version), ("fl", flag)):
            if wanted is None:
                continue
            keys = [wanted] if isinstance(wanted, str) else list(wanted)
            table = self.codes[col].code
            codes = [table[k] for k in keys if _hashable(k) in table]
            both(np.isin(self._view(self.cc[col]), codes) if codes else np.zeros(n, bool))
        for kind, wanted in (("tg", tag), ("fu", followup)):
            if wanted is None:
                continue
            keys = [wanted] if isinstance(wanted, str) else list(wanted)
            m = np.zeros(n, bool)
            for k in keys:
                arr = self.multi[kind].get(k)
                if arr:
                    m[self._rows_of_ids(self._view(arr))] = True
            both(m)
        for kind, pair in (("sl", slot), ("pa", persona)):
            if pair is None:
                continue
            name, value = pair
            entry = self.keyed[kind].get(name)
            code = None if entry is None else entry[0].code.get(str(value))
            both(np.zeros(n, bool) if code is None else self._view(entry[1]) == code)
        return mask

    def candidates(self, **filters) -> list[int] | None:
        """The ids (ascending) matching the indexed filters; None means no filter: every sample. Filters: status, tag,
        template, version, slot, followup, flag ("" means unflagged), persona; slot / persona: a (name, value) pair,
        value as text (as the analysis shows it)."""
        mask = self._mask(**filters)
        if mask is None:
            return None
        import numpy as np

        return self._view(self.sid)[np.flatnonzero(mask)].tolist()

    def ordered(self, ids: Iterable[int] | None, order: str = "id", desc: bool = False) -> list[int]:
        """`ids` (None: all) sorted by `order` (one of ORDERS; None values last), reversed with `desc`.
        Raises StoreError for an unknown order."""
        if order not in ORDERS:
            from studio.store.errors import StoreError
            raise StoreError(f"cannot sort samples by {order!r}", hint=f"use one of: {', '.join(ORDERS)}")
        out = self.sid.tolist() if ids is None else sorted(ids)
        if order != "id":
            col = _COL[order]
            place = self.place
            keyed = [(v, sid) for sid in out for v in (self.value(col, place(sid)),)]   # type: ignore[arg-type]
            known = [k for k in keyed if k[0] is not None]
            try:
                known.sort(key=lambda k: k[0])            # stable: ties stay in id order
            except TypeError:                              # mixed types in a hand-edited file
                known.sort(key=lambda k: str(k[0]))
            out = [sid for _, sid in known] + [sid for v, sid in keyed if v is None]
        if desc:
            out.reverse()
        return out

    def facets(self, ids: list[int] | None) -> Facets:
        """Copies of what an analysis counts, for `ids` (ascending; None: every sample), under the caller's lock."""
        import numpy as np

        rows = None if ids is None else self._rows_of_ids(ids).tolist()
        out_ids = self.sid.tolist() if ids is None else list(ids)
        cols = {c: self.values(c, rows) for c in ("tp", "v", "st", "co", "md")}
        sid = self._view(self.sid)

        def groups(codes: Codes, arr: array) -> dict[Any, set[int]]:
            view = self._view(arr)
            order = np.argsort(view, kind="stable")
            keys, starts = np.unique(view[order], return_index=True)
            bounds = starts.tolist() + [len(order)]
            return {codes.values[k]: set(sid[order[bounds[i]: bounds[i + 1]]].tolist())
                    for i, k in enumerate(keys.tolist()) if k >= 0}

        def pairs(kind: str) -> dict[tuple[str, str], set[int]]:
            return {(name, value): ids_ for name, (codes, arr) in self.keyed[kind].items()
                    for value, ids_ in groups(codes, arr).items()}

        by_status: dict[str, set[int]] = {s: set() for s in STATUSES}
        by_status.update(groups(self.codes["st"], self.cc["st"]))
        return Facets(out_ids, cols["tp"], cols["v"], cols["st"], cols["co"], cols["md"], by_status,
                      {t: set(arr.tolist()) for t, arr in self.multi["tg"].items()},
                      groups(self.codes["tp"], self.cc["tp"]), pairs("sl"), pairs("pa"))

    def counts(self) -> dict:
        """{"status": {status: n}, "tags": {tag: n}, "versions": {(template, version): n}, "flags": {flag: n}}."""
        import numpy as np

        def per(col: str):
            n = len(self.codes[col].values)
            return np.bincount(self._view(self.cc[col]), minlength=n) if len(self.sid) else [0] * n

        codes, st, fl = self.codes["st"].code, per("st"), per("fl")
        return {
            "status": {s: int(st[codes[s]]) if s in codes else 0 for s in STATUSES},
            "flags": {f: int(fl[k]) for f, k in sorted(self.codes["fl"].code.items()) if f and fl[k]},
            "tags": {t: len(arr) for t, arr in sorted(self.multi["tg"].items())},
            "versions": dict(self.versions),
        }

    def count_status(self, sids: Iterable[int]) -> dict[str, int]:
        """How many of these samples have each status (unknown ids skipped)."""
        out: dict[str, int] = {}
        col, table = self.cc["st"], self.codes["st"].values
        for sid in sids:
            p = _place(self.sid, sid)
            if p is not None:
                st = table[col[p]] or "pending"
                out[st] = out.get(st, 0) + 1
        return out
