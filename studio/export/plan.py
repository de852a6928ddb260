"""plan_export: what an export will hold (counts, preview, what was removed and why), before writing.

The TUI's export dialog and the CLI both call it; write_export (writer.py) then puts the plan on
disk. plan_records does the same over plain sample records (no store). Both prepare each sample
(prepare.py), then remove duplicates, pair, split and write the card here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from operator import itemgetter
from typing import Any, Iterable, Iterator

import orjson

from studio.core.bulk import gc_paused, held_json
from studio.core.record import FLAGS, STATUSES
from studio.export.card import dataset_card
from studio.export.dedup import near_duplicates_of
from studio.export.errors import ExportError
from studio.export.formats import FORMATS, Format, Pair
from studio.export.pairs import build_pairs
from studio.export.prepare import Prepared, Removal, prepare, redact
from studio.export.records import clean
from studio.export.scrub import Redactor
from studio.export.split import split_rows
from studio.export.validate import NO_ASSISTANT, problem

SPLITS = ("train", "validation")


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how. `statuses=None` means the format's default (see FORMATS)."""

    format: str = "openai-chat"
    statuses: tuple[str, ...] | None = None
    tags: tuple[str, ...] = ()             # keep samples with any of these tags
    templates: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()         # template versions (a 4+ character prefix is enough)
    dedup: bool = True                     # exact duplicate removal (and near, below 1.0)
    dedup_threshold: float = 0.9           # near duplicates: estimated Jaccard of 5-word shingles
    val_fraction: float = 0.1
    seed: int = 0
    parquet: bool = False
    licence: str = "unknown"
    include_flagged: bool = False          # keep flagged samples (cut-off, filtered, refusal) too
    flags: tuple[str, ...] = ()            # only samples with any of these flags (and keep them)

    def check(self) -> Format:
        """Validate the options before any reading and return the chosen Format. Raises ExportError for an
        unknown format, status or flag, a dedup threshold or validation fraction out of range, or a licence
        that is empty or spans lines."""
        fmt = FORMATS.get(self.format)
        if fmt is None:
            raise ExportError(f"unknown export format {self.format!r}", hint=f"use one of: {', '.join(FORMATS)}")
        for s in self.statuses or ():
            if s not in STATUSES:
                raise ExportError(f"unknown status {s!r}", hint=f"use one of: {', '.join(STATUSES)}")
        if not 0 < self.dedup_threshold <= 1:
            raise ExportError(f"dedup threshold {self.dedup_threshold} is out of range",
                              hint="give a similarity above 0 and up to 1 (1 keeps near duplicates)")
        if not 0 <= self.val_fraction < 1:
            raise ExportError(f"validation fraction {self.val_fraction} is out of range",
                              hint="give a fraction from 0 (no validation split) to below 1, e.g. 0.1")
        for f in self.flags:
            if f not in FLAGS:
                raise ExportError(f"unknown flag {f!r}", hint=f"use one of: {', '.join(FLAGS)}")
        if not self.licence.strip() or "\n" in self.licence:
            raise ExportError("the licence is empty or spans lines", hint="give one identifier, e.g. cc-by-4.0")
        return fmt

    @property
    def status_set(self) -> tuple[str, ...]:
        """The statuses selected: the ones given, else the format's default (accepted; accepted and rejected for
        the preference formats and kto)."""
        return tuple(self.statuses) if self.statuses else FORMATS[self.format].statuses


