"""Stage 4, pair: the rows to write. Row formats: one row per sample left after dedup, as the clean stage
formatted it. Preference formats: pairs from the person's own decisions, judgements and contrast-pair samples,
each checked as two conversations (validate.py), formatted here.

- judgements: explicit "A is better than B" judgements made side by side (the session's
  `judgements` table), used as they are and first, whatever the two samples' statuses; the
  pairs below never repeat a judged pair (either way round).
- decisions: accepted and rejected samples of the same filled prompt (same `prompt_hash`). Every
  sample of a prompt is used: pairs = max(#accepted, #rejected), matched in id order, round robin,
  so a prompt with 1 accepted and 3 rejected answers gives 3 pairs sharing the chosen one.
- a pair whose chosen and rejected answers are the same text (up to spaces) is left out, whatever made it:
  it teaches a preference model nothing (and DPO's loss is flat on it).
- contrast: one accepted sample whose structured output (`parsed`) holds both sides,
  `{"chosen": ..., "rejected": ...}` and optionally `"prompt"` (the question the pair answers;
  without it, the sample's own prompt is used). A contrast-pair template in structured mode
  makes these.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import orjson

from studio.export.formats import Format, Pair, contrast_pair
from studio.export.lines import Lines
from studio.export.records import Removal, completion, prompt_key, prompt_messages


SAME_SIDES = "same answer on both sides"      # a pair whose chosen and rejected texts are equal


@dataclass
class Rows:
    """The rows of an export, in file order: each as a JSON line, with its template, version ("" for pairs from
    several versions), prompt group (the split keeps a group on one side) and the sample ids it came from."""

    lines: Lines
    templates: list[str]
    versions: list[str]
    groups: Any                              # per row: str, or UTF-8 bytes in a numpy array
    ids: Sequence[tuple[int, ...]]
    pairs: list[Pair] | None = None          # preference formats: the pairs the rows hold
    prompts: list[dict] | None = None        # preference formats: the records whose prompts the redact stage scans


def run(p, fmt: Format, judgements, removed: list[Removal]) -> Rows:
    """The pair stage over the clean stage's Prepared `p` (after dedup): the rows to write. For preference
    formats, samples left unpaired or in an invalid pair are added to `removed`, and `p` keeps only the samples
    the pairs came from (the card counts those)."""
    if not fmt.paired:
        return Rows(p.lines, p.templates, p.versions, p.groups, Singles(p.ids))
    records = p.records
    pairs, left = build_pairs(records, judgements)
    removed.extend(Removal(r["id"], "unpaired", why) for r, why in left)
    by_id = {r["id"]: r for r in records}
    pairs = _valid_pairs(pairs, by_id, removed)
    lines = Lines()
    for u in pairs:
        lines.append(orjson.dumps(fmt.row(u)))
    rows = Rows(lines.seal(), [u.template for u in pairs],
                [_pair_version(u, by_id) for u in pairs], [u.group for u in pairs], [u.ids for u in pairs],
                pairs, records)
    used = {i for ids in rows.ids for i in ids}
    p.take([i in used for i in p.ids])         # the card counts the samples the pairs came from
    return rows


class Singles(Sequence):
    """The sample ids of one-sample rows, as (id,) tuples made when asked (a million tuples cost 60 MB)."""

    def __init__(self, ids: np.ndarray):
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [(int(x),) for x in self.ids[i]]
        return (int(self.ids[i]),)

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def _valid_pairs(pairs: list[Pair], by_id: dict[int, dict], removed: list[Removal]) -> list[Pair]:
    """Pairs whose prompt + chosen and prompt + rejected are valid conversations, as the clean stage judged
    them (validate.py is its own: `_as_chosen` on a sample, or its contrast sides); the samples of the others
    are removed with the reason. The rejected side needs no check of its own: the clean stage checked its answer
    and the chosen sample's prompt (a rejected answer may repeat its prompt)."""
    kept, failed = [], {}
    for u in pairs:
        first = by_id.get(u.ids[0], {})
        bad = first.get("_contrast_problem") if u.source == "contrast" else first.get("_as_chosen")
        if bad is None and " ".join(u.chosen.split()) == " ".join(u.rejected.split()):
            bad = (SAME_SIDES, "chosen and rejected are the same text (up to spaces): it teaches nothing")
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


def judged_pairs(records: list[dict], judgements) -> tuple[list[Pair], set[int], set[frozenset]]:
    """Pairs from explicit judgements whose two samples are both in `records` (both with an answer):
    (pairs, the ids they use, the judged id pairs)."""
    by_id = {_id(r): r for r in records}
    pairs: list[Pair] = []
    used: set[int] = set()
    judged: set[frozenset] = set()
    for j in judgements or ():
        a, r = by_id.get(int(j.get("chosen") or 0)), by_id.get(int(j.get("rejected") or 0))
        if a is None or r is None or not completion(a).strip() or not completion(r).strip():
            continue
        judged.add(frozenset((_id(a), _id(r))))
        used.update((_id(a), _id(r)))
        pairs.append(Pair(prompt_messages(a), completion(a), completion(r), str(a.get("template") or ""),
                          "judgement", (_id(a), _id(r)), prompt_key(a)))
    return pairs, used, judged


def build_pairs(records: list[dict], judgements=None) -> tuple[list[Pair], list[tuple[dict, str]]]:
    """Pairs in a stable order (by first sample id), and the samples left out with the reason.
    `judgements`: the session's explicit pair judgements ({chosen, rejected}), used first and as they are."""
    pairs, judged_ids, judged = judged_pairs(records, judgements)
    left: list[tuple[dict, str]] = []
    groups: dict[str, dict[str, list[dict]]] = defaultdict(lambda: {"accepted": [], "rejected": []})
    for rec in records:
        cp = contrast_pair(rec)
        if cp is not None:
            pairs.append(cp)
            continue
        status = rec.get("status")
        if status in ("accepted", "rejected"):
            groups[prompt_key(rec)][status].append(rec)
        elif _id(rec) not in judged_ids:
            left.append((rec, f"status {status!r} has no verdict to pair"))
    for key, g in groups.items():
        acc = sorted(g["accepted"], key=_id)
        rej = sorted(g["rejected"], key=_id)
        if not acc or not rej:
            why = "no rejected answer to the same prompt" if acc else "no accepted answer to the same prompt"
            left.extend((r, why) for r in acc + rej if _id(r) not in judged_ids)
            continue
        used = set(judged_ids)
        for i in range(max(len(acc), len(rej))):
            a, r = acc[i % len(acc)], rej[i % len(rej)]
            if completion(a).strip() == completion(r).strip() or frozenset((_id(a), _id(r))) in judged:
                continue
            used.update((_id(a), _id(r)))
            pairs.append(Pair(prompt_messages(a), completion(a), completion(r), str(a.get("template") or ""),
                              "decisions", (_id(a), _id(r)), key))
        left.extend((x, "accepted and rejected answers are the same text") for x in acc + rej if _id(x) not in used)
    pairs.sort(key=lambda p: p.ids)
    return pairs, left


def _id(rec: dict) -> int:
    return int(rec.get("id") or 0)
