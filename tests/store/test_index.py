"""The session's in-memory index is columns, not a dict per sample: what it must hold and keep.

- it holds no Python object per sample (arrays and small code tables), so a million samples fit;
- the index read back from NAME.index, the one rebuilt from the TinyDB file, and the live one are equal,
  also when samples changed while a background fold was writing, and after a SIGKILL mid-fold;
- ids added out of order (a hand-edited or merged file) keep every query right.
"""

import gc
import pickle
import sys

import pytest

import studio.store.session as session_module
from studio.core.cost import sample_cost
from studio.core.record import index_fields
from studio.store.index import SampleIndex
from studio.store.snapshot import index_header

from tests.store.conftest import die_after, sample


def state(s) -> dict:
    """Everything the index answers, decoded (what must not depend on how the index was built)."""
    ix = s._index
    ids = ix.sid.tolist()
    out = {"ids": ids, "tags": ix.tags_of(ids), "followups": ix.tags_of(ids, "fu"),
           "counts": s.counts(), "cost": s.cost()}
    for col in ("st", "tp", "v", "md", "fl", "c", "r", "co", "la"):
        out[col] = ix.values(col)
    f = s.facets()
    out["facets"] = (f.ids, f.template, f.version, f.status, f.cost, f.model, f.by_status, f.by_tag,
                     f.by_template, f.slots, f.persona)
    return out


def _work(s, start: int, n: int) -> None:
    s.add_samples([sample(i, persona={"text": "t", "band": ("a", "b", "c")[i % 3]}) for i in range(start, start + n)])
    s.accept(start + 1)
    s.toggle_tag(start + 2, "wrong")
    s.toggle_tag(start + 3, "wrong")
    s.toggle_tag(start + 3, "short")
    s.update_sample(start + 4, followups={"double-check": {"verdict": "correct"}}, cost=None, model="render")
    s.update_sample(start + 5, flag="cut-off", latency=3)                 # an int where floats usually are
    s.set_note(start + 6, "a note")


def _repeating(i: int) -> dict:
    return sample(i, slots={"product": ("router", "modem")[i % 2], "n": str(i % 50)})    # values repeat


def test_the_index_keeps_no_python_object_per_sample(store):
    """(A distinct value per sample, e.g. a slot that is unique, costs its string in the code table.)"""
    n = 20_000
    with store.create("big") as s:
        s.add_samples([_repeating(i) for i in range(1, 101)])
        s.compact()
        gc.collect()
        before = sys.getallocatedblocks()
        for start in range(101, n + 101, 2000):
            s.add_samples([_repeating(i) for i in range(start, start + 2000)])
        s.compact()                                           # the samples' JSON leaves memory for the file
        gc.collect()
        grown = sys.getallocatedblocks() - before
        assert len(s) == n + 100 and s._index.overlay == {}
        assert grown < n // 20, f"{grown} Python objects for {n} samples"
        assert s.count(slot=("product", "modem")) == (n + 100) // 2
        assert s.get(n)["output"] == f"Answer number {n}: restart the device."


def test_the_index_from_disk_equals_the_live_one(store, monkeypatch):
    monkeypatch.setattr(session_module, "JOURNAL_LIMIT", 20_000)        # several background folds
    s = store.create("s1")
    for batch in range(6):
        _work(s, batch * 40 + 1, 40)                    # review actions land while folds are writing
    s.wait_for_fold()
    live = state(s)
    s.close()
    assert index_header(s.files.index)["n"] == 240
    with store.open("s1", read_only=True) as fast:      # from NAME.index
        assert state(fast) == live
    s.files.index.unlink()
    with store.open("s1") as rebuilt:                   # from the TinyDB file, line by line
        assert state(rebuilt) == live
        rebuilt.undo()                                  # nothing to undo in a new process
    with store.open("s1") as again:
        assert state(again) == live


def test_a_sigkill_mid_fold_loses_nothing_and_rebuilds_the_same_index(store, monkeypatch):
    monkeypatch.setattr(session_module, "JOURNAL_LIMIT", 5_000)
    store.create("s1").close()

    def work_then_die():
        s = store.open("s1")
        for batch in range(4):
            _work(s, batch * 30 + 1, 30)
        assert s._fold_thread is not None or s.files.journal_old.exists() or s._journal.size
        (store.dir / "expected.pickle").write_bytes(pickle.dumps(state(s)))
    die_after(work_then_die)
    expected = pickle.loads((store.dir / "expected.pickle").read_bytes())
    with store.open("s1") as s:
        assert state(s) == expected and len(s) == 120
        assert s.get(2)["status"] == "accepted" and s.get(34)["tags"] == ["wrong", "short"]


