"""The clean stage's speed trick: a large selection prepared in two processes (the per-sample work is most
of an export's time). Generic over the work, so the clean stage (clean.py) calls it and it imports nothing back.

On Linux, from a process without other threads (the CLI; not the TUI, whose threads a fork would
copy mid-step), a forked child prepares the second half of the samples from the same open session
while this process prepares the first. The child hands back only its columns (a few fields per sample,
signatures, the offsets of the lines it wrote to its own temporary file), not sample dicts. Parts
join in id order and every step depends on one sample, so one process or two give the same
export byte for byte. If the child fails or dies, its half is prepared here instead.
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
import threading
import warnings
from typing import Callable, TypeVar

T = TypeVar("T")

MIN_SAMPLES = 20_000       # below this, forking and copying back cost more than they save


def processes_for(n: int) -> int:
    """How many processes to prepare n samples with: 2 where it is safe and pays, else 1."""
    if n < MIN_SAMPLES or not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return 2 if cores >= 2 else 1


def in_halves(ids: list[int], work: Callable[[list[int], int], T], join: Callable[[T, T], T], *,
              processes: int | None = None) -> T:
    """work(ids, 0), or join(work(first half, 0), work(second half, 1)) with the second half done in a child
    process when it pays (processes_for; `processes` forces the count). `work` learns which half it does, so
    each half can write to a file of its own made before the fork. If the child fails or dies, its half is done
    here instead (its errors then surface here)."""
    if (processes or processes_for(len(ids))) < 2 or len(ids) < 2:
        return work(ids, 0)
    cut = len(ids) // 2
    child = _Child(lambda: work(ids[cut:], 1))
    try:
        first = work(ids[:cut], 0)
        second = child.result()
    finally:
        child.stop()
    if second is None:                       # the child failed: do its half here (errors then surface here)
        second = work(ids[cut:], 1)
    return join(first, second)


class _Child:
    """A forked process running `work` and leaving its pickled result in an unnamed temporary file.

    Not a pipe: on this 2-core VM a pipe moved 73 MB in 0.36 s. Not a memfd mapped here either: its pages
    would sit in this process's memory beside the objects unpickled from them; a file is read a frame at a
    time and its pages stay in the page cache.
    """

    def __init__(self, work: Callable[[], object]):
        with tempfile.TemporaryFile(prefix="studio-export-") as fh:
            self.fd = os.dup(fh.fileno())                   # this descriptor keeps the unnamed file
        with warnings.catch_warnings():
            # Python 3.12+ warns when other OS threads exist: numpy's idle BLAS pool, which the child never uses
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:                                         # the child: never returns
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)   # Ctrl-C ends it quietly
                result = work()
                with open(self.fd, "wb", closefd=False) as fh:     # streamed: no 70 MB bytes object first
                    pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
                code = 0
            except BaseException:                            # the parent redoes the work and reports
                pass
            finally:
                os._exit(code)
        self.pid: int | None = pid

    def result(self):
        """The child's result (once it has finished), or None if it failed or died."""
        if self._reap() != 0:
            return None
        if not os.fstat(self.fd).st_size:
            return None
        with open(self.fd, "rb", closefd=False) as fh:
            fh.seek(0)
            return pickle.load(fh)

    def _reap(self) -> int:
        if self.pid is None:
            return -1
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        return status

    def stop(self) -> None:
        """Kill and reap the child if it still runs (an error or Ctrl-C here); close the file."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
        os.close(self.fd)
