"""Messages that carry results from worker threads to the UI (workers only post; handlers change widgets)."""

from __future__ import annotations

from typing import Any, Callable

from textual.message import Message


class JobDone(Message):
    """A session job finished; run its callback on the UI thread."""

    def __init__(self, callback: Callable[[Any], None], result: Any) -> None:
        super().__init__()
        self.callback = callback
        self.result = result


class JobFailed(Message):
    """A job failed; shown as a notification. With `error`, the App reports it (guard.report: a bug leaves a
    crash report); `where` says what was running."""

    def __init__(self, text: str, title: str = "Error", *, error: BaseException | None = None,
                 where: str = "") -> None:
        super().__init__()
        self.text = text
        self.title = title
        self.error = error
        self.where = where


class SamplesAdded(Message):
    """New samples are in the session. Bursts merge into one message so a fast run stays smooth."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__()
        self.ids = list(ids)

    def can_replace(self, message: Message) -> bool:
        if isinstance(message, SamplesAdded):
            message.ids = self.ids + message.ids
            return True
        return False


class RunProgress(Message):
    """Counters of the running generation; only the newest matters."""

    def __init__(self, stats: dict[str, Any]) -> None:
        super().__init__()
        self.stats = stats

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunProgress)


class RunFinished(Message):
    def __init__(self, stats: dict[str, Any], error: str | None = None) -> None:
        super().__init__()
        self.stats = stats
        self.error = error


class SessionReady(Message):
    """The session is loaded and on screen (tests and the benchmark wait for it)."""
