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
