"""plan_export: what an export will hold (counts, preview, what was removed and why), before writing.

The TUI's export dialog and the CLI both call it; write_export (writer.py) then puts the plan on
disk. Everything here is pure over sample records, so it is tested without a store and the
benchmark can feed it 100,000 records directly.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from operator import itemgetter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import orjson

from studio.core.bulk import gc_paused
from studio.export.card import dataset_card
from studio.export.dedup import near_duplicates_later
from studio.export.errors import ExportError
from studio.export.formats import FORMATS, Format, Pair
from studio.export.pairs import build_pairs
from studio.export.records import clean, completion, prompt_key
from studio.export.scrub import Redactor
from studio.export.split import split_rows

STATUSES = ("pending", "accepted", "rejected", "failed")
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

    def check(self) -> Format:
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
        if not self.licence.strip() or "\n" in self.licence:
            raise ExportError("the licence is empty or spans lines", hint="give one identifier, e.g. cc-by-4.0")
        return fmt

    @property
    def status_set(self) -> tuple[str, ...]:
        return tuple(self.statuses) if self.statuses else FORMATS[self.format].statuses


@dataclass(frozen=True)
class Removal:
    id: int
    reason: str          # "no output", "exact duplicate", "near duplicate", "unpaired", "no verdict"
    detail: str = ""


@dataclass
class ExportPlan:
    """An export ready to write: rows (already serialized), their split, and the dataset card."""

    options: ExportOptions
    format: Format
    session: str
    rows: list[dict]
    lines: list[bytes]                     # one JSON line per row (what JSONL files hold)
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
        return "parquet" if self.options.parquet else "jsonl"

    def counts(self) -> dict[str, int]:
        c = Counter(self.splits)
        return {s: c.get(s, 0) for s in SPLITS}

    def removed_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.reason for r in self.removed).items()))

    def per_template(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
        for t, s in zip(self.templates, self.splits):
            out[t][s] += 1
        return dict(sorted(out.items()))

    def files(self) -> list[str]:
        """The file names write_export will create: a data file per non-empty split, and README.md."""
        counts = self.counts()
        return [f"{s}.{self.suffix}" for s in SPLITS if counts[s]] + ["README.md"]

    def preview(self, n: int = 5, split: str = "train") -> list[dict]:
        """The first n rows of a split, as they will be written."""
        return [r for r, s in zip(self.rows, self.splits) if s == split][:n]

    def split_lines(self, split: str) -> list[bytes]:
        return [line for line, s in zip(self.lines, self.splits) if s == split]

    def split_rows(self, split: str) -> list[dict]:
        return [r for r, s in zip(self.rows, self.splits) if s == split]


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
    them); with it, `records` may be just the matching samples (plan_export lets the store's
    indexes choose them, so a session of 100,000 pending and 5,000 reviewed reads 5,000).
    """
    with gc_paused():
        return _plan(records, options, session, meta, versions, redactor, census)


def _plan(records, options, session, meta, versions, redactor, census) -> ExportPlan:
    fmt = options.check()
    return _plan_with(records, options, session, meta, versions, redactor, census, fmt)


def _plan_with(records, options, session, meta, versions, redactor, census, fmt) -> ExportPlan:
    statuses = set(options.status_set)
    tags, templates = set(options.tags), set(options.templates)
    counting = census is None
    census = census or Census()
    seen_tags, tag_rejected = census.tags, census.tag_rejected
    seen_templates, seen_versions = census.templates, census.versions
    scanned = 0
    chosen: list[dict] = []
    versions_wanted = options.versions
    for rec in records:                   # one pass, kept lean: it may see every sample of the session
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
        chosen.append(rec)
    if counting:
        census.scanned = scanned
    _check_selection(options, seen_templates, seen_versions, seen_tags)
    chosen = [clean(r) for r in chosen]
    chosen.sort(key=itemgetter("id"))      # clean records: an int id
    selected = len(chosen)

    removed: list[Removal] = []
    kept = []
    for rec in chosen:
        if not completion(rec).strip():
            removed.append(Removal(rec["id"], "no output", rec.get("error") or "the sample has no generated text"))
        elif fmt.name == "kto" and rec.get("status") not in ("accepted", "rejected"):
            removed.append(Removal(rec["id"], "no verdict", f"status {rec.get('status')!r}: KTO needs accepted "
                                                            "(label true) or rejected (label false)"))
        else:
            kept.append(rec)
    near = None
    if options.dedup:                      # near duplicates may come later (a child process): see _dedup
        kept, near = _dedup(kept, options.dedup_threshold, removed)

    units: list[Any]
    if fmt.paired:
        kept = _drop(kept, _near_wait(near, removed))
        pairs, left = build_pairs(kept)
        removed.extend(Removal(r["id"], "unpaired", why) for r, why in left)
        units = pairs
        row_templates = [p.template for p in pairs]
        row_groups = [p.group for p in pairs]
        row_ids = [p.ids for p in pairs]
        by_id = {r["id"]: r for r in kept}
        row_versions = [_pair_version(p, by_id) for p in pairs]
        rows = [fmt.row(u) for u in units]
        lines = _serialize(rows, redactor or Redactor(), None if fmt.name == "raw" else kept)
    else:
        # rows are formatted and scanned while near duplicates are found, then the removed ones dropped:
        # each row depends on its own sample only, and the scan redacts row by row, so the kept rows
        # are byte for byte what formatting only the kept samples gives
        rows = [fmt.row(u) for u in kept]
        dumps = orjson.dumps
        lines = [dumps(r) for r in rows]
        row_templates = [str(r.get("template") or "") for r in kept]
        row_groups = [prompt_key(r) for r in kept]
        row_ids = [(r["id"],) for r in kept]
        row_versions = [str(r.get("template_version") or "") for r in kept]
        drop = _near_wait(near, removed)
        if drop:
            keep = [r["id"] not in drop for r in kept]
            kept, rows, lines, row_templates, row_groups, row_ids, row_versions = (
                [x for x, k in zip(column, keep) if k]
                for column in (kept, rows, lines, row_templates, row_groups, row_ids, row_versions))
        lines = _serialize(rows, redactor or Redactor(), None if fmt.name == "raw" else kept, lines)
        units = kept

    splits = split_rows(row_templates, row_groups, options.val_fraction, options.seed)
    plan = ExportPlan(options, fmt, session, rows, lines, row_templates, row_versions, row_ids, splits, removed,
                      census.scanned, selected)
    removed.sort(key=lambda r: (r.id, r.reason))
    if fmt.paired:
        used = {i for ids in row_ids for i in ids}
        source = [r for r in kept if r["id"] in used]
    else:
        source = kept
    plan.stats = _stats(source, seen_tags, tag_rejected, units if fmt.paired else None)
    plan.card = dataset_card(plan, meta or {}, versions or [])
    return plan


