"""Two template versions side by side: diff, rates, and the same fills compared."""

import random

from studio.analysis.compare import compare_versions, text_diff
from tests.analysis.planted import sample


def _pair(rng, i, key, old_status, new_status):
    a = sample(rng, i, version="old", status=old_status)
    b = sample(rng, 1000 + i, version="new", status=new_status)
    a["fill_key"] = b["fill_key"] = key
    return [a, b]


def test_text_diff_shows_the_changed_lines_only():
    diff = text_diff("a\nb\nc\n", "a\nB\nc\n", "v1", "v2")
    assert diff[:2] == ["--- v1", "+++ v2"]
    assert "-b" in diff and "+B" in diff and " a" in diff
    assert text_diff("same", "same") == []


def test_same_fills_are_compared_across_versions():
    rng = random.Random(0)
    samples = []
    for i in range(6):
        samples += _pair(rng, i, f"fix{i}", "rejected", "accepted")
    samples += _pair(rng, 10, "broke", "accepted", "rejected")
    samples += _pair(rng, 11, "kept", "accepted", "accepted")
    samples += _pair(rng, 12, "stuck", "failed", "rejected")
    samples += _pair(rng, 13, "todo", "accepted", "pending")
    samples.append(sample(rng, 50, version="old", status="rejected"))  # a fill only the old version has
    samples.append(sample(rng, 51, template="other", version="new", status="rejected"))
    c = compare_versions(samples, "support", "old", "new", "x: 1\n", "x: 2\n")
    p = c.pairs
    assert (p.fills, p.improved, p.regressed, p.kept, p.still_failing, p.unreviewed) == (10, 6, 1, 1, 1, 1)
    assert p.p_better < 0.07  # 6 fixed vs 1 broken
    assert c.old_counts.samples == 11 and c.new_counts.samples == 10
    assert c.old_counts.accept_rate == 3 / 10 and c.new_counts.accept_rate == 7 / 9
    assert "+x: 2" in c.diff


def test_a_regenerated_fill_counts_its_latest_sample():
    rng = random.Random(0)
    a, b = _pair(rng, 0, "k", "rejected", "rejected")
    b2 = dict(b, id=5000, status="accepted")
    c = compare_versions([a, b, b2], "support", "old", "new")
    assert c.pairs.improved == 1 and c.pairs.fills == 1
