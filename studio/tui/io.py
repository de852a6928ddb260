"""One thread that does every session read and write, in order, off the UI thread.

Keys change the screen at once (optimistically) and queue the write here, so a keystroke never waits
for the disk, and writes land in the order they were made (undo depends on it).
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable

from studio.core.errors import StudioError
from studio.tui.guard import said
from studio.tui.messages import JobDone, JobFailed


class SessionIO:
    def __init__(self, target) -> None:
        self._target = target  # a Textual message pump (the app) to post results to
        self._queue: queue.Queue = queue.Queue()
        self._mu = threading.Lock()
        self._outstanding = 0  # jobs submitted and not finished (queued or running)
        self._thread = threading.Thread(target=self._loop, name="studio-session-io", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None] | None = None,
               **kwargs: Any) -> None:
        with self._mu:
            self._outstanding += 1
        self._queue.put((fn, args, kwargs, done))

    @property
    def idle(self) -> bool:
        """No job queued or running: what the store answers now includes every write asked for so far."""
        return self._outstanding == 0

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued job has run (used before quitting and in tests)."""
        event = threading.Event()
        self.submit(event.set)
        return event.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            fn, args, kwargs, done = job
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - a failed write must be reported (App.on_job_failed), never crash
                title = "Cannot do that" if isinstance(exc, StudioError) else "Session error"
                self._target.post_message(JobFailed(said(exc), title=title, error=exc,
                                                    where=f"session job {getattr(fn, '__qualname__', fn)!r}"))
            else:
                if done is not None:
                    self._target.post_message(JobDone(done, result))
            finally:
                with self._mu:
                    self._outstanding -= 1
