"""Stage 6, split: a seeded train/validation split, stratified by template, that never splits one prompt's rows.

Rows of the same filled prompt (several answers, or the pairs of one prompt) go to the same side,
so validation never holds a prompt that training has seen. Within each template, prompt groups
are shuffled by a PCG64 generator seeded from (seed, template) and the first round(n * fraction) rows'
worth of groups go to validation; a template with a single group stays in train.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np


def split_rows(templates: list[str], groups: list[str], fraction: float, seed: int) -> list[str]:
    """For each row (given its template and prompt group), "train" or "validation"."""
    if not 0 <= fraction < 1:
        raise ValueError("fraction must be in [0, 1)")
    out = ["train"] * len(templates)
    if fraction == 0:
        return out
    by_template: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for i, (t, g) in enumerate(zip(templates, groups)):
        members = by_template[t]
        if g in members:
            members[g].append(i)
        else:
            members[g] = [i]
    for template in sorted(by_template):
        members = by_template[template]
        if len(members) < 2:
            continue
        keys = sorted(members)
        stream = int.from_bytes(hashlib.sha256(f"{seed}:{template}".encode()).digest()[:8], "big")
        order = np.random.Generator(np.random.PCG64(stream)).permutation(len(keys)).tolist()
        keys = [keys[k] for k in order]
        n_rows = len(templates) if len(by_template) == 1 else sum(map(len, members.values()))
        want = round(n_rows * fraction)
        taken = 0
        for key in keys[:-1]:                     # at least one group stays in train
            if taken >= want:
                break
            for i in members[key]:
                out[i] = "validation"
            taken += len(members[key])
    return out


def run(templates: list[str], groups: list[str], fraction: float, seed: int) -> list[str]:
    """The split stage: for each row (given its template and prompt group), "train" or "validation"."""
    return split_rows(templates, groups, fraction, seed)
