"""Stage 2, clean: each selected sample read, cleaned, checked and turned into its JSON line and the few
columns the later stages need (a digest for exact duplicates; the dedup stage's signer makes the MinHash
signatures for near ones from the same samples as they pass).

Samples without output, flagged ones (unless asked) and those that are not a conversation a trainer accepts
(validate.py) are removed here with their reason. Nothing here keeps a sample record (for row formats): a
sample becomes one line, written at once to a temporary file (lines.py), and a few compact columns (numpy
arrays, or lists of shared strings), so a million samples cost a few hundred bytes each, not the kilobytes
their dicts or held lines would. Everything depends on one sample at a time, so preparing a selection in parts
and joining them gives the same result as preparing it whole (parallel.py: a large selection from a store
session is cleaned in two processes).
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

import numpy as np
import orjson

from studio.core.bulk import release_memory
from studio.core.record import may_hold_key
from studio.export import parallel
from studio.export.formats import Format, contrast_pair
from studio.export.lines import Lines, new_files
from studio.export.records import Removal, completion, prompt_key, prompt_messages
from studio.export.select import Selection
from studio.export.validate import NO_ASSISTANT, problem


class Signer(Protocol):
    """What the clean stage hands each kept sample to when near duplicates are wanted (dedup.Signer)."""

    def add(self, messages: list[dict], output: str) -> None: ...
    def result(self) -> Any: ...            # dedup.Signatures: len() and extend()
    def close(self) -> None: ...


_NUMBER = (int, float)


@dataclass
class Prepared:
    """Columns, one entry per prepared sample, in id order until `canonical()` (samples removed early are in
    `removed`). Numpy arrays where a column is numbers or bytes, lists of shared strings otherwise."""

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    statuses: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    groups: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="S1"))   # prompt key (UTF-8): the
    #                                                         split keeps a group on one side
    digests: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.uint64))  # of status, prompt
    #                                                         key and output: exact duplicates
    models: list[str] = field(default_factory=list)
    created: np.ndarray = field(default_factory=lambda: np.zeros(0))   # NaN: not a number
    costs: np.ndarray = field(default_factory=lambda: np.zeros(0))     # NaN: unknown
    tags: list[tuple[str, ...]] = field(default_factory=list)
    lines: Lines = field(default_factory=Lines)            # row formats: the rows as JSON, in a temporary file
    #                                                        (the redact stage rewrites the ones holding a secret)
    records: list[dict] = field(default_factory=list)      # paired formats: the clean records, to pair later
    signatures: Any = None                                 # the signer's result (near dedup), in reading
    #                                                        order: never moved; sig_row says each sample's row
    sig_row: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    order: "Order" = field(default_factory=lambda: Order())  # content_key's parts: the order rows are written in
    removed: list[Removal] = field(default_factory=list)
    selected: int = 0
    flagged_out: dict[str, int] = field(default_factory=dict)   # flagged samples left out for their flag: {flag: n}
    flagged_in: dict[int, str] = field(default_factory=dict)    # flagged samples kept (past validation): {id: flag}
    scan: list[bytes] = field(default_factory=list)        # row formats: the non-output text that may hold a
    #                                                        key shape, for the redact stage (almost always none)

    COLUMNS = ("ids", "statuses", "templates", "versions", "groups", "digests", "models", "created", "costs",
               "tags", "records", "sig_row")

    def canonical(self) -> None:
        """Put the samples in content_key order (read in id order, which is the fast order to read)."""
        order = self.order.argsort(self.ids, self.groups)
        if order is not None:
            self._pick(order)
        self.order = Order()                    # done with: its columns are freed

    def take(self, keep) -> None:
        """Keep only the samples marked True (a list or array of booleans; every column at once)."""
        self._pick(np.asarray(keep, dtype=bool))

    def _pick(self, which: np.ndarray) -> None:
        positions = np.flatnonzero(which) if which.dtype == bool else which
        listed = positions.tolist()
        for name in self.COLUMNS:
            column = getattr(self, name)
            if isinstance(column, np.ndarray):
                if len(column):                   # (the keys are emptied once used)
                    setattr(self, name, column[positions])
            elif column:
                setattr(self, name, [column[i] for i in listed])
        if len(self.lines):
            self.lines.reorder(positions)
        if len(self.order.tv):
            self.order.pick(positions)

    def extend(self, other: "Prepared") -> None:
        """Append a later part (its samples all come after ours; its lines share our files)."""
        if self.signatures is not None and other.signatures is not None:
            other.sig_row = other.sig_row + len(self.signatures)
            self.signatures.extend(other.signatures)
        for name in self.COLUMNS:
            column = getattr(self, name)
            if isinstance(column, np.ndarray):
                setattr(self, name, np.concatenate([column, getattr(other, name)]))
            else:
                column.extend(getattr(other, name))
        self.lines.extend(other.lines)
        self.order.extend(other.order)
        self.removed.extend(other.removed)
        self.selected += other.selected
        for flag, n in other.flagged_out.items():
            self.flagged_out[flag] = self.flagged_out.get(flag, 0) + n
        self.flagged_in.update(other.flagged_in)
        self.scan.extend(other.scan)


class Order:
    """content_key's parts as compact columns (about 35 bytes a sample, not a 100-character string): codes
    for (template, version) and (model, endpoint), the fill key as UTF-8, whether the sample has a
    prompt_hash (the prompt key column holds it), the answer, seed + 1 (0: none). Sorting by them gives
    content_key's order: its fields are joined by \\x1f, below every character they hold, and its numbers are
    fixed-width (answers below 10^8, seeds below 2^31)."""

    def __init__(self) -> None:
        self.tv_names: list[str] = []
        self.me_names: list[str] = []
        self.tv = np.zeros(0, dtype=np.int32)
        self.me = np.zeros(0, dtype=np.int32)
        self.fill = np.zeros(0, dtype="S1")
        self.has_ph = np.zeros(0, dtype=bool)
        self.answer = np.zeros(0, dtype=np.int64)
        self.seed = np.zeros(0, dtype=np.int64)

    ARRAYS = ("tv", "me", "fill", "has_ph", "answer", "seed")

    def pick(self, positions: np.ndarray) -> None:
        """Keep the samples at these positions (an index array or a mask), in that order."""
        for name in self.ARRAYS:
            setattr(self, name, getattr(self, name)[positions])

    def extend(self, other: "Order") -> None:
        """Append a later part's samples (its codes renumbered into our name tables)."""
        for codes, names in (("tv", "tv_names"), ("me", "me_names")):
            mine: list[str] = getattr(self, names)
            where = {x: i for i, x in enumerate(mine)}
            remap = np.array([where.setdefault(x, len(where)) for x in getattr(other, names)] or [0], dtype=np.int32)
            mine[:] = list(where)
            setattr(other, codes, remap[getattr(other, codes)] if len(getattr(other, codes)) else getattr(other, codes))
        for name in self.ARRAYS:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))

    def argsort(self, ids: np.ndarray, groups: np.ndarray) -> np.ndarray | None:
        """The positions in content_key order, or None when they are in it already."""
        if len(self.tv) < 2:
            return None
        tv_rank = np.argsort(np.argsort(np.array(self.tv_names, dtype=object))).astype(np.int32)[self.tv]
        me_rank = np.argsort(np.argsort(np.array(self.me_names, dtype=object))).astype(np.int32)[self.me]
        ph = np.where(self.has_ph, groups, b"")
        order = np.lexsort((ids, me_rank, self.seed, self.answer, ph, self.fill, tv_rank))
        return None if bool((order[1:] > order[:-1]).all()) else order