def plan_export(session, options: ExportOptions) -> ExportPlan:
    """Plan an export of a store session (studio.store.Session): reads only the matching samples."""
    options.check()
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
    with gc_paused():
        return plan_records(session.iter_samples(**filters), options, session=str(meta.get("name") or session.name),
                            meta=meta, versions=session.template_versions(), census=census)


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


def _dedup(recs: list[dict], threshold: float, removed: list[Removal]) -> tuple[list[dict], Callable | None]:
    """Exact, then near duplicates, among samples of the same status (a rejected answer close to an
    accepted one is a useful preference pair, not a duplicate). The lowest id of each cluster stays.

    Exact duplicates are removed here; near ones are found and handed back for _near_wait.
    """
    first: dict[tuple, int] = {}
    out = []
    for rec in recs:                                               # clean records (see records.clean)
        key = (rec.get("status"), rec["_pkey"], rec["output"])      # same status, filled prompt and output
        if key in first:
            removed.append(Removal(rec["id"], "exact duplicate", f"same prompt and output as #{first[key]}"))
            continue
        first[key] = rec["id"]
        out.append(rec)
    if threshold >= 1 or len(out) < 2:
        return out, None
    by_status: dict[str, list[dict]] = defaultdict(list)
    for rec in out:
        by_status[str(rec.get("status"))].append(rec)
    groups = list(by_status.values())

    def texts() -> list[list[str]]:                                # what is compared: user turns + output
        return [["\n".join([m["content"] for m in r["messages"] if m["role"] == "user"] + [r["output"]])
                 for r in group] for group in groups]

    pending = near_duplicates_later(texts, threshold)

    def finish() -> list[tuple[int, Removal]]:
        found = []
        for group, nds in zip(groups, pending()):
            for nd in nds:
                rid = group[nd.index]["id"]
                found.append((rid, Removal(rid, "near duplicate",
                                           f"similar to #{group[nd.kept]['id']} (similarity {nd.similarity:.2f})")))
        return found

    return out, finish


def _near_wait(near: Callable | None, removed: list[Removal]) -> set[int]:
    """The ids of near duplicates (their removals recorded), once the detection started by _dedup is done."""
    if near is None:
        return set()
    found = near()
    removed.extend(r for _, r in found)
    return {rid for rid, _ in found}


def _drop(recs: list[dict], ids: set[int]) -> list[dict]:
    return [r for r in recs if r["id"] not in ids] if ids else recs


def _serialize(rows: list[dict], redactor: Redactor, prompts_of: list[dict] | None,
               lines: list[bytes] | None = None) -> list[bytes]:
    """JSON lines, then a scan for secrets that fixes rows only if one is found.

    Secret values from the environment are looked for in every line. Key-shaped text is looked for
    everywhere for `raw` (parameters, errors, notes), and otherwise in the prompts, once per distinct
    message: a model cannot invent our key unless the prompt or the environment carried it.
    """
    dumps = orjson.dumps
    if lines is None:                     # given when the rows were serialized already (see _plan)
        lines = [dumps(r) for r in rows]
    if not lines:
        return lines
    if prompts_of is None:
        hit = redactor.needed(b"\n".join(lines))
    else:
        secrets = [x.encode() for x in redactor.secrets]
        texts = {m["content"] for r in prompts_of for m in r["messages"]}
        hit = (any(x in line for x in secrets for line in lines)
               or redactor.has_key_shape("\n".join(texts).encode()))
    if hit:
        for i, row in enumerate(rows):
            if redactor.needed(lines[i]):
                rows[i] = redactor.value(row)
                lines[i] = dumps(rows[i])
    return lines


def _stats(recs: list[dict], seen_tags: Counter, tag_rejected: Counter, pairs: list[Pair] | None) -> dict:
    models = Counter(str(r.get("model") or "") for r in recs)
    created = [r["created"] for r in recs if isinstance(r.get("created"), (int, float))]
    exported_tags: Counter = Counter()
    for r in recs:
        for tag in r.get("tags") or ():
            exported_tags[tag] += 1
    cost = [r["cost"] for r in recs if isinstance(r.get("cost"), (int, float))]
    stats = {
        "models": dict(sorted(models.items())),
        "created": (min(created), max(created)) if created else None,
        "tags": {t: {"session": n, "rejected": tag_rejected.get(t, 0), "exported": exported_tags.get(t, 0)}
                 for t, n in sorted(seen_tags.items())},
        "cost": round(sum(cost), 6) if cost else None,
        "cost_known": len(cost),
        "samples": len(recs),
    }
    if pairs is not None:
        stats["pair_sources"] = dict(sorted(Counter(p.source for p in pairs).items()))
    return stats
