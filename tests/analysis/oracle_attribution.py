"""The oracle for failure attribution: a plain count over sample dicts, one sample at a time.

Production counts one way (studio.analysis.attribution: from the index's columns, or the same columns built
from dicts). This is the earlier, independent per-sample count, kept here so the tests can check the
production path against something written differently (bit for bit: the same batches of cost sums).
"""

from __future__ import annotations

from collections import Counter
from itertools import repeat
from typing import Any, Iterable

from studio.analysis import attribution
from studio.analysis.attribution import (_STATUS, _TAGS, Counts, Report, Settings, _add_costs, _cell, _merge,
                                         _template_report)
from studio.core.record import category_of as _category


def oracle_analyse(samples: Iterable[dict], settings: Settings | None = None, **overrides: Any) -> Report:
    """What analyse() must return, counted sample by sample (flushed every attribution.BATCH samples)."""
    settings = settings or Settings(**overrides)
    acc: dict[str, list] = {}  # template -> [None, {version: cell}, {(prefix, attr): {value: cell}}]
    groups: dict[tuple, list] = {}
    tagged: list[tuple] = []
    status_of = _STATUS.get
    n = 0
    for s in samples:
        get = s.get
        key = (get("template") or "?", get("template_version") or "?", status_of(get("status"), 0))
        g = groups.get(key)
        if g is None:
            g = groups[key] = [[], [], []]
        slots, persona, cost = get("slots"), get("persona"), get("cost")
        if get("cached") or get("model") == "render":
            cost = 0.0  # a cached answer and render mode spend nothing (README, Cost)
        elif cost is None and get("status") == "failed" and not get("attempts"):
            cost = 0.0  # a failure nobody billed; anything else unpriced is unknown
        g[0].append(slots)
        g[1].append(persona)
        g[2].append(cost)
        tags = get("tags")
        if tags:
            tagged.append((key, slots, persona, tags))
        n += 1
        if n == attribution.BATCH:
            _flush(acc, groups, tagged)
            groups, tagged, n = {}, [], 0
    _flush(acc, groups, tagged)
    reports, cells = [], []
    for name, (_, versions, dims) in sorted(acc.items()):
        tcell = _merge(versions.values())
        cells.append(tcell)
        reports.append(_template_report(name, tcell, versions, dims, settings))
    return Report(reports, Counts.from_cell(_merge(cells)), settings)


def _flush(acc: dict, groups: dict, tagged: list) -> None:
    for (name, version, k), (slots, personas, costs) in groups.items():
        entry = acc.get(name) or acc.setdefault(name, [None, {}, {}])
        c = entry[1].get(version) or entry[1].setdefault(version, _cell())
        _add_costs(c, k, costs)
        _count_values(entry[2], "slot.", slots, k)
        _count_values(entry[2], "persona.", personas, k)
    for (name, version, _k), slots, persona, tags in tagged:
        entry = acc[name]
        c = entry[1][version]
        tc = c[_TAGS] if c[_TAGS] is not None else c.__setitem__(_TAGS, {}) or c[_TAGS]
        for t in tags:
            tc[t] = tc.get(t, 0) + 1
        dims = entry[2]
        for prefix, mapping in (("slot.", slots), ("persona.", persona)):
            if not mapping or not isinstance(mapping, dict):
                continue
            for attr, value in mapping.items():
                d = dims.get((prefix, attr))
                if d is None:
                    continue
                cell = d.get(value if value.__class__ is str else _category(value))
                if cell is None:
                    continue
                vt = cell[4] if cell[4] is not None else cell.__setitem__(4, {}) or cell[4]
                for t in tags:
                    vt[t] = vt.get(t, 0) + 1


def _count_values(dims: dict, prefix: str, mappings: list, k: int) -> None:
    present = [m for m in mappings if m and isinstance(m, dict)]
    if not present:
        return
    for attr in set().union(*present):
        if prefix == "persona." and attr == "text":
            continue  # the persona's own text is its slot value, counted already
        try:
            counts = Counter(map(dict.get, present, repeat(attr)))
        except TypeError:  # unhashable values (lists, dicts) are not categories
            counts = Counter(_category(m.get(attr)) for m in present)
        d = dims.get((prefix, attr))
        for value, n in counts.items():
            if value.__class__ is not str:
                value = _category(value)
                if value is None:
                    continue
            if d is None:
                d = dims[(prefix, attr)] = {}
            cell = d.get(value) or d.setdefault(value, [0, 0, 0, 0, None])
            cell[0] += n
            if k:
                cell[k] += n
