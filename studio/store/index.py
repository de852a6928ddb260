"""In-memory indexes over a session's samples, updated incrementally on every change.

A sample is held as a small `Row` (the fields filters and sorting need, plus where its JSON
lives: raw bytes in memory or an offset into the mapped TinyDB file). Full documents are
parsed only on `get()`, so 100,000 samples stay well under the memory budget and a filter
costs a set intersection, not a scan.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from studio.store.schema import STATUSES

ORDERS = ("id", "created", "reviewed", "status", "template", "version", "cost", "latency")


class Row:
    __slots__ = ("status", "tags", "template", "version", "created", "reviewed", "cost", "latency",
                 "slots", "raw", "off", "size")

    def __init__(self):
        self.raw: bytes | None = None
        self.off = 0
        self.size = 0


class SampleIndex:
    def __init__(self):
        self.rows: dict[int, Row] = {}
        self.by_status: dict[str, set[int]] = {s: set() for s in STATUSES}
        self.by_tag: dict[str, set[int]] = {}
        self.by_template: dict[str, set[int]] = {}
        self.by_version: dict[str, set[int]] = {}
        self.by_slot: dict[tuple[str, str], set[int]] = {}
        self.versions: Counter = Counter()          # (template, version) -> n
        self.overlay_bytes = 0                       # bytes of documents held in memory
        self._strings: dict[str, str] = {}

    def _s(self, s: str) -> str:
        """Share repeated strings (status, template, slot values) between rows."""
        return self._strings.setdefault(s, s)

    @property
    def max_id(self) -> int:
        return next(reversed(self.rows), 0) if self.rows else 0

    def put(self, sid: int, ix: dict, raw: bytes | None = None, off: int = 0, size: int = 0) -> None:
        old = self.rows.get(sid)
        if old is not None:
            self._unindex(sid, old)
            if old.raw is not None:
                self.overlay_bytes -= len(old.raw)
        row = Row()
        s = self._s
        row.status = s(ix.get("st") or "pending")
        row.tags = tuple(s(t) for t in ix.get("tg") or ())
        row.template = s(ix.get("tp") or "")
        row.version = s(ix.get("v") or "")
        row.created = ix.get("c")
        row.reviewed = ix.get("r")
        row.cost = ix.get("co")
        row.latency = ix.get("la")
        row.slots = tuple((s(k), s(v)) for k, v in (ix.get("sl") or {}).items())
        row.raw, row.off, row.size = raw, off, size
        if raw is not None:
            self.overlay_bytes += len(raw)
        if old is None and self.rows and sid < self.max_id:
            self._insert_sorted(sid, row)
        else:
            self.rows[sid] = row
        self._index(sid, row)

    def _insert_sorted(self, sid: int, row: Row) -> None:
        items = sorted([*self.rows.items(), (sid, row)])
        self.rows = dict(items)

    def _index(self, sid: int, row: Row) -> None:
        self.by_status.setdefault(row.status, set()).add(sid)
        for t in row.tags:
            self.by_tag.setdefault(t, set()).add(sid)
        self.by_template.setdefault(row.template, set()).add(sid)
        self.by_version.setdefault(row.version, set()).add(sid)
        for kv in row.slots:
            self.by_slot.setdefault(kv, set()).add(sid)
        self.versions[(row.template, row.version)] += 1

    def _unindex(self, sid: int, row: Row) -> None:
        self.by_status[row.status].discard(sid)
        for t in row.tags:
            self._drop(self.by_tag, t, sid)
        self._drop(self.by_template, row.template, sid)
        self._drop(self.by_version, row.version, sid)
        for kv in row.slots:
            self._drop(self.by_slot, kv, sid)
        key = (row.template, row.version)
        self.versions[key] -= 1
        if self.versions[key] <= 0:
            del self.versions[key]

    @staticmethod
    def _drop(index: dict, key, sid: int) -> None:
        ids = index.get(key)
        if ids is not None:
            ids.discard(sid)
            if not ids:
                del index[key]

    def candidates(self, status=None, tag=None, template=None, version=None, slot=None) -> set[int] | None:
        """The ids matching the indexed filters (None means: no filter, every sample)."""
        sets: list[set[int]] = []
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            sets.append(set().union(*(self.by_status.get(s, ()) for s in wanted)) if len(wanted) != 1
                        else self.by_status.get(wanted[0], set()))
        if tag is not None:
            wanted = [tag] if isinstance(tag, str) else list(tag)
            sets.append(set().union(*(self.by_tag.get(t, ()) for t in wanted)) if len(wanted) != 1
                        else self.by_tag.get(wanted[0], set()))
        if template is not None:
            sets.append(self.by_template.get(template, set()))
        if version is not None:
            sets.append(self.by_version.get(version, set()))
        if slot is not None:
            name, value = slot
            sets.append(self.by_slot.get((str(name), str(value)), set()))
        if not sets:
            return None
        sets.sort(key=len)
        return sets[0].intersection(*sets[1:]) if len(sets) > 1 else set(sets[0])

    def ordered(self, ids: Iterable[int] | None, order: str = "id", desc: bool = False) -> list[int]:
        if order not in ORDERS:
            from studio.store.errors import StoreError
            raise StoreError(f"cannot sort samples by {order!r}", hint=f"use one of: {', '.join(ORDERS)}")
        if order == "id":
            out = list(self.rows) if ids is None else sorted(ids)
        else:
            attr = order
            rows = self.rows
            pool = rows if ids is None else ids

            def key(i: int):
                v = getattr(rows[i], attr)
                return (v is None, v if v is not None else 0, i)
            out = sorted(pool, key=key)
        if desc:
            out.reverse()
        return out

    def counts(self) -> dict:
        return {
            "status": {s: len(self.by_status.get(s, ())) for s in STATUSES},
            "tags": {t: len(ids) for t, ids in sorted(self.by_tag.items())},
            "versions": dict(self.versions),
        }
