"""A bulk action over thousands of samples runs with the cyclic GC's young threshold raised (core.bulk.gc_relaxed):
at Python's default, every few hundred new objects, the collections (and the full ones they lead to, 100-400 ms
over a 100,000-sample studio's heap) held the GIL while a key's frame waited (bench/review.py)."""

from __future__ import annotations

import gc

from studio.store.session import BULK_CHUNK
from tests.store.conftest import sample


def collections_during(fn) -> int:
    """How many collections the cyclic GC starts while fn runs, with its young threshold at 1 (a collection at
    nearly every new object unless the code raises it)."""
    seen = []

    def watch(phase: str, info: dict) -> None:
        if phase == "start":
            seen.append(info["generation"])

    before = gc.get_threshold()
    gc.set_threshold(1, *before[1:])
    gc.callbacks.append(watch)
    try:
        fn()
    finally:
        gc.callbacks.remove(watch)
        gc.set_threshold(*before)
    return len(seen)


def test_a_bulk_action_and_its_undo_hold_the_collector_off_then_restore_it(session):
    session.add_samples([sample(i) for i in range(1, 3 * BULK_CHUNK + 1)])
    ids = session.ids()
    before = gc.get_threshold()
    for action in (lambda: session.bulk_set_status(ids, "accepted"), session.undo_step,
                   lambda: session.bulk_tag(ids, "too-long"), session.undo_step):
        assert collections_during(action) < 100            # thousands when each sample's objects trigger one
        assert gc.get_threshold() == before


def test_one_review_key_leaves_the_collector_as_it_is(session):
    """(What the test above measures: a single verdict runs at the threshold it finds, 1 here.)"""
    session.add_samples([sample(i) for i in range(1, 4)])
    assert collections_during(lambda: session.accept(2)) >= 1