class _Codes:
    """Codes for a few distinct strings, as a numpy column (built a sample at a time)."""

    def __init__(self) -> None:
        self.where: dict[str, int] = {}
        self.codes = array("i")

    def add(self, text: str) -> None:
        code = self.where.get(text)
        if code is None:
            code = self.where[text] = len(self.where)
        self.codes.append(code)


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


def run(selection: Selection, fmt: Format, *, signer: Callable[[], Signer] | None = None,
        include_flagged: bool = False, flags: tuple[str, ...] = (), processes: int | None = None) -> Prepared:
    """The clean stage: every selected sample prepared (see prepare), then put in content order (content_key).
    A store selection is read and prepared in two processes where that pays (parallel.py). `signer`: makes
    the dedup stage's signer, fed each kept sample (None: no near-duplicate removal)."""
    if selection.records is not None:
        p = prepare(selection.records, fmt, signer=signer, include_flagged=include_flagged, flags=flags)
    else:
        assert selection.read is not None
        p = prepare_selection(selection.read, selection.ids, fmt, signer=signer, include_flagged=include_flagged,
                              flags=flags, processes=processes)
    p.canonical()             # rows by what each sample is, not by its id (completion order)
    return p


def prepare_selection(read: Callable[[list[int]], Iterable[dict]], ids: list[int], fmt: Format, *,
                      signer: Callable[[], Signer] | None = None, processes: int | None = None,
                      **flagging) -> Prepared:
    """prepare() over the samples `read(ids)` yields, the second half in a child process when it pays
    (parallel.in_halves: one process or two give the same columns). `flagging`: prepare's include_flagged /
    flags. In id order (run() puts them in content order). Each half writes its lines to a file of its own,
    made here before any fork."""
    files = new_files(2)

    def work(part: list[int], half: int) -> Prepared:
        p = prepare(read(part), fmt, signer=signer, lines=Lines(files, half), **flagging)
        release_memory()                      # the samples' dicts are gone: give their pages back
        return p

    def join(first: Prepared, second: Prepared) -> Prepared:
        second.lines.attach(files)
        first.extend(second)
        release_memory()
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


