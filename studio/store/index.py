"""In-memory indexes over a session's samples, updated incrementally on every change.

Per sample only a few columns are kept (status, template, version, times, cost, latency and
where its JSON lives: bytes in memory or an offset in the TinyDB file); inverted indexes map
status, tag, template, version and slot value to sets of ids. Full documents are parsed only on
`get()`. So 100,000 samples stay far under the memory budget, a filter is a set intersection,
and opening loads the columns and sets from NAME.index without a Python loop per sample.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Collection, Iterable, Iterator, Mapping

import orjson

from studio.core.record import STATUSES, index_fields

ORDERS = ("id", "created", "reviewed", "status", "template", "version", "cost", "latency")
_COL = {"created": "c", "reviewed": "r", "status": "st", "template": "tp", "version": "v",
        "cost": "co", "latency": "la"}
SEP = "\x1f"      # joins a slot's name and value into one key
GREP_BLOCK = 8 << 20


@dataclass
class Frozen:
    """Parallel columns of the samples at one moment (what a fold writes)."""

    sid: list[int]
    raw: list[bytes | None]
    off: list[int]
    size: list[int]
    col: dict[str, list] | None = None
    by: Mapping[str, Mapping[str, Collection[int]]] | None = None   # a copy holds sorted lists
    versions: list | None = None

    def entries(self, read_raw: Callable[[int, int], bytes]) -> Iterator[tuple[int, bytes]]:
        """(id, JSON) of every sample in storage order."""
        raw, off, size = self.raw, self.off, self.size
        for p, sid in enumerate(self.sid):
            r = raw[p]
            yield sid, r if r is not None else read_raw(off[p], size[p])

    def grep(self, needle: bytes, read_raw: Callable[[int, int], bytes]) -> set[int]:
        """Ids whose stored JSON contains `needle` (lower-case ASCII), ignoring ASCII case.

        Scans the TinyDB file in large blocks (one read and one lower() per 8 MB, not per sample),
        then the samples held in memory; a prefilter, callers confirm on the parsed document.
        """
        hits: set[int] = set()
        sid, raw, off, size = self.sid, self.raw, self.off, self.size
        in_file = [p for p in range(len(sid)) if raw[p] is None]        # offsets ascend with position
        starts = [off[p] for p in in_file]
        i, n = 0, len(in_file)
        while i < n:
            start = starts[i]
            j = max(i + 1, bisect_right(starts, start + GREP_BLOCK, i, n) - 1)
            end = off[in_file[j - 1]] + size[in_file[j - 1]]
            block = read_raw(start, end - start).lower()
            k = block.find(needle)
            while k >= 0:
                q = in_file[bisect_right(starts, start + k, i, j) - 1]
                sample_end = off[q] + size[q] - start
                if k + len(needle) <= sample_end:
                    hits.add(sid[q])
                    k = block.find(needle, sample_end)
                else:
                    k = block.find(needle, k + 1)
            i = j
        for p, r in enumerate(raw):
            if r is not None and needle in r.lower():
                hits.add(sid[p])
        return hits

    def columns(self) -> dict:
        """What `SampleIndex.load_columns` takes (the writer adds the offsets)."""
        return {"id": self.sid, **self.col,
                **{"by_" + k: {key: ids if isinstance(ids, list) else sorted(ids) for key, ids in d.items()}
                   for k, d in self.by.items()},
                "versions": [[t, v, n] for (t, v), n in self.versions]}


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
    COLS = ("st", "tp", "v", "c", "r", "co", "la", "md")

    def __init__(self, read_raw: Callable[[int, int], bytes] | None = None):
        self.read_raw = read_raw                      # (offset, size) -> bytes from the TinyDB file
        self.pos: dict[int, int] = {}
        self.sid: list[int] = []
        self.col: dict[str, list] = {c: [] for c in self.COLS}
        self.raw: list[bytes | None] = []
        self.off: list[int] = []
        self.size: list[int] = []
        self.by: dict[str, dict[str, set[int]]] = {"st": {s: set() for s in STATUSES}, "tg": {}, "tp": {},
                                                   "v": {}, "sl": {}, "pa": {}, "fu": {}, "fl": {}}
        self.versions: Counter = Counter()            # (template, version) -> n
        self.overlay_bytes = 0                        # bytes of sample JSON held in memory
        self.sorted = True                            # self.sid ascending

    def __len__(self) -> int:
        return len(self.sid)

    def __contains__(self, sid: int) -> bool:
        return sid in self.pos

    @property
    def max_id(self) -> int:
        """The largest sample id (0 for an empty session)."""
        if not self.sid:
            return 0
        return self.sid[-1] if self.sorted else max(self.sid)

    # ------------------------------------------------------------ loading and saving

    def load_columns(self, data: dict) -> None:
        """Take the columns and inverted indexes as NAME.index stores them (no per-sample loop)."""
        self.sid = data["id"]
        self.pos = dict(zip(self.sid, range(len(self.sid))))
        for c in self.COLS:
            self.col[c] = data[c]
        self.off, self.size = data["off"], data["len"]
        self.raw = [None] * len(self.sid)
        for key in self.by:
            self.by[key] = {k: set(v) for k, v in data["by_" + key].items()}
        for s in STATUSES:
            self.by["st"].setdefault(s, set())
        self.versions = Counter({(t, v): n for t, v, n in data["versions"]})
        self.sorted = self.sid == sorted(self.sid)
        self.overlay_bytes = 0

    def freeze_rows(self) -> "Frozen":
        """Where every sample's JSON is right now (cheap copies), for a scan outside the lock."""
        return Frozen(list(self.sid), list(self.raw), list(self.off), list(self.size))

    def freeze(self, copy: bool) -> "Frozen":
        """The samples as of now, for writing the TinyDB file (copies when a fold runs in the background)."""
        if not copy:
            return Frozen(self.sid, self.raw, self.off, self.size, self.col, self.by, list(self.versions.items()))
        return Frozen(list(self.sid), list(self.raw), list(self.off), list(self.size),
                      {c: list(v) for c, v in self.col.items()},
                      # sorted lists, not set copies: a fold of a million samples copies a quarter of the bytes
                      {k: {key: sorted(ids) for key, ids in d.items()} for k, d in self.by.items()},
                      list(self.versions.items()))

    def relocate(self, frozen: "Frozen", placed: list[tuple[int, int, int]],
                 read_raw: Callable[[int, int], bytes]) -> None:
        """After a fold: every sample unchanged since `frozen` now lives in the new file."""
        raw, off, size = self.raw, self.off, self.size
        for p, (_sid, o, n) in enumerate(placed):
            if raw[p] is frozen.raw[p]:           # same object (or both None): not changed meanwhile
                off[p], size[p], raw[p] = o, n, None
        self.overlay_bytes = sum(len(r) for r in raw if r is not None)
        self.read_raw = read_raw

    # ------------------------------------------------------------ changes

    def raw_of(self, sid: int) -> bytes:
        """The stored JSON bytes of sample `sid` (from memory, else read from the file). KeyError for an unknown id."""
        p = self.pos[sid]
        raw = self.raw[p]
        return raw if raw is not None else self.read_raw(self.off[p], self.size[p])

    def put(self, sid: int, ix: dict, raw: bytes | None, off: int = 0, size: int = 0) -> None:
        """Add or replace sample `sid`: `ix` its index fields (core.record.index_fields), `raw` its JSON bytes when
        held in memory, else its place in the file (`off`, `size` in bytes)."""
        p = self.pos.get(sid)
        if p is None:
            if self.sid and sid < self.sid[-1]:
                self.sorted = False
            p = self.pos[sid] = len(self.sid)
            self.sid.append(sid)
            for c in self.COLS:
                self.col[c].append(None)
            self.raw.append(None)
            self.off.append(0)
            self.size.append(0)
        else:
            self._unindex(sid, index_fields(orjson.loads(self.raw_of(sid))))
            old = self.raw[p]
            if old is not None:
                self.overlay_bytes -= len(old)
        for c in self.COLS:
            self.col[c][p] = ix.get(c)
        self.raw[p], self.off[p], self.size[p] = raw, off, size
        if raw is not None:
            self.overlay_bytes += len(raw)
        self._index(sid, ix)

    def _keys(self, ix: dict) -> Iterator[tuple[str, str]]:
        yield "st", ix.get("st") or "pending"
        yield "tp", ix.get("tp") or ""
        yield "v", ix.get("v") or ""
        for t in ix.get("tg") or ():
            yield "tg", t
        for k, v in (ix.get("sl") or {}).items():
            yield "sl", f"{k}{SEP}{v}"
        for k, v in (ix.get("pa") or {}).items():
            yield "pa", f"{k}{SEP}{v}"
        for name in ix.get("fu") or ():
            yield "fu", name
        yield "fl", ix.get("fl") or ""

    def _index(self, sid: int, ix: dict) -> None:
        for kind, key in self._keys(ix):
            self.by[kind].setdefault(key, set()).add(sid)
        self.versions[(ix.get("tp") or "", ix.get("v") or "")] += 1

    def _unindex(self, sid: int, ix: dict) -> None:
        for kind, key in self._keys(ix):
            ids = self.by[kind].get(key)
            if ids is not None:
                ids.discard(sid)
                if not ids and kind != "st":
                    del self.by[kind][key]
        version = (ix.get("tp") or "", ix.get("v") or "")
        self.versions[version] -= 1
        if self.versions[version] <= 0:
            del self.versions[version]

    # ------------------------------------------------------------ queries

    def grep(self, needle: bytes) -> set[int]:
        """Ids of the samples whose stored bytes contain `needle`."""
        return self.freeze(copy=False).grep(needle, self.read_raw)

    def candidates(self, status=None, tag=None, template=None, version=None, slot=None,
                   followup=None, flag=None, persona=None) -> set[int] | None:
        """The ids matching the indexed filters (None means no filter: every sample; flag "" means unflagged).

        slot / persona: a (name, value) pair, value as text (as the analysis shows it)."""
        sets: list[set[int]] = []
        for kind, wanted in (("st", status), ("tg", tag), ("tp", template), ("v", version), ("fu", followup),
                             ("fl", flag)):
            if wanted is None:
                continue
            keys = [wanted] if isinstance(wanted, str) else list(wanted)
            d = self.by[kind]
            sets.append(d.get(keys[0], set()) if len(keys) == 1 else set().union(*(d.get(k, ()) for k in keys)))
        for kind, pair in (("sl", slot), ("pa", persona)):
            if pair is not None:
                name, value = pair
                sets.append(self.by[kind].get(f"{name}{SEP}{value}", set()))
        if not sets:
            return None
        sets.sort(key=len)
        return sets[0].intersection(*sets[1:]) if len(sets) > 1 else set(sets[0])

    def ordered(self, ids: Iterable[int] | None, order: str = "id", desc: bool = False) -> list[int]:
        """`ids` (None: all) sorted by `order` (one of ORDERS; None values last), reversed with `desc`.
        Raises StoreError for an unknown order."""
        if order not in ORDERS:
            from studio.store.errors import StoreError
            raise StoreError(f"cannot sort samples by {order!r}", hint=f"use one of: {', '.join(ORDERS)}")
        if order == "id":
            out = list(self.sid) if ids is None and self.sorted else sorted(self.sid if ids is None else ids)
        else:
            column, pos, sid = self.col[_COL[order]], self.pos, self.sid
            if ids is None:
                places = range(len(sid)) if self.sorted else sorted(range(len(sid)), key=sid.__getitem__)
            else:
                places = sorted(ids) if self.sorted else sorted(ids)
                places = [pos[i] for i in places]
            known = [p for p in places if column[p] is not None]
            try:
                known.sort(key=column.__getitem__)            # stable: ties stay in id order
            except TypeError:                                  # mixed types in a hand-edited file
                known.sort(key=lambda p: str(column[p]))
            out = [sid[p] for p in known] + [sid[p] for p in places if column[p] is None]
        if desc:
            out.reverse()
        return out

    def facets(self, ids: list[int] | None) -> "Facets":
        """Copies of what an analysis counts, for `ids` (ascending; None: every sample), under the caller's lock."""
        col = self.col
        if ids is None and self.sorted:
            ids = list(self.sid)
            cols = {c: list(col[c]) for c in ("tp", "v", "st", "co", "md")}
        else:
            ids = sorted(self.sid) if ids is None else ids
            places = list(map(self.pos.__getitem__, ids))
            cols = {c: list(map(col[c].__getitem__, places)) for c in ("tp", "v", "st", "co", "md")}

        def pairs(kind: str) -> dict[tuple[str, str], set[int]]:
            return {tuple(k.split(SEP, 1)): set(v)  # type: ignore[misc]  # every key holds one SEP
                    for k, v in self.by[kind].items() if v}

        by = self.by
        return Facets(ids, cols["tp"], cols["v"], cols["st"], cols["co"], cols["md"],
                      {s: set(v) for s, v in by["st"].items()}, {t: set(v) for t, v in by["tg"].items() if v},
                      {t: set(v) for t, v in by["tp"].items()}, pairs("sl"), pairs("pa"))

    def counts(self) -> dict:
        """{"status": {status: n}, "tags": {tag: n}, "versions": {(template, version): n}}."""
        return {
            "status": {s: len(self.by["st"].get(s, ())) for s in STATUSES},
            "tags": {t: len(ids) for t, ids in sorted(self.by["tg"].items())},
            "versions": dict(self.versions),
        }
