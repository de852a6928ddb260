"""Failure attribution: which template version, slot value or persona attribute the failures come from.

One way of counting: from the store's index columns (`Session.facets`: no sample parsed), or from the
same columns built from sample dicts (`facets_of`), into small counting cells; the tests run on the cells
afterwards, so 100,000 samples take well under a second. (tests/analysis/oracle_attribution.py keeps a
plain per-sample count as the oracle the tests compare with.)
A value is flagged only when its failure rate stands out against the rest of its template with a
one-sided Fisher exact test, Holm-corrected over every test
run for that template, with minimum counts and a minimum lift so a handful of samples never flags.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from studio.core.cost import sample_cost
from studio.analysis.stats import greater_p, holm
from studio.core.bulk import gc_paused
from studio.core.record import category_of
from studio.store.index import Facets

# cell layout (lists, for a fast hot loop): samples, accepted, rejected, failed, tags{} or None, cost, cost_unknown
_N, _ACC, _REJ, _FAIL, _TAGS, _COST, _UNK = range(7)
_STATUS = {"accepted": _ACC, "rejected": _REJ, "failed": _FAIL}
BATCH = 16_384  # samples held at once while streaming


def _cell() -> list:
    return [0, 0, 0, 0, None, 0.0, 0]


@dataclass
class Counts:
    """What happened to a group of samples: decisions, failure tags and cost."""

    samples: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    tags: dict[str, int] = field(default_factory=dict)
    cost: float = 0.0
    cost_unknown: int = 0

    @classmethod
    def from_cell(cls, c: list) -> "Counts":
        return cls(c[_N], c[_ACC], c[_REJ], c[_FAIL], dict(c[_TAGS] or {}), c[_COST], c[_UNK])

    @property
    def pending(self) -> int:
        return self.samples - self.accepted - self.rejected - self.failed

    @property
    def reviewed(self) -> int:
        return self.accepted + self.rejected

    @property
    def accept_rate(self) -> float | None:
        """Accepted share of the reviewed samples (pending and failed are not decisions)."""
        return self.accepted / self.reviewed if self.reviewed else None

    def tag_rate(self, tag: str) -> float | None:
        return self.tags.get(tag, 0) / self.reviewed if self.reviewed else None

    @property
    def cost_per_accepted(self) -> float | None:
        """All the money spent (rejected and failed included) per accepted sample; None when unknown."""
        if not self.accepted or self.cost_unknown:
            return None
        return self.cost / self.accepted

    def to_dict(self) -> dict[str, Any]:
        d = {"samples": self.samples, "accepted": self.accepted, "rejected": self.rejected, "failed": self.failed,
             "tags": dict(self.tags), "cost": self.cost, "cost_unknown": self.cost_unknown}   # asdict, faster
        d.update(pending=self.pending, reviewed=self.reviewed, accept_rate=self.accept_rate,
                 cost_per_accepted=self.cost_per_accepted)
        return d


@dataclass
class Flag:
    """A value whose failure rate stands out against the rest of its template."""

    template: str
    dimension: str  # "slot.product" or "persona.age_band"
    value: str
    metric: str  # "rejected", "failed" or "tag:<name>"
    events: int
    n: int
    rate: float
    rest_rate: float
    template_rate: float
    share: float  # this value's part of all the template's events of this metric
    p: float
    p_adjusted: float

    def describe(self) -> str:
        what = self.metric[4:] + " tags" if self.metric.startswith("tag:") else self.metric
        return (f"{self.dimension}={self.value} makes {self.share:.0%} of the {what} "
                f"({self.rate:.0%} of its {self.n} vs {self.rest_rate:.0%} elsewhere, p={self.p_adjusted:.2g})")


@dataclass
class ValueStat:
    dimension: str
    value: str
    counts: Counts


@dataclass
class TemplateReport:
    name: str
    counts: Counts
    versions: dict[str, Counts]  # version -> counts, in order of first appearance
    values: dict[str, list[ValueStat]]  # dimension -> values, most samples first
    flags: list[Flag]
    tests: int  # how many tests the correction covered


@dataclass
class Settings:
    min_count: int = 20  # reviewed samples a value (and the rest) needs before it is tested
    min_events: int = 5  # failures a value needs before it can be flagged
    min_lift: float = 0.10  # and its rate must beat the rest's by this much (absolute)
    alpha: float = 0.01  # family-wise, per template, after Holm's correction


@dataclass
class Report:
    templates: list[TemplateReport]
    total: Counts
    settings: Settings

    def template(self, name: str) -> TemplateReport:
        for t in self.templates:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def flags(self) -> list[Flag]:
        return [f for t in self.templates for f in t.flags]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total.to_dict(),
            "settings": asdict(self.settings),
            "templates": [
                {
                    "name": t.name,
                    "counts": t.counts.to_dict(),
                    "versions": {v: c.to_dict() for v, c in t.versions.items()},
                    "values": {d: [{"value": v.value, **v.counts.to_dict()} for v in vs] for d, vs in t.values.items()},
                    "flags": [asdict(f) for f in t.flags],
                    "tests": t.tests,
                }
                for t in self.templates
            ],
        }


def _merge(cells) -> list:
    out = _cell()
    for c in cells:
        for i in (_N, _ACC, _REJ, _FAIL, _COST, _UNK):
            out[i] += c[i]
        for t, n in (c[_TAGS] or {}).items():
            out[_TAGS] = out[_TAGS] or {}
            out[_TAGS][t] = out[_TAGS].get(t, 0) + n
    return out


def analyse_session(session, settings: Settings | None = None, **overrides: Any) -> Report:
    """analyse() over a store session, counted from the store's in-memory index: no sample is parsed.

    The same Report as `analyse(session.iter_samples())`; `template=` narrows it. Per-sample columns
    (template, version, status, cost, model) go through the same batched grouping as analyse (so the
    sums come out bit for bit); slot values and persona attributes are counted with set intersections.
    """
    template = overrides.pop("template", None)
    settings = settings or Settings(**overrides)
    facets = session.facets(template=template) if template else session.facets()
    with gc_paused():
        return _analyse_facets(facets, settings)


def _analyse_facets(f, settings: Settings) -> Report:
    # Each sample gets a small group code (template, status, its set of tags); every slot value's and
    # persona attribute's id set is then counted by code in C (Counter over map), one pass per value.
    acc: dict[str, list] = {}
    status_of = _STATUS.get
    n = len(f.ids)
    where = dict(zip(f.ids, range(n)))
    tagsets: list[tuple] = [()] * n
    for tag, members in f.by_tag.items():
        for sid in members:
            i = where.get(sid)
            if i is not None:
                tagsets[i] += (tag,)
    tps, vs, sts, cos, mds = f.template, f.version, f.status, f.cost, f.model
    for start in range(0, n, BATCH):        # the batches analyse flushes: the same order of cost sums
        rows = slice(start, start + BATCH)
        groups = _grouped(zip(zip(tps[rows], vs[rows], sts[rows]), cos[rows], mds[rows]))
        merged = {(t or "?", v or "?", status_of(st, 0)): costs for (t, v, st), costs in groups.items()}
        if len(merged) < len(groups):       # odd stored values ("" and "?", unknown statuses) share a
            merged = _grouped(((t or "?", v or "?", status_of(st, 0)), co, md)   # group: keep sample order
                              for (t, v, st), co, md in zip(zip(tps[rows], vs[rows], sts[rows]), cos[rows],
                                                            mds[rows]))
        for (name, version, k), costs in merged.items():
            entry = acc.get(name) or acc.setdefault(name, [None, {}, {}])
            c = entry[1].get(version) or entry[1].setdefault(version, _cell())
            _add_costs(c, k, costs)
    keys = list(zip(tps, sts, tagsets))    # group codes for the value counts (integers: order-free)
    codes = {key: j for j, key in enumerate(dict.fromkeys(keys))}
    code = list(map(codes.__getitem__, keys))
    del keys
    if not acc:
        return Report([], Counts.from_cell(_cell()), settings)
    for tag, members in f.by_tag.items():   # tags per version: tagged samples are a minority
        for sid in members:
            i = where.get(sid)
            if i is not None:
                c = acc[tps[i] or "?"][1][vs[i] or "?"]
                tc = c[_TAGS] if c[_TAGS] is not None else c.__setitem__(_TAGS, {}) or c[_TAGS]
                tc[tag] = tc.get(tag, 0) + 1
    decode = [(t or "?", status_of(st, 0), tags) for t, st, tags in codes]
    code_of = dict(zip(f.ids, code)).get
    for prefix, index in (("slot.", f.slots), ("persona.", f.persona)):
        for (attr, value), ids in sorted(index.items()):    # slots by name, whatever order the index keeps
            counted = Counter(map(code_of, ids))
            counted.pop(None, None)         # samples outside a template= filter
            for c, m in counted.items():
                name, k, tags = decode[c]
                dims = acc[name][2]
                d = dims.get((prefix, attr))
                if d is None:
                    d = dims[(prefix, attr)] = {}
                cell = d.get(value)
                if cell is None:
                    cell = d[value] = [0, 0, 0, 0, None]
                cell[0] += m
                if k:
                    cell[k] += m
                if tags:
                    vt = cell[4] if cell[4] is not None else cell.__setitem__(4, {}) or cell[4]
                    for t in tags:
                        vt[t] = vt.get(t, 0) + m
    reports, cells = [], []
    for name, (_, versions, dims) in sorted(acc.items()):
        tcell = _merge(versions.values())
        cells.append(tcell)
        reports.append(_template_report(name, tcell, versions, dims, settings))
    return Report(reports, Counts.from_cell(_merge(cells)), settings)


def _grouped(rows) -> dict[tuple, list]:
    """(key, cost, model) rows -> {key: costs in row order}; render mode costs 0.0, not unknown."""
    groups: dict[tuple, list] = {}
    get = groups.get
    for key, cost, model in rows:
        if cost is None and model == "render":
            cost = 0.0
        g = get(key)
        if g is None:
            groups[key] = [cost]
        else:
            g.append(cost)
    return groups




def analyse(samples: Iterable[dict], settings: Settings | None = None, **overrides: Any) -> Report:
    """Attribute decisions and failure tags to template versions, slot values and persona attributes.

    `samples`: sample records (dicts as `Session.get` returns; missing fields count as "?"/pending). Counted
    by the same code as `analyse_session`: the records are first turned into the index's columns
    (`facets_of`). Settings as keyword overrides (min_count=, min_events=, min_lift=, alpha=). Returns a Report.
    """
    with gc_paused():
        return _analyse_facets(facets_of(samples), settings or Settings(**overrides))


def facets_of(samples: Iterable[dict]) -> Facets:
    """What the store's index holds for these records (the categories of studio.core.record.index_fields),
    with each record's position as its id: analyse() over dicts and over a session count the same way."""
    ids: list[int] = []
    tp: list = []
    v: list = []
    st: list = []
    co: list = []
    md: list = []
    by_tag: dict[str, set[int]] = {}
    slots: dict[tuple[str, str], list[int]] = {}
    persona: dict[tuple[str, str], list[int]] = {}
    add_slot, add_persona = slots.setdefault, persona.setdefault
    for i, s in enumerate(samples):
        get = s.get
        ids.append(i)
        tp.append(get("template") or "")
        v.append(get("template_version") or "")
        st.append(get("status") or "pending")
        co.append(sample_cost(s))         # as the index holds it: cached $0, unknown None
        md.append(get("model"))
        tags = get("tags")
        if tags:
            for t in tags:
                by_tag.setdefault(t, set()).add(i)
        for mapping, add, skip in ((get("slots"), add_slot, None), (get("persona"), add_persona, "text")):
            if mapping.__class__ is dict:
                for attr, value in mapping.items():
                    if value.__class__ is not str:
                        value = category_of(value)
                        if value is None:
                            continue
                    if attr != skip:
                        add((str(attr), value), []).append(i)
    return Facets(ids, tp, v, st, co, md, {}, by_tag, {}, slots, persona)  # type: ignore[arg-type]  # lists: read-only here


