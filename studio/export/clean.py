"""Stage 2, clean: each selected sample read, cleaned, checked and turned into its JSON line and the few
columns the later stages need (the output's digest for exact duplicates, a MinHash signature for near ones).

Samples without output, flagged ones (unless asked) and those that are not a conversation a trainer accepts
(validate.py) are removed here with their reason. Nothing here keeps a sample record (for row formats): a
sample becomes one line, a handful of columns and, later, a MinHash signature, so 100,000 samples cost about
a tenth of the memory their dicts would, and the work splits cleanly over processes (parallel.py: a large
selection from a store session is cleaned in two). Everything keeps a sample record (for row formats): a sample becomes one line, a handful of
columns and, later, a MinHash signature, so 100,000 samples cost about a tenth of the memory their
dicts would, and the work splits cleanly over processes (parallel.py). Everything depends on one
sample at a time, so preparing a selection in parts and joining them gives the same result as
preparing it whole.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from itertools import compress, islice
from operator import itemgetter
from typing import Any, Callable, Iterable

import orjson

from studio.core.bulk import held_json
from studio.export import parallel
from studio.export.formats import Format
from studio.export.records import Removal, completion, prompt_key, prompt_messages
from studio.export.select import Selection
from studio.export.validate import NO_ASSISTANT, problem


@dataclass
class Prepared:
    """Columns, one entry per prepared sample, in id order until `canonical()` (samples removed early are in
    `removed`)."""

    ids: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)        # prompt key: exact duplicates, the split
    digests: list[bytes] = field(default_factory=list)     # of the output: exact duplicates
    models: list[str] = field(default_factory=list)
    created: list[Any] = field(default_factory=list)
    costs: list[Any] = field(default_factory=list)
    tags: list[tuple[str, ...]] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)       # row formats: the row as JSON (the redact stage
    #                                                        rewrites the ones holding a secret)
    records: list[dict] = field(default_factory=list)      # paired formats: the clean records, to pair later
    signatures: Any = None                                 # MinHash of the user turns + output (near dedup)
    keys: list[str] = field(default_factory=list)        # content_key: the order rows are written in
    removed: list[Removal] = field(default_factory=list)
    selected: int = 0
    scan: list[bytes] = field(default_factory=list)        # row formats: every field but the output, for the
    #                                                        redact stage (the distinct prompts; raw: the rest)

    COLUMNS = ("ids", "statuses", "templates", "versions", "groups", "digests", "models", "created", "costs",
               "tags", "lines", "records", "keys")

    def canonical(self) -> None:
        """Put the samples in content_key order (read in id order, which is the fast order to read)."""
        keys = self.keys
        if len(keys) < 2 or all(a <= b for a, b in zip(keys, islice(keys, 1, None))):
            return
        order = sorted(range(len(keys)), key=keys.__getitem__)
        pick = itemgetter(*order)
        for name in self.COLUMNS:
            column = getattr(self, name)
            if column:
                setattr(self, name, list(pick(column)))
        if self.signatures is not None and len(self.signatures):
            import numpy as np

            self.signatures = np.take(self.signatures, np.fromiter(order, dtype=np.intp, count=len(order)), axis=0)

    def take(self, keep: list[bool]) -> None:
        """Keep only the samples marked True (every column at once)."""
        for name in self.COLUMNS:
            column = getattr(self, name)
            if column:
                setattr(self, name, list(compress(column, keep)))

    def extend(self, other: "Prepared") -> None:
        """Append a later part (its samples all come after ours)."""
        for name in self.COLUMNS:
            getattr(self, name).extend(getattr(other, name))
        if self.signatures is not None and other.signatures is not None:
            import numpy as np

            self.signatures = np.concatenate([self.signatures, other.signatures])
        self.removed.extend(other.removed)
        self.selected += other.selected
        self.scan.extend(other.scan)


_NO_TAGS: tuple[str, ...] = ()


def content_key(rec: dict) -> str:
    """Where a sample's row goes: by what it is (template, version, fill, prompt, answer, seed, model,
    endpoint), not by its id, which a live run gives in completion order: so one machine's run and the
    merged shards of many (`studio run --shard`, `studio sessions --merge`) export the same bytes, and so do
    two runs of the same prompts. The id only breaks exact ties (the same sample twice). One string (fixed-
    width numbers): sorting 100,000 of them takes a tenth of the time tuples take."""
    seed = rec.get("seed")
    seed = 0 if seed is None else int(seed) + 1
    return (f"{rec.get('template') or ''}\x1f{rec.get('template_version') or ''}\x1f{rec.get('fill_key') or ''}"
            f"\x1f{rec.get('prompt_hash') or ''}\x1f{int(rec.get('answer') or 0):08d}\x1f{seed:020d}"
            f"\x1f{rec.get('model') or ''}\x1f{rec.get('endpoint') or ''}\x1f{int(rec.get('id') or 0):012d}")


def run(selection: Selection, fmt: Format, *, near: bool, include_flagged: bool = False,
        flags: tuple[str, ...] = (), processes: int | None = None) -> Prepared:
    """The clean stage: every selected sample prepared (see prepare), then put in content order (content_key).
    A store selection is read and prepared in two processes where that pays (parallel.py)."""
    if selection.records is not None:
        p = prepare(selection.records, fmt, near=near, include_flagged=include_flagged, flags=flags)
    else:
        assert selection.read is not None
        p = prepare_selection(selection.read, selection.ids, fmt, near=near, include_flagged=include_flagged,
                              flags=flags, processes=processes)
    p.canonical()             # rows by what each sample is, not by its id (completion order)
    return p


def prepare_selection(read: Callable[[list[int]], Iterable[dict]], ids: list[int], fmt: Format, *, near: bool,
                      processes: int | None = None, **flagging) -> Prepared:
    """prepare() over the samples `read(ids)` yields, the second half in a child process when it pays
    (parallel.in_halves: one process or two give the same columns). `flagging`: prepare's include_flagged /
    flags. In id order (run() puts them in content order)."""
    def work(part: list[int]) -> Prepared:
        return prepare(read(part), fmt, near=near, **flagging)

    def join(first: Prepared, second: Prepared) -> Prepared:
        first.extend(second)
        return first

    return parallel.in_halves(ids, work, join, processes=processes)


def clean(rec: dict) -> dict:
    """A shallow copy with clean `messages`, text `output`, an int `id` and its prompt key.

    Done once per sample, so every format, the dedup and the pairing reuse the same lists.
    """
    if "_clean" in rec:
        return rec
    out = dict(rec)
    stored = rec.get("messages")
    out["messages"] = msgs = prompt_messages(rec)
    if msgs is not stored and stored:       # the slow path changed something: was a turn dropped as empty?
        out["_empty"] = any(isinstance(m, dict) and m.get("role") != "system" and not str(m.get("content") or "").strip()
                            for m in stored)
    text = rec.get("output")
    out["output"] = text if type(text) is str else completion(rec)
    sid = rec.get("id")
    out["id"] = sid if type(sid) is int else int(sid or 0)
    out["_clean"] = True
    ph = rec.get("prompt_hash")
    out["_pkey"] = str(ph) if ph else prompt_key(out)
    return out


def prepare(records: Iterable[dict], fmt: Format, *, near: bool,
            include_flagged: bool = False, flags: tuple[str, ...] = ()) -> Prepared:
    """Prepare selected samples (in id order): clean them, drop those without output, flagged ones (unless
    asked) and those that are not a valid conversation (validate.py), format or keep the rest.

    `near`: compute MinHash signatures for near-duplicate detection (of the user turns and the output).
    `flags`: select only samples with one of these flags (and keep them); `include_flagged`: keep every flag.
    """
    p = Prepared()
    ids, statuses, templates, versions = p.ids, p.statuses, p.templates, p.versions
    groups, digests, models, created, costs, tags = p.groups, p.digests, p.models, p.created, p.costs, p.tags
    lines, kept_records, removed, keys = p.lines, p.records, p.removed, p.keys
    texts: list[str] = []
    paired, to_row, kto, raw = fmt.paired, fmt.row, fmt.name == "kto", fmt.name == "raw"
    prompts: set[str] = set()             # distinct prompt texts: where key shapes are looked for
    beside: list[bytes] = []              # raw: every other field but the output (params, errors, notes...)
    blake = hashlib.blake2b
    same = {}.setdefault               # one object per distinct status/template/version/model: cheaper to pickle
    selected = 0
    wanted = set(flags)
    for rec in records:
        flag = rec.get("flag")
        if wanted and flag not in wanted:
            continue                                # not selected (a --flag selection)
        rec = clean(rec)
        selected += 1
        out = rec["output"]
        status = rec.get("status")
        if flag == "preview" and not raw:
            removed.append(Removal(rec["id"], NO_ASSISTANT, _preview_detail(rec)))
            continue
        if flag and not (include_flagged or flag in wanted):
            removed.append(Removal(rec["id"], f"flagged {flag}",
                                   f"left out unless asked: --include-flagged, or --flag {flag}"))
            continue
        if not out.strip():
            removed.append(Removal(rec["id"], "no output", rec.get("error") or "the sample has no generated text"))
            continue
        if kto and status not in ("accepted", "rejected"):
            removed.append(Removal(rec["id"], "no verdict", f"status {status!r}: KTO needs accepted "
                                                            "(label true) or rejected (label false)"))
            continue
        if not raw:
            bad = problem(rec["messages"], out, empty=rec.get("_empty", False), echo=status != "rejected")
            if bad is not None:
                removed.append(Removal(rec["id"], *bad))
                continue
        ids.append(rec["id"])
        keys.append(content_key(rec))
        statuses.append(same(status, status))
        t, v = str(rec.get("template") or ""), str(rec.get("template_version") or "")
        templates.append(same(t, t))
        versions.append(same(v, v))
        groups.append(rec["_pkey"])
        digests.append(blake(out.encode("utf-8", "surrogatepass"), digest_size=16).digest())
        model = str(rec.get("model") or "")
        models.append(same(model, model))
        created.append(rec.get("created"))
        costs.append(rec.get("cost"))
        t = rec.get("tags")
        tags.append(tuple(t) if t else _NO_TAGS)
        msgs = rec["messages"]
        if near:
            texts.append("\n".join([m["content"] for m in msgs if m["role"] == "user"] + [out]))
        if paired:
            kept_records.append(rec)
            continue
        row = to_row(rec)
        lines.append(held_json(row))
        if raw:
            del row["output"]                     # the line is written: the rest is what else to scan
            beside.append(orjson.dumps(row))
        else:
            prompts.update([m["content"] for m in msgs])
    p.selected = selected
    if near:
        from studio.export.dedup import signatures

        p.signatures = signatures(texts)
    if not paired:
        p.scan.append(b"\n".join(beside) if raw else "\n".join(prompts).encode())
    return p


def _preview_detail(rec: dict) -> str:
    return (f"template {rec.get('template') or '?'!r} has no assistant: section, so its sample is the filled prompt, "
            "not a reply: add an assistant: section holding the reply (render mode), or run it with a model")
