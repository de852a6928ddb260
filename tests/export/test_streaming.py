"""The export streams: its memory grows by a few hundred bytes a sample (compact columns and signatures),
never by the samples' dicts or their rows' text; and the compact columns order rows exactly as content_key."""

from __future__ import annotations

import random
import tracemalloc

import orjson

from studio.export import ExportOptions, parallel, plan_export, write_export
from studio.export.clean import content_key
from tests.export.conftest import prose, sample


def _peak(session, statuses: tuple[str, ...], out) -> int:
    """Traced peak (bytes) of planning and writing an export of the samples with these statuses."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        plan = plan_export(session, ExportOptions(format="openai-chat", statuses=statuses))
        write_export(plan, out, force=True)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_memory_grows_by_a_few_hundred_bytes_a_sample_not_by_the_rows(store, tmp_path, monkeypatch):
    s = store.create("big")
    for start in range(1, 12_001, 2_000):      # distinct answers: few near-duplicate candidates to check
        s.add_samples([sample(i, status="accepted" if i <= 3_000 else "pending", output=prose(i, 60))
                       for i in range(start, start + 2_000)])
    monkeypatch.setattr(parallel, "processes_for", lambda n: 1)       # tracemalloc sees this process only
    small = _peak(s, ("accepted",), tmp_path / "small")
    big = _peak(s, ("accepted", "pending"), tmp_path / "big")
    per_sample = (big - small) / 9_000
    # kept: ~256 bytes of signature and ~120 of columns (measured 150-350 here, the peaks move); holding the
    # rows' lines or the samples' dicts, as the export did, measured ~2,100
    assert per_sample < 800, f"{per_sample:.0f} bytes a sample"
    assert sum(1 for _ in open(tmp_path / "big/train.jsonl", "rb")) > 9_000


def test_rows_follow_content_key_whatever_order_the_samples_were_stored_in(store):
    rnd = random.Random(3)
    recs = []
    for i in range(400):
        r = sample(i + 1, template=rnd.choice(["a", "ab", "b", "a b"]), prompt=rnd.randrange(60),
                   output=f"answer number {i} " + " ".join(rnd.choice("xyz") for _ in range(8)),
                   answer=rnd.choice([0, 0, 1, 2, 11]), seed=rnd.choice([None, 0, 5, 12, 1_000_000_007 % 2**31]),
                   model=rnd.choice(["m", "m2", "m-2", ""]), endpoint=rnd.choice([None, "http://127.0.0.1:1/v1", ""]))
        r["template_version"] = rnd.choice(["aaaa1111", "aaaa11112", "bbbb"])
        if rnd.random() < 0.2:
            r["prompt_hash"] = None                      # the prompt key is then computed, content_key says ""
        if rnd.random() < 0.1:
            r["fill_key"] = rnd.choice(["", "f", "ff"])
        recs.append(r)
    rnd.shuffle(recs)
    s = store.create("order")
    s.add_samples(recs)
    plan = plan_export(s, ExportOptions(format="raw", statuses=("accepted",), dedup=False, val_fraction=0))
    exported = [orjson.loads(line)["id"] for line in plan.lines]
    assert len(exported) == 400
    assert exported == sorted(exported, key=lambda i: content_key(s.get(i)))
