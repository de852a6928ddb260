"""Expansion: choose slot fills from the combination space without ever materialising it.

A combination is an integer index in mixed radix over the slots' value counts, so a space of
10^15 costs nothing until a fill is drawn, and every fill records exactly which values made it.
Strategies: product (every combination), sample (N distinct, seeded, weights honoured), cover
(every value of every slot at least once) and pairwise (every pair of values of two slots at
least once, greedy IPOG, close to the fewest rows). Exclusion rules drop combinations.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any, Iterator

import orjson

from studio.core.errors import StudioError
from studio.core.slots import GeneratedPersonas, Source, resolve_all
from studio.core.template import STRATEGIES, Template

PAIRWISE_LIMIT = 2_000_000  # required pairs beyond which pairwise would take too long to plan
EXACT_COUNT_LIMIT = 1_000_000  # spaces up to this size get exact counts under exclusions
SHUFFLE_LIMIT = 20_000_000  # sample: spaces up to this size have their undrawn rest listed and shuffled


class Fill:
    """One choice of a value for every slot; values are decoded lazily from the digits."""

    __slots__ = ("index", "_digits", "_space", "_values", "_attrs", "_key")

    def __init__(self, index: int, digits: tuple[int, ...] | None = (), space: "Space | None" = None,
                 values: dict[str, str] | None = None, attrs: dict[str, dict] | None = None):
        self.index = index
        self._digits = digits  # None: decoded from the index when first needed
        self._space = space
        self._values = values
        self._attrs = attrs
        self._key: str | None = None

    @classmethod
    def from_values(cls, values: dict[str, Any], attrs: dict[str, dict] | None = None, index: int = -1) -> "Fill":
        """A fill rebuilt from stored slot values (e.g. to render an old fill with a new template version)."""
        return cls(index, values={k: str(v) for k, v in values.items()}, attrs=dict(attrs or {}))

    @property
    def digits(self) -> tuple[int, ...]:
        """One value index per slot, in the space's slot order (decoded from `index` on first use)."""
        if self._digits is None:
            self._digits = self._space.digits(self.index)
        return self._digits

    def _decode(self) -> None:
        space = self._space
        values, attrs = {}, {}
        for name, src, d in zip(space.names, space.sources, self.digits):
            values[name] = src.text(d)
            a = src.attrs(d)
            if a is not None:
                attrs[name] = a
        self._values, self._attrs = values, attrs

    @property
    def values(self) -> dict[str, str]:
        """{slot: the value's display text} (decoded on first use)."""
        if self._values is None:
            self._decode()
        return self._values

    @property
    def attrs(self) -> dict[str, dict]:
        """{slot: {attribute: value}} for slots whose values have attributes (file rows, personas)."""
        if self._attrs is None:
            self._decode()
        return self._attrs

    @property
    def persona(self) -> dict | None:
        """Attributes of the persona slot (generator or persona file), if the template has one."""
        names = self._space.persona_slots if self._space else [n for n in self.attrs if "text" in self.attrs[n]]
        for name in names:
            if name in self.attrs:
                return self.attrs[name]
        return None

    @property
    def fill_key(self) -> str:
        """12-hex hash of `values`: the same fill across template versions (hashed once: a run reads it for
        the seed and for the sample)."""
        if self._key is None:
            self._key = fill_key(self.values)
        return self._key

    def __repr__(self) -> str:
        return f"Fill({self.index}, {self.values!r})"


SEED_MOD = 2**31


def sample_seed(base: int, key: str, answer: int = 0) -> int:
    """The one seed function: per fill (its key, i.e. its slot values, never its position in the expansion,
    so deleting, adding or reordering data rows or list values leaves every other fill's seed alone) and per
    answer. A run calls it with the run's seed and the fill's key; a regeneration that wants a fresh seed
    for a sample calls it with that sample's seed as the base (and the redo round as the answer)."""
    h = int.from_bytes(hashlib.blake2b(str(key).encode(), digest_size=8).digest(), "big")
    return (base * 1_000_003 + h + answer * 0x9E3779B1) % SEED_MOD


def fill_key(values: dict[str, Any]) -> str:
    """12 hex characters of a SHA-1 over `values` as sorted JSON: the same values give the same key.

    The JSON is the standard library's `dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))`
    as UTF-8; orjson writes the same bytes for text values three times as fast (tests/core/test_expand.py
    compares them), and anything else (a number, a lone surrogate) goes the standard library's way."""
    if all(type(v) is str for v in values.values()):
        try:
            return hashlib.sha1(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]
        except orjson.JSONEncodeError:
            pass
    blob = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


