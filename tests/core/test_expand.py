"""Expansion: lazy, reproducible, distinct, covering, and honouring exclusions."""

import itertools
import tracemalloc
from collections import Counter

import pytest

from studio.core.expand import Fill, Space, expand, plan
from studio.core.template import parse_template


def _t(slots: dict[str, int], strategy="sample", n=None, seed=0, exclude=""):
    lines = "".join(f"  {k}: [{', '.join(f'{k}{i}' for i in range(v))}]\n" for k, v in slots.items())
    combine = f"combine:\n  strategy: {strategy}\n  seed: {seed}\n" + (f"  n: {n}\n" if n else "") + exclude
    body = " ".join(f"{{{{ {k} }}}}" for k in slots)
    return parse_template(f"---\nname: t\nmode: render\nslots:\n{lines}{combine}---\n{body}\n", "t.prompt")


def _combos(fills):
    return [tuple(f.values.values()) for f in fills]


def test_product_gives_every_combination_once():
    combos = _combos(expand(_t({"a": 3, "b": 4, "c": 2}, "product")))
    assert len(combos) == 24 == len(set(combos))


def test_sample_is_distinct_and_reproducible_from_its_seed():
    t = _t({"a": 10, "b": 10}, n=60)
    first = _combos(expand(t, seed=3))
    assert len(first) == 60 == len(set(first))
    assert first == _combos(expand(t, seed=3))
    assert first != _combos(expand(t, seed=4))
    assert len(_combos(expand(t, n=500))) == 100  # never more than the space holds


def test_sample_from_a_huge_space_costs_memory_in_proportion_to_n():
    t = _t({f"s{i}": 1000 for i in range(5)})  # 10^15 combinations
    space = Space(t)
    assert space.size == 10**15
    tracemalloc.start()
    indices = list(space.sample_indices(20_000, seed=1))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(set(indices)) == 20_000
    assert peak < 10_000_000
    fill = space.fill(space.digits(indices[0]))
    assert fill.index == indices[0] and len(fill.values) == 5


def test_weights_skew_what_sample_draws():
    t = parse_template("---\nname: w\nmode: render\nslots:\n  a:\n    values: {common: 9, rare: 1}\n"
                       "  b: [" + ", ".join(f"b{i}" for i in range(200)) + "]\n"
                       "combine: {strategy: sample, n: 200, seed: 2}\n---\n{{ a }}{{ b }}\n")
    counts = Counter(f.values["a"] for f in expand(t))
    assert counts["common"] > 3 * counts["rare"] > 0


def test_cover_uses_every_value_of_every_slot_in_the_fewest_rows():
    t = _t({"a": 7, "b": 3, "c": 5}, "cover", seed=9)
    fills = list(expand(t))
    assert len(fills) == 7
    for slot, size in {"a": 7, "b": 3, "c": 5}.items():
        assert {f.values[slot] for f in fills} == {f"{slot}{i}" for i in range(size)}


@pytest.mark.parametrize("sizes", [{"a": 3, "b": 3, "c": 3, "d": 3}, {"a": 5, "b": 4, "c": 3, "d": 2, "e": 2},
                                   {"a": 10, "b": 8, "c": 6}])
def test_pairwise_covers_every_pair_with_close_to_the_fewest_rows(sizes):
    fills = list(expand(_t(sizes, "pairwise", seed=1)))
    names = list(sizes)
    for x, y in itertools.combinations(names, 2):
        seen = {(f.values[x], f.values[y]) for f in fills}
        assert len(seen) == sizes[x] * sizes[y], (x, y)
    largest = sorted(sizes.values())[-1] * sorted(sizes.values())[-2]
    assert len(fills) <= largest * 1.5
    assert len(fills) < len(list(expand(_t(sizes, "product"))))


RULE = "  exclude:\n    - {a: a0, b: b1}\n    - {c: c2}\n"


@pytest.mark.parametrize("strategy", ["product", "sample", "cover", "pairwise"])
def test_exclusion_rules_are_never_broken(strategy):
    t = _t({"a": 3, "b": 3, "c": 3}, strategy, n=20, exclude=RULE)
    fills = list(expand(t))
    assert fills
    for f in fills:
        assert not (f.values["a"] == "a0" and f.values["b"] == "b1")
        assert f.values["c"] != "c2"
    if strategy == "pairwise":  # every allowed pair is still covered
        seen = {(f.values["a"], f.values["b"]) for f in fills}
        assert len(seen) == 9 - 1


def test_exclusions_match_persona_attributes():
    t = parse_template("---\nname: p\nmode: render\nslots:\n  persona: {personas: builtin}\n  topic: [alcohol, tea]\n"
                       "combine:\n  strategy: sample\n  n: 300\n  exclude:\n    - {persona: teens, topic: alcohol}\n"
                       "---\n{{ persona }} {{ topic }}\n")
    fills = list(expand(t))
    assert len(fills) == 300
    assert not any(f.persona["age_band"] == "teens" and f.values["topic"] == "alcohol" for f in fills)
    assert any(f.persona["age_band"] == "teens" for f in fills)