def prepare(records: Iterable[dict], fmt: Format, *, signer: Callable[[], Signer] | None = None,
            include_flagged: bool = False, flags: tuple[str, ...] = (), lines: Lines | None = None) -> Prepared:
    """Prepare selected samples (in id order): clean them, drop those without output, flagged ones (unless
    asked) and those that are not a valid conversation (validate.py), format or keep the rest.

    `signer`: makes the dedup stage's signer, given every kept sample's prompt and output (its signatures end
    in `signatures`). `flags`: select only samples with one of these flags (and keep them); `include_flagged`:
    keep every flag. `lines`: where the rows' JSON lines go (a new temporary file by default).
    """
    p = Prepared(lines=lines if lines is not None else Lines())
    statuses, templates, versions, models, tags = p.statuses, p.templates, p.versions, p.models, p.tags
    kept_records, removed, out_lines = p.records, p.removed, p.lines
    ids, created, costs, digests = array("q"), array("d"), array("d"), bytearray()
    groups, fills, tvs, mes = _Bytes(), _Bytes(), _Codes(), _Codes()
    has_ph, answers, seeds = bytearray(), array("q"), array("q")
    paired, to_row, kto, raw = fmt.paired, fmt.row, fmt.name == "kto", fmt.name == "raw"
    suspects: dict[str, None] = {}       # distinct non-output texts that may hold a key shape (almost never any)
    beside: list[bytes] = []             # raw: the rows but their output, where they may hold a key shape
    blake = hashlib.blake2b
    same = {}.setdefault               # one object per distinct status/template/version/model: cheaper to pickle
    nan = float("nan")
    selected = 0
    wanted = set(flags)
    flagged_out, flagged_in = p.flagged_out, p.flagged_in
    sign = signer() if signer is not None else None
    try:
        for rec in records:
            flag = rec.get("flag")
            if wanted and flag not in wanted:
                continue                                # not selected (a --flag selection)
            rec = clean(rec)
            selected += 1
            out = rec["output"]
            status = rec.get("status")
            if flag == "preview" and not raw:
                removed.append(Removal(rec["id"], *_preview_removal(rec)))
                flagged_out["preview"] = flagged_out.get("preview", 0) + 1
                continue
            if flag and not (include_flagged or flag in wanted):
                removed.append(Removal(rec["id"], f"flagged {flag}",
                                       f"left out unless asked: --include-flagged, or --flag {flag}"))
                flagged_out[flag] = flagged_out.get(flag, 0) + 1
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
            if flag:
                flagged_in[rec["id"]] = flag
            statuses.append(same(status, status))
            t, v = str(rec.get("template") or ""), str(rec.get("template_version") or "")
            tvs.add(f"{t}\x1f{v}")                   # content_key's parts (Order)
            fills.add(str(rec.get("fill_key") or ""))
            has_ph.append(1 if rec.get("prompt_hash") else 0)
            answers.append(int(rec.get("answer") or 0))
            seed = rec.get("seed")
            seeds.append(0 if seed is None else int(seed) + 1)
            mes.add(f"{rec.get('model') or ''}\x1f{rec.get('endpoint') or ''}")
            templates.append(same(t, t))
            versions.append(same(v, v))
            group = rec["_pkey"]
            groups.add(group)
            digests += blake(f"{len(str(status))}:{status}{len(group)}:{group}{out}".encode("utf-8", "surrogatepass"),
                             digest_size=16).digest()
            model = str(rec.get("model") or "")
            models.append(same(model, model))
            c = rec.get("created")
            created.append(c if isinstance(c, _NUMBER) else nan)
            c = rec.get("cost")
            costs.append(c if isinstance(c, _NUMBER) else nan)
            t = rec.get("tags")
            tags.append(same(tuple(t), tuple(t)) if t else _NO_TAGS)
            msgs = rec["messages"]
            if sign is not None:
                sign.add(msgs, out)
            if paired:                        # judged here too, so validate.py has one caller: as a pair's
                cp = contrast_pair(rec)       # chosen side (a rejected sample may be judged better than
                if cp is not None:            # another), and a contrast sample's own two sides
                    rec["_contrast_problem"] = (problem(cp.prompt, cp.chosen)
                                                or problem(cp.prompt, cp.rejected, echo=False))
                if status == "rejected":
                    rec["_as_chosen"] = problem(msgs, out)
                kept_records.append(rec)
                continue
            row = to_row(rec)
            out_lines.append(orjson.dumps(row))
            if raw:
                del row["output"]                     # the line is written: the rest is what else to scan
                other = orjson.dumps(row)
                if may_hold_key(other.decode("utf-8", "replace")):
                    beside.append(other)
            else:
                for m in msgs:
                    if may_hold_key(m["content"]):
                        suspects[m["content"]] = None
        if sign is not None:
            p.signatures = sign.result()
            p.sig_row = np.arange(len(p.signatures), dtype=np.int64)
    finally:
        if sign is not None:
            sign.close()
    p.selected = selected
    p.ids = np.array(ids, dtype=np.int64)
    p.created = np.array(created, dtype=np.float64)
    p.costs = np.array(costs, dtype=np.float64)
    p.digests = np.array(memoryview(digests).cast("Q"), dtype=np.uint64).reshape(-1, 2)
    p.groups = groups.array()
    o = p.order
    o.tv_names, o.tv = list(tvs.where), np.array(tvs.codes, dtype=np.int32)
    o.me_names, o.me = list(mes.where), np.array(mes.codes, dtype=np.int32)
    o.fill, o.has_ph = fills.array(), np.array(has_ph, dtype=bool)
    o.answer, o.seed = np.array(answers, dtype=np.int64), np.array(seeds, dtype=np.int64)
    out_lines.seal()
    if not paired:
        p.scan.append(b"\n".join(beside) if raw else "\n".join(suspects).encode("utf-8", "surrogatepass"))
    return p


