"""Sessions: TinyDB files under sessions/, journaled so no decision is ever lost (docs/ARCHITECTURE.md)."""

from studio.store.errors import SessionLocked, SessionRecovered, StoreError
from studio.store.session import Session
from studio.store.store import SessionInfo, Store

__all__ = ["Store", "Session", "SessionInfo", "StoreError", "SessionLocked", "SessionRecovered"]
