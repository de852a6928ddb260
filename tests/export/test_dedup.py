"""Near-duplicate detection: MinHash estimates track true Jaccard, and planted duplicates are found."""

from __future__ import annotations

import random

import pytest

from studio.export.dedup import NUM_PERM, SHINGLE, lsh_params, near_duplicates, signatures


def shingles(text: str) -> set[str]:
    import re

    words = re.findall(r"[a-z0-9\x80-\U0010ffff]+", text.lower())
    return {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def texts(n: int, words: int = 120, seed: int = 0) -> list[str]:
    rnd = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    return [" ".join(rnd.choices(vocab, k=words)) for _ in range(n)]


def edited(text: str, k: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    w = text.split()
    for i in rnd.sample(range(len(w)), k):
        w[i] = f"edit{i}"
    return " ".join(w)


@pytest.mark.parametrize("k", [1, 4, 10, 30])
def test_estimates_track_true_jaccard_like_datasketch_does(k):
    from datasketch import MinHash

    a = texts(1)[0]
    b = edited(a, k)
    sa, sb = shingles(a), shingles(b)
    true = len(sa & sb) / len(sa | sb)
    sig = signatures([a, b])
    ours = float((sig[0] == sig[1]).mean())
    ma, mb = MinHash(num_perm=NUM_PERM), MinHash(num_perm=NUM_PERM)
    ma.update_batch([s.encode() for s in sa])
    mb.update_batch([s.encode() for s in sb])
    assert abs(ours - true) < 0.15 and abs(ma.jaccard(mb) - true) < 0.15


def test_case_punctuation_and_spacing_do_not_make_a_new_text():
    a = "The router restarts itself every night, because the firmware update loops forever."
    b = "the ROUTER restarts itself   every night because the firmware-update loops forever!!"
    sig = signatures([a, b, "entirely different words about billing and refunds for a late order"])
    assert (sig[0] == sig[1]).all() and (sig[0] != sig[2]).any()


def test_planted_near_duplicates_are_found_among_thousands_and_distinct_texts_kept():
    docs = texts(3000)
    planted = {}
    for i in range(0, 3000, 100):
        docs[i + 1] = edited(docs[i], 2, seed=i)              # ~0.85-0.9 Jaccard
        planted[i + 1] = i
    found = {d.index: d.kept for d in near_duplicates(docs, 0.7)}
    assert found == planted
    assert near_duplicates(docs, 0.7) == near_duplicates(list(docs), 0.7)   # deterministic


def test_non_ascii_and_nul_characters_keep_documents_apart():
    a = " ".join(f"Ünïcödé{i} façade naïve café{i} résumé" for i in range(12))
    docs = [a, "plain words only here " * 8, a.replace("café11", "caf\x00é11"), a]
    sig = signatures(docs)
    assert (sig[0] == sig[3]).all() and (sig[0] != sig[1]).any() and (sig[0] == sig[2]).mean() > 0.5


def test_short_texts_are_left_to_exact_dedup():
    assert near_duplicates(["ok thanks", "ok thanks", "fine"], 0.5) == []


def test_band_split_is_the_one_datasketch_chooses_for_the_threshold():
    from datasketch import MinHashLSH

    for t in [x / 100 for x in range(30, 97, 3)]:
        lsh = MinHashLSH(threshold=t, num_perm=NUM_PERM, weights=(0.1, 0.9))
        assert lsh_params(t) == (lsh.b, lsh.r), t
    assert lsh_params(0.99) == (2, NUM_PERM // 2)             # datasketch refuses one band; we keep two


def test_export_does_not_import_datasketch_or_scipy():
    import subprocess
    import sys

    code = ("import sys; from studio.export.dedup import near_duplicates; "
            "near_duplicates(['a b c d e f g'] * 2 + ['x y z w v u t'], 0.8); "
            "print(any(m.split('.')[0] in ('datasketch', 'scipy') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_signatures_are_the_same_on_one_core_and_several(monkeypatch):
    from studio.export import dedup

    docs = texts(1500, words=60)
    monkeypatch.setattr(dedup.os, "cpu_count", lambda: 1)
    one = signatures(docs)
    monkeypatch.setattr(dedup.os, "cpu_count", lambda: 4)
    assert (signatures(docs) == one).all()
