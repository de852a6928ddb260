"""Store errors: each names the session file and says what to do."""

from __future__ import annotations

from studio.core.errors import StudioError


class StoreError(StudioError):
    """A session that cannot be found, read or written."""


class SessionLocked(StoreError):
    """A write to a session that another studio process holds (`locked_by` is its pid)."""

    def __init__(self, message: str, *, locked_by: int | None = None, **kw):
        self.locked_by = locked_by
        super().__init__(message, **kw)


class SessionRecovered(StoreError):
    """The session file or journal was damaged; what could be read was saved, the damaged file kept.

    Raised once, by the open that did the recovery; opening again continues with what was recovered.
    """

    def __init__(self, message: str, *, recovered: dict | None = None, damaged_path: str = "", **kw):
        self.recovered = recovered or {}
        self.damaged_path = damaged_path
        super().__init__(message, **kw)