@dataclass
class ExportPlan:
    """An export ready to write: its rows as JSON lines, their split, and the dataset card."""

    options: ExportOptions
    format: Format
    session: str
    lines: list[bytes]                     # one JSON line per row (what the files hold)
    templates: list[str]                   # per row
    versions: list[str]                    # per row ("" for pairs from several versions)
    ids: list[tuple[int, ...]]             # per row: the sample ids it came from
    splits: list[str]                      # per row: "train" or "validation"
    removed: list[Removal]
    scanned: int                           # samples in the session
    selected: int                          # samples matching the selection
    card: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def suffix(self) -> str:
        """The data files' extension: "parquet" or "jsonl"."""
        return "parquet" if self.options.parquet else "jsonl"

    def counts(self) -> dict[str, int]:
        """Rows per split: {"train": n, "validation": n}."""
        c = Counter(self.splits)
        return {s: c.get(s, 0) for s in SPLITS}

    def removed_counts(self) -> dict[str, int]:
        """Samples left out, by reason ({reason: n}, reasons sorted)."""
        return dict(sorted(Counter(r.reason for r in self.removed).items()))

    def per_template(self) -> dict[str, dict[str, int]]:
        """Rows per template and split: {template: {"train": n, "validation": n}}."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
        for t, s in zip(self.templates, self.splits):
            out[t][s] += 1
        return dict(sorted(out.items()))

    def summary(self) -> list[str]:
        """What the export holds, in a few lines (the CLI prints them, the TUI dialog shows them)."""
        counts = self.counts()
        out = [f"{self.session}: {self.selected} of {self.scanned} samples selected "
               f"(status {', '.join(self.options.status_set)}) -> {counts['train']} train, "
               f"{counts['validation']} validation {self.format.name} rows"]
        out += [f"  removed {n}: {reason}" for reason, n in self.removed_counts().items()]
        return out

    def why_empty(self) -> str:
        """Why no row is left (for the error and the preview)."""
        if self.selected == 0:
            return (f"no sample has status {', '.join(self.options.status_set)} with this selection; "
                    "review some samples first, or choose other statuses (--status)")
        why = "removed: " + ", ".join(f"{n} {r}" for r, n in self.removed_counts().items())
        previews = sorted({r.detail for r in self.removed if r.reason == NO_ASSISTANT})
        return "; ".join(previews + [why]) if previews else why

    def files(self) -> list[str]:
        """The file names write_export will create: a data file per non-empty split, and README.md."""
        counts = self.counts()
        return [f"{s}.{self.suffix}" for s in SPLITS if counts[s]] + ["README.md"]

    @cached_property
    def rows(self) -> list[dict]:
        """Every row, decoded from its line: exactly what the files hold."""
        return [orjson.loads(line) for line in self.lines]

    def preview(self, n: int = 5, split: str = "train") -> list[dict]:
        """The first n rows of a split, as they will be written."""
        return [orjson.loads(line) for line in islice(self._lines_of(split), n)]

    def split_lines(self, split: str) -> list[bytes]:
        """The JSON lines (bytes, no newline) of one split ("train" or "validation"), in file order."""
        return list(self._lines_of(split))

    def split_rows(self, split: str) -> list[dict]:
        """The rows of one split decoded to dicts, in file order."""
        return [orjson.loads(line) for line in self._lines_of(split)]

    def _lines_of(self, split: str) -> Iterator[bytes]:
        return (line for line, s in zip(self.lines, self.splits) if s == split)


def names(values: Iterable[str] | None) -> tuple[str, ...]:
    """Names from fields that may each hold several, comma-separated (the CLI's repeatable options,
    the dialog's inputs): each once, in order."""
    out = [x.strip() for v in values or () for x in v.split(",")]
    return tuple(dict.fromkeys(x for x in out if x))


def _matches_version(v: str, wanted: tuple[str, ...]) -> bool:
    return any(v == w or (len(w) >= 4 and v.startswith(w)) for w in wanted)




@dataclass
class Census:
    """What the whole session holds, for the typo checks and the card's tag statistics."""

    scanned: int = 0
    templates: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    tags: Counter = field(default_factory=Counter)
    tag_rejected: Counter = field(default_factory=Counter)


def plan_records(records: Iterable[dict], options: ExportOptions, *, session: str = "",
                 meta: dict | None = None, versions: list[dict] | None = None,
                 redactor: Redactor | None = None, census: Census | None = None) -> ExportPlan:
    """Plan an export from sample records (filters are applied here).

    Without `census`, `records` must be every sample of the session (the census is counted from
    them); with it, `records` may be just the matching samples.
    """
    fmt = options.check()
    with gc_paused():
        counting = census is None
        census = census or Census()
        chosen = sorted((clean(r) for r in _select(records, options, census, counting)), key=itemgetter("id"))
        _check_selection(options, census.templates, census.versions, census.tags)
        redactor = redactor or Redactor()
        prepared = prepare(chosen, fmt, near=_near(options), redactor=redactor, **_flagging(options))
        return _finish(prepared, options, fmt, session, meta, versions, redactor, census)


def plan_export(session, options: ExportOptions) -> ExportPlan:
    """Plan an export of a store session (studio.store.Session): reads only the matching samples.

    The store's indexes choose the samples (the same selection _select makes from records); large
    selections are prepared in two processes where that is safe (see parallel.py).
    """
    from studio.export.parallel import prepare_selection

    fmt = options.check()
    meta = dict(session.meta or {})
    counts = session.counts()
    census = Census(sum(counts["status"].values()), {t for t, _ in counts["versions"]},
                    {v for _, v in counts["versions"]}, Counter(counts["tags"]),
                    Counter({t: session.count(status="rejected", tag=t) for t in counts["tags"]}))
    _check_selection(options, census.templates, census.versions, census.tags)     # before reading anything
    filters: dict[str, list[str]] = {"status": list(options.status_set)}
    if options.templates:
        filters["template"] = list(options.templates)
    if options.versions:
        filters["version"] = sorted(v for v in census.versions if _matches_version(v, options.versions))
    if options.tags:
        filters["tag"] = list(options.tags)
    if options.flags:
        filters["flag"] = list(options.flags)
    redactor = Redactor()
    with gc_paused():
        ids = session.ids(**filters)
        judgements = session.judgements() if fmt.paired else []
        if judgements:  # judged samples are used as they are, whatever their status (not failed or flagged)
            others = {k: v for k, v in filters.items() if k != "status"}
            judged = {int(j[k]) for j in judgements for k in ("chosen", "rejected")}
            usable = set(session.ids(**others, status=["pending", "accepted", "rejected"], flag=""))
            ids = sorted(set(ids) | (judged & usable))
        prepared = prepare_selection(session.samples, ids, fmt, near=_near(options), redactor=redactor,
                                     **_flagging(options))
        return _finish(prepared, options, fmt, str(meta.get("name") or session.name), meta,
                       session.template_versions(), redactor, census, judgements)


def _flagging(options: ExportOptions) -> dict:
    return {"include_flagged": options.include_flagged, "flags": tuple(options.flags)}


def _near(options: ExportOptions) -> bool:
    return options.dedup and options.dedup_threshold < 1


def _select(records: Iterable[dict], options: ExportOptions, census: Census, counting: bool) -> Iterator[dict]:
    """The records matching the options; with `counting`, the census is counted from all of them."""
    statuses = set(options.status_set)
    tags, templates = set(options.tags), set(options.templates)
    seen_tags, tag_rejected = census.tags, census.tag_rejected
    seen_templates, seen_versions = census.templates, census.versions
    versions_wanted = options.versions
    scanned = 0
    for rec in records:                   # kept lean: it may see every sample of the session
        scanned += 1
        rtags = rec.get("tags")
        status = rec.get("status")
        t = rec.get("template") or ""
        v = rec.get("template_version") or ""
        if counting:
            if rtags:
                for tag in rtags:
                    seen_tags[tag] += 1
                    if status == "rejected":
                        tag_rejected[tag] += 1
            seen_templates.add(t)
            seen_versions.add(v)
        if status not in statuses:
            continue
        if templates and t not in templates:
            continue
        if versions_wanted and not _matches_version(v, versions_wanted):
            continue
        if tags and not (rtags and tags.intersection(rtags)):
            continue
        yield rec
    if counting:
        census.scanned = scanned


def _finish(p: Prepared, options: ExportOptions, fmt: Format, session: str, meta: dict | None,
            versions: list[dict] | None, redactor: Redactor, census: Census, judgements=None) -> ExportPlan:
    """Deduplicate the prepared samples, pair them (preference formats), split, and write the card."""
    p.canonical()             # rows by what each sample is, not by its id (completion order)
    selected = p.selected
    removed = list(p.removed)
    if options.dedup:
        removed += _dedup(p, options.dedup_threshold)
    pairs: list[Pair] | None = None
    if fmt.paired:
        pairs, left = build_pairs(p.records, judgements)
        removed.extend(Removal(r["id"], "unpaired", why) for r, why in left)
        pairs = _valid_pairs(pairs, removed)
        lines = [held_json(fmt.row(u)) for u in pairs]
        redact(lines, redactor, "\n".join({m["content"] for r in p.records for m in r["messages"]}).encode())
        by_id = {r["id"]: r for r in p.records}
        row_templates = [u.template for u in pairs]
        row_groups = [u.group for u in pairs]
        row_ids = [u.ids for u in pairs]
        row_versions = [_pair_version(u, by_id) for u in pairs]
        used = {i for ids in row_ids for i in ids}
        p.take([i in used for i in p.ids])         # the card counts the samples the pairs came from
    else:
        lines, row_templates, row_groups, row_versions = p.lines, p.templates, p.groups, p.versions
        row_ids = [(i,) for i in p.ids]
    splits = split_rows(row_templates, row_groups, options.val_fraction, options.seed)
    removed.sort(key=lambda r: (r.id, r.reason))
    plan = ExportPlan(options, fmt, session, lines, row_templates, row_versions, row_ids, splits, removed,
                      census.scanned, selected)
    plan.stats = _stats(p, census, pairs)
    plan.card = dataset_card(plan, meta or {}, versions or [])
    return plan


def _valid_pairs(pairs: list[Pair], removed: list[Removal]) -> list[Pair]:
    """Pairs whose prompt + chosen and prompt + rejected are valid conversations (validate.py); the
    samples of the others are removed with the reason (a contrast pair's sides are checked here)."""
    kept, failed = [], {}
    for u in pairs:
        bad = problem(u.prompt, u.chosen) or problem(u.prompt, u.rejected, echo=False)
        if bad is None:
            kept.append(u)
        else:
            for i in u.ids:
                failed.setdefault(i, bad)
    used = {i for u in kept for i in u.ids}   # a sample in another, valid pair is exported, not removed
    removed.extend(Removal(i, *bad) for i, bad in failed.items() if i not in used)
    return kept


def _pair_version(p: Pair, by_id: dict[int, dict]) -> str:
    vs = {str(by_id[i].get("template_version") or "") for i in p.ids if i in by_id}
    return vs.pop() if len(vs) == 1 else ""


def _check_selection(options: ExportOptions, templates: set[str], versions: set[str], tags: Counter) -> None:
    """A filter naming something the session never had is a typo: say so instead of exporting nothing."""
    for t in options.templates:
        if t not in templates:
            raise ExportError(f"the session has no samples of template {t!r}",
                              hint=f"templates here: {', '.join(sorted(templates)) or '(none)'}")
    for v in options.versions:
        if not _matches_version_any(v, versions):
            raise ExportError(f"the session has no samples of template version {v!r}",
                              hint=f"versions here: {', '.join(sorted(versions)) or '(none)'}")
    for tag in options.tags:
        if tag not in tags:
            raise ExportError(f"no sample in the session has the tag {tag!r}",
                              hint=f"tags here: {', '.join(sorted(tags)) or '(none)'}")


def _matches_version_any(w: str, versions: set[str]) -> bool:
    return any(_matches_version(v, (w,)) for v in versions)


def _dedup(p: Prepared, threshold: float) -> list[Removal]:
    """Exact, then near duplicates, among samples of the same status (a rejected answer close to an
    accepted one is a useful preference pair, not a duplicate). The lowest id of each cluster stays.
    """
    removed: list[Removal] = []
    ids = p.ids
    keep = [True] * len(ids)
    first: dict[tuple, int] = {}
    for i, key in enumerate(zip(p.statuses, p.groups, p.digests)):    # same status, filled prompt and output
        j = first.setdefault(key, i)
        if j != i:
            keep[i] = False
            removed.append(Removal(ids[i], "exact duplicate", f"same prompt and output as #{ids[j]}"))
    if threshold < 1:
        by_status: dict[str, list[int]] = defaultdict(list)
        for i, status in enumerate(p.statuses):
            if keep[i]:
                by_status[str(status)].append(i)
        for members in by_status.values():
            for nd in near_duplicates_of(p.signatures[members], threshold):
                i, k = members[nd.index], members[nd.kept]
                keep[i] = False
                removed.append(Removal(ids[i], "near duplicate",
                                       f"similar to #{ids[k]} (similarity {nd.similarity:.2f})"))
    if removed:
        p.take(keep)
    return removed


def _stats(p: Prepared, census: Census, pairs: list[Pair] | None) -> dict:
    created = [c for c in p.created if isinstance(c, (int, float))]
    cost = [c for c in p.costs if isinstance(c, (int, float))]
    exported_tags = Counter(t for ts in p.tags for t in ts)
    stats = {
        "models": dict(sorted(Counter(p.models).items())),
        "created": (min(created), max(created)) if created else None,
        "tags": {t: {"session": n, "rejected": census.tag_rejected.get(t, 0), "exported": exported_tags.get(t, 0)}
                 for t, n in sorted(census.tags.items())},
        "cost": round(sum(cost), 6) if cost else None,
        "cost_known": len(cost),
        "samples": len(p.ids),
    }
    if pairs is not None:
        stats["pair_sources"] = dict(sorted(Counter(u.source for u in pairs).items()))
    return stats