def test_ids_added_out_of_order_keep_every_query_right():
    docs = {i: {**sample(i), "status": ("pending", "accepted")[i % 2], "tags": ["x"] if i % 3 == 0 else []}
            for i in (5, 3, 9, 1, 7, 2, 8)}
    ix = SampleIndex(lambda off, size: b"")
    for i, doc in docs.items():
        ix.put(i, index_fields(doc), b"{}")
    assert ix.sid.tolist() == [1, 2, 3, 5, 7, 8, 9] and ix.inserts > 0
    assert [ix.place(i) for i in (1, 5, 9, 4)] == [0, 3, 6, None] and 4 not in ix
    assert ix.candidates(status="accepted") == [1, 3, 5, 7, 9]
    assert ix.candidates(tag="x", status="accepted") == [3, 9]
    assert ix.candidates(slot=("product", "modem")) == [1, 3, 5, 7, 9]
    assert ix.ordered(None, "cost", desc=True) == [9, 8, 7, 5, 3, 2, 1]
    assert ix.values("co", [ix.place(7)]) == [pytest.approx(0.007)]
    f = ix.facets(None)
    assert f.ids == [1, 2, 3, 5, 7, 8, 9] and f.by_status["pending"] == {2, 8}
    assert f.slots[("n", "8")] == {8} and f.by_tag == {"x": {3, 9}}
    ix.put(3, index_fields({**docs[3], "tags": [], "status": "rejected"}), None, 10, 2)
    assert ix.candidates(tag="x") == [9] and ix.counts()["status"] == {"pending": 2, "accepted": 4, "rejected": 1,
                                                                        "failed": 0}


def test_a_run_waits_for_a_slow_fold_rather_than_hold_ever_more(store, monkeypatch):
    """A fold of a large file takes seconds; a run adding faster waits for it past 1.25 x OVERLAY_LIMIT."""
    import time

    from studio.store import snapshot

    monkeypatch.setattr(session_module, "OVERLAY_LIMIT", 20_000)
    slow = snapshot.write

    def write(*args, **kwargs):
        time.sleep(0.2)
        return slow(*args, **kwargs)
    monkeypatch.setattr(snapshot, "write", write)
    s = store.create("s1")
    most = folds = 0
    for i in range(1, 401, 10):
        s.add_samples([sample(j) for j in range(i, i + 10)])
        most = max(most, s._index.overlay_bytes)
        folds += s._fold_thread is not None
    batch = sum(len(s._index.raw_of(j)) for j in range(391, 401))
    assert folds > 3 and most <= 20_000 * 5 // 4 + batch
    s.close()
    with store.open("s1") as again:
        assert len(again) == 400 and again.get(400)["output"] == "Answer number 400: restart the device."


@pytest.mark.parametrize("costs", [
    [0.001 * i for i in range(1, 41)],                              # every sample priced
    [None if i % 3 else 0.1 * i for i in range(1, 41)],             # some unpriced
    [7 if i == 5 else (None if i % 4 == 0 else 0.3 * i) for i in range(1, 41)],   # an int kept aside (odd)
    [None] * 40,                                                     # nothing priced
], ids=["priced", "some-unpriced", "odd-value", "none-priced"])
def test_the_whole_sessions_cost_is_what_the_per_sample_path_sums(store, costs):
    """`cost()` of the whole session (numpy picks the floats: the status bar asks for it after keys) is exactly
    what the general per-sample path gives for the same samples (a filter that matches them all)."""
    s = store.create("costs")
    s.add_samples([sample(i, cost=c, cached=(i % 7 == 0)) for i, c in enumerate(costs, start=1)])
    whole, filtered = s.cost(), s.cost(template="support")
    assert whole == filtered
    each = [sample_cost(s.get(i)) for i in s.ids()]           # the definition, a sample at a time
    assert (whole.priced, whole.unknown) == (sum(c is not None for c in each), sum(c is None for c in each))
    assert whole.known == float(sum(c for c in each if c is not None))
    s.close()
