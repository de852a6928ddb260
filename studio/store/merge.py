"""Joining sessions into a new one (`studio sessions --merge A B ... INTO`): the parts N machines made of one
run (`studio run --shard K/N`), or two people's sessions.

The new session gets every run, template version (with the names v1, v2 ... it was saved under), sample,
pair judgement and feedback record of the sources. Samples that are the same sample (same template version,
fill, answer, seed, model, endpoint, prompt and inputs) are reconciled: identical decisions are kept once;
a reviewed one wins over a pending or failed one, an answered one over a failed one; two different decisions
(accepted and rejected) are refused, naming them, unless `prefer` says which side wins. Samples are written in
a canonical order (template, version, fill, answer, seed, ...), not in the order each source made them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from studio.store.errors import StoreError

REVIEWED = ("accepted", "rejected")
BATCH = 1000


def identity(s: dict) -> tuple:
    """What makes two samples the same sample (the run's own identity, plus the prompt that was sent)."""
    inputs = s.get("inputs")
    digest = hashlib.sha256(orjson.dumps(inputs, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
                            ).hexdigest()[:12] if inputs else ""
    seed = s.get("seed")
    return (s.get("template") or "", s.get("template_version") or "", s.get("fill_key") or "",
            int(s.get("answer") or 0), -1 if seed is None else int(seed), s.get("model") or "",
            s.get("endpoint") or "", s.get("prompt_hash") or "", digest)


@dataclass
class Merged:
    """What a merge did."""

    into: str
    sources: list[str]
    samples: int = 0
    duplicates: int = 0          # copies of one sample found in several places, kept once
    resolved: int = 0            # of those, copies whose decisions differed and were settled by `prefer`
    runs: int = 0
    versions: int = 0
    judgements: int = 0
    feedback: int = 0
    per_source: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Every count above as a plain dict (for scripts and tests)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class _Copy:
    src: int
    sid: int
    status: str
    reviewed: float
    tags: tuple


def _rank(c: _Copy) -> int:
    return 2 if c.status in REVIEWED else (1 if c.status != "failed" else 0)


def _winner(copies: list[_Copy], names: list[str], prefer: str | None, key: tuple) -> tuple[_Copy, bool]:
    """The copy kept for one sample, and whether differing decisions had to be settled by `prefer`."""
    best = max(_rank(c) for c in copies)
    top = [c for c in copies if _rank(c) == best]
    decisions = {c.status for c in top}
    if len(decisions) <= 1:
        return top[0], False
    if prefer is None:
        where = ", ".join(f"{names[c.src]} #{c.sid} {c.status}" for c in top)
        raise StoreError(f"conflicting decisions on one sample (template {key[0]}, fill {key[2][:12]}, answer "
                         f"{key[3]}): {where}",
                         hint="review it again in one session, or pass --prefer SESSION (its decisions win) "
                              "or --prefer latest (the latest review wins)")
    if prefer == "latest":
        return max(top, key=lambda c: c.reviewed), True
    mine = [c for c in top if names[c.src] == prefer]
    return (mine or top)[0], True


def merge(store, sources: list[str], into: str, *, prefer: str | None = None) -> Merged:
    """Join sessions `sources` into the new session `into` (see the module doc). Raises StoreError (nothing
    is left behind) for a conflict, a missing source, or an `into` that exists."""
    if len(sources) < 2:
        raise StoreError("--merge needs at least two sessions and the new one's name",
                         hint="studio sessions --merge A B ... INTO")
    if len(set(sources)) != len(sources):
        raise StoreError(f"a session is named twice: {', '.join(sources)}", hint="name each session once")
    if prefer not in (None, "latest") and prefer not in sources:
        raise StoreError(f"--prefer {prefer!r} is not one of the merged sessions ({', '.join(sources)})",
                         hint="pass one of them, or --prefer latest")
    if store.exists(into):
        raise StoreError(f"session {into!r} exists", hint="merge into a new name (the sources are left as they are)")
    opened = [store.open(name, read_only=True) for name in sources]
    try:
        groups: dict[tuple, list[_Copy]] = {}
        for i, src in enumerate(opened):
            for s in src.iter_samples():
                groups.setdefault(identity(s), []).append(
                    _Copy(i, s["id"], s.get("status") or "pending", float(s.get("reviewed") or 0.0),
                          tuple(s.get("tags") or ())))
        report = Merged(into, list(sources))
        kept: list[tuple[tuple, _Copy, list[_Copy]]] = []
        for key, copies in groups.items():
            win, settled = _winner(copies, sources, prefer, key)
            report.duplicates += len(copies) - 1
            report.resolved += settled
            kept.append((key, win, copies))
        kept.sort(key=lambda k: (k[0], k[1].src, k[1].sid))     # canonical: by identity, not by arrival
        dst = store.create(into, model=opened[0].meta.get("model"),
                           labels=_labels([s.meta.get("labels") for s in opened]))
        try:
            _fill(dst, opened, kept, report, sources)
        except BaseException:
            dst.close()
            store.delete(into)
            raise
        dst.close()
        return report
    finally:
        for s in opened:
            s.close()


def _labels(lists: list) -> list[str] | None:
    out: list[str] = []
    for labels in lists:
        for label in labels or ():
            if label not in out:
                out.append(label)
    return out or None


def _fill(dst, opened: list, kept: list, report: Merged, names: list[str]) -> None:
    dst.set_meta(merged_from=list(names))
    # template versions: the same hash and the name each was saved under
    seen_versions: set[tuple] = set()
    for src in opened:
        for d in src.template_versions():
            k = (d.get("name"), d.get("version"))
            if k in seen_versions:
                continue
            seen_versions.add(k)
            label = src.version_label(d.get("name"), d.get("version")) or None
            dst._add_template_doc(d, label)
            report.versions += 1
    seen_runs: set[str] = set()
    for src in opened:
        for r in src.runs():
            if r.get("run_id") in seen_runs:
                continue
            seen_runs.add(r.get("run_id"))
            dst.add_run(r)
            report.runs += 1
    new_id: dict[tuple[int, int], int] = {}
    for start in range(0, len(kept), BATCH):
        chunk = kept[start:start + BATCH]
        docs: dict[tuple[int, int], dict] = {}
        by_src: dict[int, list[int]] = {}
        for _, win, _ in chunk:
            by_src.setdefault(win.src, []).append(win.sid)
        for i, ids in by_src.items():
            for doc in opened[i].samples(ids):
                docs[(i, doc["id"])] = doc
        batch = []
        for _, win, copies in chunk:
            doc = dict(docs[(win.src, win.sid)])
            tags = list(doc.get("tags") or [])
            for c in copies:                     # tags someone put on another copy are kept too
                for t in c.tags:
                    if t not in tags:
                        tags.append(t)
            doc["tags"] = tags
            batch.append(doc)
            report.per_source[names[win.src]] = report.per_source.get(names[win.src], 0) + 1
        ids = dst.add_samples(batch)
        for (_, _win, copies), sid in zip(chunk, ids):
            for c in copies:
                new_id[(c.src, c.sid)] = sid
    report.samples = len(kept)
    pairs: set[frozenset] = set()
    for i, src in enumerate(opened):
        for j in src.judgements():
            chosen, rejected = new_id.get((i, int(j["chosen"]))), new_id.get((i, int(j["rejected"])))
            if chosen is None or rejected is None or chosen == rejected or frozenset((chosen, rejected)) in pairs:
                continue
            pairs.add(frozenset((chosen, rejected)))
            dst.judge_pair(chosen, rejected)
            report.judgements += 1
    seen_feedback: set[bytes] = set()
    records = []
    for src in opened:
        for f in src.feedback():
            body = {k: v for k, v in f.items() if k != "id"}
            blob = orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
            if blob not in seen_feedback:
                seen_feedback.add(blob)
                records.append(body)
    if records:
        dst.add_feedback(records)
    report.feedback = len(records)
