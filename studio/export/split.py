"""Stage 6, split: a seeded train/validation split, stratified by template, that never splits one prompt's rows.

Rows of the same filled prompt (several answers, or the pairs of one prompt) go to the same side,
so validation never holds a prompt that training has seen. Within each template, prompt groups
are shuffled by a PCG64 generator seeded from (seed, template) and the first round(n * fraction) rows'
worth of groups go to validation; a template with a single group stays in train.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np


def split_rows(templates: Sequence[str], groups, fraction: float, seed: int) -> list[str]:
    """For each row (given its template and prompt group: strings, or UTF-8 bytes in a numpy array), "train"
    or "validation". Counted with numpy: a million rows each of its own prompt take no dict of lists."""
    if not 0 <= fraction < 1:
        raise ValueError("fraction must be in [0, 1)")
    n = len(templates)
    out = ["train"] * n
    if fraction == 0 or n == 0:
        return out
    names, tinv = np.unique(np.asarray(templates, dtype=str), return_inverse=True)
    tinv = tinv.reshape(-1)
    keys = np.asarray(groups) if isinstance(groups, np.ndarray) else np.asarray(list(groups), dtype=str)
    validation = np.zeros(n, dtype=bool)
    for t, template in enumerate(names.tolist()):
        rows = np.flatnonzero(tinv == t)
        members, ginv = np.unique(keys[rows], return_inverse=True)   # sorted, as str sorts (UTF-8 bytes too)
        if len(members) < 2:
            continue
        stream = int.from_bytes(hashlib.sha256(f"{seed}:{template}".encode()).digest()[:8], "big")
        order = np.random.Generator(np.random.PCG64(stream)).permutation(len(members))
        n_rows = n if len(names) == 1 else len(rows)
        want = round(n_rows * fraction)
        sizes = np.bincount(ginv.reshape(-1), minlength=len(members))[order[:-1]]   # at least one group stays in train
        before = np.cumsum(sizes) - sizes                  # rows taken before each group (in shuffled order)
        chosen = np.zeros(len(members), dtype=bool)
        chosen[order[:-1][before < want]] = True
        validation[rows[chosen[ginv.reshape(-1)]]] = True
    for i in np.flatnonzero(validation).tolist():
        out[i] = "validation"
    return out


def run(templates: Sequence[str], groups, fraction: float, seed: int) -> list[str]:
    """The split stage: for each row (given its template and prompt group), "train" or "validation"."""
    return split_rows(templates, groups, fraction, seed)
