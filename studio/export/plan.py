"""The export as a straight pipeline: plan_export / plan_records run its stages in order, each a module
entered once, and write_export (writer.py) puts the plan on disk.

    select (select.py)   which samples: the store's indexes, or the filters over plain records
    clean  (clean.py)    read, clean, check (validate.py), format each sample; two processes (parallel.py)
    dedup  (dedup.py)    exact and near duplicates over the clean stage's columns
    pair   (pairs.py)    the rows: one per sample, or preference pairs
    redact (scrub.py)    rows holding a secret rewritten
    split  (split.py)    train / validation, seeded, by prompt group
    write  (writer.py)   files, all or nothing (writev; write_export)
    card   (card.py)     README.md, made when first read (the writer writes it last)

The TUI's export dialog and the CLI both plan first (counts, preview, what was removed and why), then write.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import orjson

from studio.core.bulk import gc_paused
from studio.export import card, clean, dedup, pairs, scrub, select, split
from studio.export.formats import Format
from studio.export.lines import Lines
from studio.export.options import ExportOptions
from studio.export.records import Removal
from studio.export.select import Census, Selection
from studio.export.clean import PREVIEW
from studio.export.validate import NO_ASSISTANT

__all__ = ["SPLITS", "Census", "ExportOptions", "ExportPlan", "Removal", "names", "plan_export", "plan_records"]

SPLITS = ("train", "validation")


@dataclass
class ExportPlan:
    """An export ready to write: its rows as JSON lines, their split, and the dataset card."""

    options: ExportOptions
    format: Format
    session: str
    lines: Lines                           # one JSON line per row (what the files hold), in a temporary file
    templates: list[str]                   # per row
    versions: list[str]                    # per row ("" for pairs from several versions)
    ids: Sequence[tuple[int, ...]]         # per row: the sample ids it came from
    splits: list[str]                      # per row: "train" or "validation"
    removed: list[Removal]
    scanned: int                           # samples in the session
    selected: int                          # samples matching the selection
    stats: dict[str, Any] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)              # the session's meta (the card's dates)
    template_versions: list[dict] = field(default_factory=list)   # the session's saved versions (the card)
    rows_digest: str | None = None                        # the card's config name, once the writer has hashed
    #                                                       the rows as it wrote them
    flagged_out: dict[str, int] = field(default_factory=dict)   # flagged samples left out for their flag {flag: n}
    flagged_kept: dict[str, int] = field(default_factory=dict)  # flagged samples in the rows {flag: n}

    @cached_property
    def card(self) -> str:
        """The dataset card (README.md): the last stage, made when first read (write_export writes it last)."""
        return card.dataset_card(self, self.meta, self.template_versions)

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
        if self.flagged_line():
            out.append(f"  {self.flagged_line()}")
        return out

    def flagged_line(self) -> str:
        """How many flagged samples the rows leave out and keep, by flag ("" when the selection has none)."""
        parts = []
        if self.flagged_out:
            parts.append(f"{sum(self.flagged_out.values())} left out ({_by_flag(self.flagged_out)})")
        if self.flagged_kept:
            parts.append(f"{sum(self.flagged_kept.values())} kept ({_by_flag(self.flagged_kept)})")
        return "flagged samples: " + ", ".join(parts) if parts else ""

    def why_empty(self) -> str:
        """Why no row is left (for the error and the preview)."""
        if self.selected == 0:
            return (f"no sample has status {', '.join(self.options.status_set)} with this selection; "
                    "review some samples first, or choose other statuses")
        why = "removed: " + ", ".join(f"{n} {r}" for r, n in self.removed_counts().items())
        previews = sorted({r.detail for r in self.removed if r.reason in (NO_ASSISTANT, PREVIEW)})
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
        """The lines of one split, read as they are wanted (the writer streams them from here)."""
        return self.lines.select(i for i, s in enumerate(self.splits) if s == split)


def names(values: Iterable[str] | None) -> tuple[str, ...]:
    """Names from fields that may each hold several, comma-separated (the CLI's repeatable options,
    the dialog's inputs): each once, in order."""
    out = [x.strip() for v in values or () for x in v.split(",")]
    return tuple(dict.fromkeys(x for x in out if x))


def plan_records(records: Iterable[dict], options: ExportOptions, *, session: str = "",
                 meta: dict | None = None, versions: list[dict] | None = None,
                 redactor: scrub.Redactor | None = None, census: Census | None = None) -> ExportPlan:
    """Plan an export from sample records (filters are applied here). Raises ExportError for bad options or a
    filter naming what the session never had.

    Without `census`, `records` must be every sample of the session (the census is counted from
    them); with it, `records` may be just the matching samples.
    """
    fmt = options.check()
    with gc_paused():
        chosen = select.from_records(records, options, census=census)
        chosen.session, chosen.meta, chosen.versions = session, dict(meta or {}), list(versions or [])
        return _run(chosen, options, fmt, redactor)


def plan_export(session, options: ExportOptions) -> ExportPlan:
    """Plan an export of a store session (studio.store.Session): reads only the matching samples. Raises
    ExportError for bad options or a filter naming what the session never had, before reading any sample."""
    fmt = options.check()
    options = select.with_version_names(session, options)    # `--version v2`, as every other command takes it
    chosen = select.from_session(session, options, paired=fmt.paired)
    with gc_paused():
        return _run(chosen, options, fmt, None)


def _run(chosen: Selection, options: ExportOptions, fmt: Format, redactor: scrub.Redactor | None) -> ExportPlan:
    """The stages after select, in order (write and card follow in write_export)."""
    near = options.dedup and options.dedup_threshold < 1
    p = clean.run(chosen, fmt, signer=dedup.Signer if near else None,
                  include_flagged=options.include_flagged, flags=tuple(options.flags))
    removed = list(p.removed)
    if options.dedup:
        removed += dedup.run(p, options.dedup_threshold)
    p.signatures = None
    rows = pairs.run(p, fmt, chosen.judgements, removed)
    if rows.prompts is not None:      # pairs: key shapes are looked for in the prompts of the paired samples
        scan = ["\n".join({m["content"] for r in rows.prompts for m in r["messages"]}).encode()]
    else:
        scan = p.scan
    scrub.run(rows.lines, scan, redactor)
    splits = split.run(rows.templates, rows.groups, options.val_fraction, options.seed)
    removed.sort(key=lambda r: (r.id, r.reason))
    plan = ExportPlan(options, fmt, chosen.session, rows.lines, rows.templates, rows.versions, rows.ids, splits,
                      removed, chosen.census.scanned, p.selected, meta=chosen.meta,
                      template_versions=chosen.versions, flagged_out=dict(p.flagged_out),
                      flagged_kept=_kept_flags(p.flagged_in, rows.ids))
    plan.stats = _stats(p, chosen.census, rows.pairs)
    return plan


def _by_flag(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {flag}" for flag, n in sorted(counts.items()))


def _kept_flags(flagged_in: dict[int, str], row_ids: Sequence[tuple[int, ...]]) -> dict[str, int]:
    """{flag: n} of the flagged samples that are in a row (dedup may have removed some the clean stage kept)."""
    if not flagged_in:
        return {}
    in_rows = {i for ids in row_ids for i in ids}
    return dict(Counter(flag for i, flag in flagged_in.items() if i in in_rows))


def _stats(p: clean.Prepared, census: Census, pairs: list | None) -> dict:
    created = p.created[~np.isnan(p.created)]
    cost = [c for c in p.costs.tolist() if c == c]            # summed in row order, as Python adds them
    exported_tags = Counter(t for ts in p.tags for t in ts)
    stats = {
        "models": dict(sorted(Counter(p.models).items())),
        "created": (float(created.min()), float(created.max())) if len(created) else None,
        "tags": {t: {"session": n, "rejected": census.tag_rejected.get(t, 0), "exported": exported_tags.get(t, 0)}
                 for t, n in sorted(census.tags.items())},
        "cost": round(sum(cost), 6) if cost else None,
        "cost_known": len(cost),
        "samples": len(p.ids),
    }
    if pairs is not None:
        stats["pair_sources"] = dict(sorted(Counter(u.source for u in pairs).items()))
    return stats