@dataclass
class _Rule:
    slots: list[int]
    wanted: list[frozenset[str]]
    line: int


@dataclass
class SpacePlan:
    """What `plan` reports (`studio slots`): the space's `size` (combinations before exclusions), per slot
    (name, value count, source), `counts` {strategy: prompts it would give; None when it cannot plan} and `notes`."""

    size: int
    slots: list[tuple[str, int, str]]  # name, value count, source
    counts: dict[str, int | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class Space:
    """The combination space of a template's slots."""

    def __init__(self, template: Template, sources: dict[str, Source] | None = None):
        self.template = template
        sources = sources if sources is not None else resolve_all(template)
        self.names = list(sources)
        self.sources = [sources[n] for n in self.names]
        self.sizes = [len(s) for s in self.sources]
        self.size = math.prod(self.sizes)
        self.persona_slots = [n for n, s in zip(self.names, self.sources)
                              if isinstance(s, GeneratedPersonas) or getattr(s, "origin", "").startswith("personas:")]
        pos = {n: i for i, n in enumerate(self.names)}
        self.rules = [
            _Rule([pos[s] for s in rule], [frozenset(v.casefold() for v in vals) for vals in rule.values()], line)
            for rule, line in zip(template.combine.exclude, template.combine.exclude_lines or [0] * len(template.combine.exclude))
        ]
        self._match_cache: dict[tuple[int, int, int], bool] = {}

    # -- indices -------------------------------------------------------------
    def digits(self, index: int) -> tuple[int, ...]:
        """The per-slot value indexes of combination `index` (0 <= index < size; mixed radix, first slot fastest)."""
        out = []
        for s in self.sizes:
            index, r = divmod(index, s)
            out.append(r)
        return tuple(out)

    def index_of(self, digits: tuple[int, ...] | list[int]) -> int:
        """The combination index of per-slot value indexes `digits` (the inverse of `digits`)."""
        index, mult = 0, 1
        for d, s in zip(digits, self.sizes):
            index += d * mult
            mult *= s
        return index

    def fill(self, digits: tuple[int, ...], index: int | None = None) -> Fill:
        """The Fill of `digits` (its index computed unless given)."""
        return Fill(self.index_of(digits) if index is None else index, tuple(digits), self)

    # -- exclusions ----------------------------------------------------------
    def _matches(self, rule_no: int, k: int, slot: int, digit: int) -> bool:
        key = (rule_no, k, digit)
        hit = self._match_cache.get(key)
        if hit is None:
            src = self.sources[slot]
            wanted = self.rules[rule_no].wanted[k]
            hit = src.text(digit).casefold() in wanted
            if not hit:
                attrs = src.attrs(digit)
                if attrs:
                    hit = any(str(v).casefold() in wanted for v in attrs.values())
            if len(self._match_cache) < 1_000_000:
                self._match_cache[key] = hit
        return hit

    def excluded(self, digits) -> bool:
        """True when every slot named by some rule holds one of the rule's values (unset cells never match)."""
        for r, rule in enumerate(self.rules):
            if all(digits[slot] is not None and self._matches(r, k, slot, digits[slot]) for k, slot in enumerate(rule.slots)):
                return True
        return False

    # -- strategies ----------------------------------------------------------
    def product(self, n: int | None = None) -> Iterator[Fill]:
        """Every allowed combination in index order (the first `n` when given), lazily."""
        made = 0
        for index in range(self.size):
            if n is not None and made >= n:
                return
            digits = self.digits(index)
            if self.rules and self.excluded(digits):
                continue
            made += 1
            yield Fill(index, digits, self)

    def sample_indices(self, n: int, seed: int = 0) -> Iterator[int]:
        """N distinct combination indices, reproducible from the seed; O(N) time and memory.

        The order is a stable prefix order: the first K of `sample_indices(N, seed)` are
        `sample_indices(K, seed)` for every K <= N, so `studio run T -n 10` then `-n 20` into one session asks
        only for the 10 new fills (nothing in here depends on `n` but when to stop). Uniform draws are random
        indices until half the space has been drawn, then the rest of the space in a shuffled order (so a
        small space is drawn whole in linear time); weighted slots draw by weight until a budget of
        20·N + 1000 draws runs out (exclusions or weights can leave fewer than N)."""
        rng = random.Random(seed)
        weighted = [getattr(s, "weights", None) for s in self.sources]
        seen: set[int] = set()
        randrange, random_, add = rng.randrange, rng.random, seen.add
        size, sizes, rules = self.size, self.sizes, bool(self.rules)
        made = 0
        if any(weighted):
            cums = [list(itertools.accumulate(w)) if w else None for w in weighted]
            budget: float = 20 * n + 1000  # rejection sampling stops here when exclusions/weights leave too few
            while made < n and budget > 0:
                budget -= 1
                index = self.index_of([bisect.bisect(c, random_() * c[-1]) if c else randrange(s)
                                       for c, s in zip(cums, sizes)])
                if index in seen:
                    continue
                add(index)
                if rules and self.excluded(self.digits(index)):
                    continue
                made += 1
                yield index
            return
        # Uniform: draw until half the space is seen, then shuffle what is left (a space too large to list
        # is drawn from to the end, within the budget). Only the stopping point depends on `n`.
        half = (size + 1) // 2 if size <= SHUFFLE_LIMIT else None
        budget = 20 * n + 1000 if half is None else math.inf
        if not rules:  # the hot path: uniform, nothing excluded
            exact = size > 2**53  # beyond a float's precision only randrange is uniform
            while made < n and budget > 0 and (half is None or len(seen) < half):
                budget -= 1
                index = randrange(size) if exact else int(random_() * size)
                if index in seen:
                    continue
                add(index)
                made += 1
                yield index
        else:
            while made < n and budget > 0 and (half is None or len(seen) < half):
                budget -= 1
                index = randrange(size)
                if index in seen:
                    continue
                add(index)
                if self.excluded(self.digits(index)):
                    continue
                made += 1
                yield index
        if made >= n or half is None:
            return
        rest = [i for i in range(size) if i not in seen]
        seen.clear()
        rng.shuffle(rest)
        for index in rest:
            if made >= n:
                return
            if rules and self.excluded(self.digits(index)):
                continue
            made += 1
            yield index

    def sample(self, n: int, seed: int = 0) -> Iterator[Fill]:
        """`n` combinations drawn without replacement, reproducible from `seed` (weights honoured), lazily."""
        for index in self.sample_indices(n, seed):
            yield Fill(index, None, self)

    def cover(self, seed: int = 0, n: int | None = None) -> Iterator[Fill]:
        """Every value of every slot at least once, in max(slot size) rows when nothing is excluded."""
        rng = random.Random(seed)
        perms = []
        for s in self.sizes:
            a = rng.randrange(1, s) if s > 1 else 1
            while math.gcd(a, s) != 1:
                a = rng.randrange(1, s)
            perms.append((a, rng.randrange(s) if s > 1 else 0, s))
        rows = max(self.sizes) if self.sizes else 1
        covered: list[set[int]] = [set() for _ in self.sizes] if self.rules else []
        made = 0
        for r in range(rows):
            if n is not None and made >= n:
                return
            digits = tuple((a * r + b) % s for a, b, s in perms)
            if self.rules:
                if self.excluded(digits):
                    continue
                for k, d in enumerate(digits):
                    covered[k].add(d)
            made += 1
            yield Fill(self.index_of(digits), digits, self)
        if not self.rules:
            return
        # Values whose rows were excluded: find each a partner row that is allowed.
        for k, size in enumerate(self.sizes):
            for d in range(size):
                if d in covered[k]:
                    continue
                for _ in range(200):
                    trial = list(self.digits(rng.randrange(self.size)))
                    trial[k] = d
                    digits = tuple(trial)
                    if not self.excluded(digits):
                        for j, dj in enumerate(digits):
                            covered[j].add(dj)
                        if n is not None and made >= n:
                            return
                        made += 1
                        yield Fill(self.index_of(digits), tuple(digits), self)
                        break

    def pairwise_rows(self, seed: int = 0) -> list[tuple[int, ...]]:
        """IPOG: grow a covering array slot by slot, horizontally then vertically."""
        k = len(self.sizes)
        if k <= 1:
            return [(d,) for d in range(self.sizes[0])] if k == 1 else [()]
        pairs = sum(self.sizes[i] * self.sizes[j] for i in range(k) for j in range(i + 1, k))
        if pairs > PAIRWISE_LIMIT:
            raise StudioError(
                f"pairwise would need to cover {pairs:,} value pairs (limit {PAIRWISE_LIMIT:,})",
                path=self.template.where, line=self.template.line_of("combine", "strategy"),
                hint="use strategy 'cover' or 'sample' for slots this large (personas are best sampled)")
        rng = random.Random(seed)
        order = sorted(range(k), key=lambda i: -self.sizes[i])
        sizes = [self.sizes[i] for i in order]

        def allowed(row_by_order: list) -> bool:
            if not self.rules:
                return True
            digits = [None] * k
            for pos, slot in enumerate(order):
                if pos < len(row_by_order):
                    digits[slot] = row_by_order[pos]
            return not self.excluded(digits)

        rows: list[list] = []
        for a in range(sizes[0]):
            for b in range(sizes[1]):
                if allowed([a, b]):
                    rows.append([a, b])
        for p in range(2, k):
            uncovered = {(q, v, w) for q in range(p) for v in range(sizes[q]) for w in range(sizes[p])}
            if self.rules:
                uncovered = {(q, v, w) for (q, v, w) in uncovered
                             if allowed([v if i == q else None for i in range(p)] + [w])}
            # horizontal growth
            for row in rows:
                best, best_gain = None, -1
                start = rng.randrange(sizes[p])
                for off in range(sizes[p]):
                    w = (start + off) % sizes[p]
                    if not allowed(row + [w]):
                        continue
                    gain = sum(1 for q in range(p) if row[q] is not None and (q, row[q], w) in uncovered)
                    if gain > best_gain:
                        best, best_gain = w, gain
                row.append(best)
                if best is not None:
                    for q in range(p):
                        if row[q] is not None:
                            uncovered.discard((q, row[q], best))
            # vertical growth
            for (q, v, w) in sorted(uncovered):
                placed = False
                for row in rows:
                    if row[p] == w and row[q] is None:
                        trial = row[:]
                        trial[q] = v
                        if allowed(trial):
                            row[q] = v
                            placed = True
                            break
                    elif row[p] == w and row[q] == v:
                        placed = True
                        break
                if not placed:
                    new: list[int | None] = [None] * (p + 1)
                    new[q], new[p] = v, w
                    rows.append(new)
        out = []
        seen = set()
        for row in rows:
            for pos in range(k):
                if row[pos] is None:
                    choices = list(range(sizes[pos]))
                    rng.shuffle(choices)
                    for c in choices:
                        trial = row[:]
                        trial[pos] = c
                        if allowed(trial):
                            row[pos] = c
                            break
                    if row[pos] is None:
                        row[pos] = choices[0]
            cols = [0] * k
            for pos, slot in enumerate(order):
                cols[slot] = row[pos]
            digits = tuple(cols)
            if digits in seen or (self.rules and self.excluded(digits)):
                continue
            seen.add(digits)
            out.append(digits)
        return out

    def pairwise(self, seed: int = 0, n: int | None = None) -> Iterator[Fill]:
        """Combinations covering every pair of values of two slots (IPOG, reproducible from `seed`; the first `n`)."""
        for i, digits in enumerate(self.pairwise_rows(seed)):
            if n is not None and i >= n:
                return
            yield Fill(self.index_of(digits), digits, self)


def expand(template: Template, n: int | None = None, strategy: str | None = None, seed: int | None = None,
           space: Space | None = None) -> Iterator[Fill]:
    """The template's fills by its (or the given) strategy; lazy and reproducible from the seed."""
    strategy = strategy or template.combine.strategy
    seed = template.combine.seed if seed is None else seed
    n = template.combine.n if n is None else n
    if strategy not in STRATEGIES:
        raise StudioError(f"unknown strategy {strategy!r}", hint=f"use one of: {', '.join(STRATEGIES)}")
    space = space or Space(template)
    if strategy == "product":
        return space.product(n)
    if strategy == "sample":
        return space.sample(n if n is not None else min(space.size, 10), seed)
    if strategy == "cover":
        return space.cover(seed, n)
    return space.pairwise(seed, n)


def plan(template: Template, n: int | None = None) -> SpacePlan:
    """Sizes and the prompt count each strategy would give (what `studio slots` prints)."""
    space = Space(template)
    n = template.combine.n if n is None else n
    out = SpacePlan(space.size, [(name, size, getattr(src, "origin", "")) for name, size, src in
                                 zip(space.names, space.sizes, space.sources)])
    if space.rules and space.size <= EXACT_COUNT_LIMIT:
        product = sum(1 for _ in space.product())
    else:
        product = space.size
        if space.rules:
            out.notes.append("product count is before exclusions (space too large to count exactly)")
    out.counts["product"] = product
    out.counts["sample"] = min(n if n is not None else 10, product)
    out.counts["cover"] = sum(1 for _ in space.cover(template.combine.seed)) if max(space.sizes or [1]) <= EXACT_COUNT_LIMIT else max(space.sizes)
    try:
        out.counts["pairwise"] = len(space.pairwise_rows(template.combine.seed))
    except StudioError as exc:
        out.counts["pairwise"] = None
        out.notes.append(f"pairwise: {exc.problem.message}")
    return out
