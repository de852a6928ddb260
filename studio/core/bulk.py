"""Helpers for passes over many records at once (export, analysis)."""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import orjson


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC while 100,000 samples' dicts are made or counted: its passes over them cost a third
    of the time, and nothing here makes reference cycles, so nothing is left for it to collect."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


RELAXED_GEN0 = 20_000      # young objects (net) before a collection while a run is going


class _Relaxed:
    depth = 0
    saved: tuple[int, ...] = (700, 10, 10)
    lock = threading.Lock()


@contextmanager
def gc_relaxed(gen0: int = RELAXED_GEN0) -> Iterator[None]:
    """The cyclic GC's youngest generation collected after `gen0` net new objects instead of 700 while a run
    generates (nested and concurrent uses share one setting; the last to leave restores it).

    A run keeps thousands of requests in flight, each a few dozen young objects that live for one round trip:
    at 700 the collector ran every few requests, walking them all and promoting them to older generations to
    walk again, a sixth of a 100,000-sample run's CPU. Nearly everything a run makes dies by reference count;
    the few cycles wait a little longer for the collector."""
    with _Relaxed.lock:
        if _Relaxed.depth == 0:
            _Relaxed.saved = gc.get_threshold()
            gc.set_threshold(max(gen0, _Relaxed.saved[0]), *_Relaxed.saved[1:])
        _Relaxed.depth += 1
    try:
        yield
    finally:
        with _Relaxed.lock:
            _Relaxed.depth -= 1
            if _Relaxed.depth == 0:
                gc.set_threshold(*_Relaxed.saved)


def freeze_heap() -> None:
    """Take every object alive now out of the cyclic GC's passes (`gc.freeze`), for a long-lived process (the
    studio) once a session is loaded or its text index built: a full collection otherwise walks those hundreds
    of thousands of objects again and again, holding the GIL 100-400 ms while a key's frame waits. They are
    still freed by reference count when dropped; only a reference cycle among them is never collected."""
    gc.freeze()


def thaw_heap() -> None:
    """Undo `freeze_heap` (`gc.unfreeze`) when the studio leaves, so what it held (widgets, the index) is
    collected like anything else: several studios in one process (tests) do not keep each other's heaps."""
    gc.unfreeze()


def held_json(value: Any) -> bytes:
    """orjson.dumps, copied to its exact size: for results that are kept (a list of 100,000 lines).

    orjson's result keeps the capacity it grew to (about 8 KB for a 1 KB line here), so holding
    100,000 of them costs 700 MB and half a second of page faults; the copy costs a tenth of that.
    """
    return memoryview(orjson.dumps(value)).tobytes()


def release_memory() -> None:
    """Hand memory freed by a pass back to the OS (glibc keeps freed heap otherwise; best effort, Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