def _add_costs(c: list, k: int, costs: list) -> None:
    """Count a group of samples (one status `k`, their costs, None = unknown) into a cell."""
    c[_N] += len(costs)
    if k:
        c[k] += len(costs)
    unknown = costs.count(None)
    c[_UNK] += unknown
    c[_COST] += sum([x for x in costs if x is not None]) if unknown else sum(costs)


def _template_report(name: str, tcell: list, versions: dict, dims: dict, st: Settings) -> TemplateReport:
    values: dict[str, list[ValueStat]] = {}
    candidates: list[tuple] = []  # (dimension, value, metric, x, n, X, N)
    for (prefix, attr), cells in dims.items():
        dim = prefix + attr
        # the dimension's own totals: samples of this template that have this slot/attribute
        dn = dacc = drej = dfail = 0
        dtags: dict[str, int] = {}
        for c in cells.values():
            dn += c[0]
            dacc += c[1]
            drej += c[2]
            dfail += c[3]
            if c[4]:
                for t, n in c[4].items():
                    dtags[t] = dtags.get(t, 0) + n
        dreviewed = dacc + drej
        stats = []
        for value, c in cells.items():
            counts = Counts(c[0], c[1], c[2], c[3], dict(c[4] or {}))
            stats.append(ValueStat(dim, value, counts))
            if len(cells) < 2:
                continue
            reviewed = c[1] + c[2]
            candidates.append((dim, value, "failed", c[3], c[0], dfail, dn))
            candidates.append((dim, value, "rejected", c[2], reviewed, drej, dreviewed))
            tc = c[4] or {}
            for t, total in dtags.items():
                candidates.append((dim, value, "tag:" + t, min(tc.get(t, 0), reviewed), reviewed, total, dreviewed))
        stats.sort(key=lambda s: (-s.counts.samples, s.value))
        values[dim] = stats
    tested = []
    pvalues = []
    for dim, value, metric, x, n, X, N in candidates:
        rn, rx = N - n, max(0, X - x)
        if n < st.min_count or rn < st.min_count:
            continue
        tested.append((dim, value, metric, x, n, X, N))
        # only a value that could be flagged is computed; the others count in the correction with p=1,
        # which only makes Holm's step-down stricter for the rest
        flaggable = x >= st.min_events and x / n - rx / rn >= st.min_lift
        pvalues.append(greater_p(x, n, rx, rn) if flaggable else 1.0)
    adjusted = holm(pvalues)
    flags = []
    for (dim, value, metric, x, n, X, N), p, pa in zip(tested, pvalues, adjusted):
        rate = x / n
        rest = (X - x) / (N - n)
        if pa < st.alpha and x >= st.min_events and rate - rest >= st.min_lift:
            flags.append(Flag(name, dim, value, metric, x, n, rate, rest, X / N if N else 0.0,
                              x / X if X else 0.0, p, pa))
    flags.sort(key=lambda f: (f.p_adjusted, -f.share))
    return TemplateReport(name, Counts.from_cell(tcell), {v: Counts.from_cell(c) for v, c in versions.items()},
                          values, flags, len(tested))
