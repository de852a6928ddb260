"""Helpers for passes over many records: GC paused for the pass, JSON lines that are kept."""

import gc

import orjson
import pytest

from studio.core.bulk import gc_paused, held_json


def test_held_json_is_exactly_what_orjson_writes():
    for value in ({"messages": [{"role": "user", "content": "héllo " * 200}]}, [1, 2.5, None, True], "x", {}):
        out = held_json(value)
        assert type(out) is bytes and out == orjson.dumps(value)


def test_held_json_rejects_what_is_not_json_as_orjson_does():
    with pytest.raises(TypeError):
        held_json({"when": object()})


def test_gc_is_paused_inside_and_restored_after_even_on_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with gc_paused():
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()            # it was off before: it stays off
    finally:
        gc.enable()


def test_gc_relaxed_raises_the_young_threshold_and_the_last_to_leave_restores_it():
    import gc
    import threading

    from studio.core.bulk import RELAXED_GEN0, gc_relaxed

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with gc_relaxed():
            assert gc.get_threshold() == (RELAXED_GEN0, 10, 10)
            inside = threading.Event()
            leave = threading.Event()

            def other() -> None:            # a second run in another thread (the TUI's regenerate + run)
                with gc_relaxed():
                    inside.set()
                    leave.wait(5)

            t = threading.Thread(target=other)
            t.start()
            inside.wait(5)
        assert gc.get_threshold() == (RELAXED_GEN0, 10, 10)   # the other run still goes on
        leave.set()
        t.join(5)
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(50_000, 10, 10)                  # never lowered below what the process chose
        with gc_relaxed():
            assert gc.get_threshold()[0] == 50_000
        assert gc.get_threshold() == (50_000, 10, 10)
    finally:
        gc.set_threshold(*before)