class _Bytes:
    """A column of short strings kept as UTF-8 in numpy arrays of fixed width, a chunk at a time (a million
    Python strings cost ~60 bytes each on top of their text)."""

    _CHUNK = 8192

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.pending: list[bytes] = []

    def add(self, text: str) -> None:
        self.pending.append(text.encode("utf-8", "surrogatepass"))
        if len(self.pending) >= self._CHUNK:
            self.parts.append(np.array(self.pending, dtype=bytes))
            self.pending = []

    def array(self) -> np.ndarray:
        if self.pending:
            self.parts.append(np.array(self.pending, dtype=bytes))
            self.pending = []
        if not self.parts:
            return np.zeros(0, dtype="S1")
        return np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]


PREVIEW = "flagged preview"


def _preview_removal(rec: dict) -> tuple[str, str]:
    """(reason, detail) of a preview left out: a render-mode template without an assistant: section wants one;
    a generate template run with the render model wants a model (its sample is the prompt, not an answer)."""
    name = rec.get("template") or "?"
    if rec.get("mode") == "render":
        return NO_ASSISTANT, (f"template {name!r} has no assistant: section, so its sample is the filled prompt, "
                              "not a reply: add an assistant: section holding the reply (render mode), or run it with a model")
    return PREVIEW, (f"template {name!r} was run with the render model: its sample is the filled prompt, not an "
                     f"answer; generate with a model (studio run {name} --model NAME); previews go only into "
                     "--format raw")