def test_plan_counts_prompts_for_each_strategy():
    p = plan(_t({"a": 4, "b": 3}, n=5))
    assert p.size == 12
    assert p.counts["product"] == 12 and p.counts["sample"] == 5 and p.counts["cover"] == 4
    assert p.counts["pairwise"] == 12


def test_a_fill_rebuilt_from_stored_values_has_the_same_key():
    fill = next(expand(_t({"a": 3, "b": 2})))
    again = Fill.from_values(fill.values)
    assert again.fill_key == fill.fill_key and again.values == fill.values


_EXCLUDE = "  exclude: [{a: a0, b: b1}, {a: a2}]\n"
_WEIGHTED = ("---\nname: w\nmode: render\nslots:\n  a:\n    values: {x: 3, y: 1, z: 1}\n  b: [b0, b1, b2, b3]\n"
             "combine: {strategy: sample, seed: 5}\n---\n{{ a }}{{ b }}\n")


@pytest.mark.parametrize("strategy", ["sample", "product", "cover", "pairwise"])
@pytest.mark.parametrize("shape", [
    pytest.param(({"a": 4, "b": 6}, ""), id="24 combinations"),
    pytest.param(({"a": 5, "b": 5, "c": 4}, _EXCLUDE), id="100 with exclusions"),
    pytest.param(({"a": 3}, ""), id="one slot of 3"),
    pytest.param(({"a": 40, "b": 50}, ""), id="2,000 combinations"),
    pytest.param(({"a": 300, "b": 300, "c": 300}, ""), id="27 million (past the shuffle limit)"),
])
def test_a_smaller_n_gives_the_first_fills_of_a_larger_n(strategy, shape):
    """`-n K` is a prefix of `-n N` (same seed) for every strategy, at every K around the space's size and
    its half, where the sample strategy used to switch from random draws to a shuffle (so `-n 10` then
    `-n 20` of a 24-combination template asked for other fills than the 10 it had)."""
    sizes, exclude = shape
    t = _t(sizes, strategy, seed=7, exclude=exclude)
    if strategy == "pairwise" and len(sizes) > 2 and min(sizes.values()) > 100:
        pytest.skip("pairwise refuses a space this large")
    size = 1
    for v in sizes.values():
        size *= v
    ns = sorted({1, 2, 5, 10, 11, 12, 13, 20, 23, 24, 25, 49, 50, 51, 99, 100, 1000, 1001, 2000, 3000}
                | ({size // 2 - 1, size // 2, size // 2 + 1, size - 1, size} if size <= 3000 else set()))
    largest = _combos(expand(t, n=max(ns)))
    assert len(largest) == len(set(largest))
    for k in ns:
        assert _combos(expand(t, n=k)) == largest[:k], k


def test_weighted_sample_is_a_prefix_order_too():
    t = parse_template(_WEIGHTED, "w.prompt")
    largest = _combos(expand(t, n=12))
    assert len(largest) == 12 == len(set(largest))  # the whole space, however skewed the weights
    for k in range(13):
        assert _combos(expand(t, n=k)) == largest[:k]


def test_sample_draws_a_whole_small_space_once_each():
    t = _t({"a": 7, "b": 9})
    got = list(Space(t).sample_indices(63, seed=11))
    assert sorted(got) == list(range(63))


def _stdlib_fill_key(values):
    import hashlib
    import json

    blob = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


@pytest.mark.parametrize("values", [
    {}, {"i": "p-1"}, {"b": "2", "a": "1"}, {"topic": "naïve café", "angle": "中文 😀"},
    {"x": "tab\there\nnew \"quoted\" back\\slash /"}, {"c": "\x00\x01\x1f\x7f\u2028\u2029\ufeff"},
    {"é": "1", "e": "2", "z": "3", "Z": "4", "😀": "5", "中": "6"}, {"n": "x" * 5000},
])
def test_fill_key_is_the_standard_librarys_sorted_json_hashed(values):
    from studio.core.expand import fill_key

    assert fill_key(values) == _stdlib_fill_key(values)   # seeds and sample identities depend on these bytes


def test_fill_key_matches_the_standard_library_on_random_text_and_falls_back_for_the_rest():
    import random

    from studio.core.expand import fill_key

    rng = random.Random(5)
    alphabet = [chr(i) for i in range(0x250)] + ["\u2028", "😀", "中", "\ue000", "\U0010ffff", "\ud7ff"]
    for _ in range(3000):
        values = {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5))):
                  "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))) for _ in range(rng.randint(0, 4))}
        assert fill_key(values) == _stdlib_fill_key(values)
    assert fill_key({"n": 3, "f": 0.1}) == _stdlib_fill_key({"n": 3, "f": 0.1})     # not text: the stdlib's way
    with pytest.raises(UnicodeEncodeError):          # a lone surrogate fails as it always did
        fill_key({"s": "\ud800"})
