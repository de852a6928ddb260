"""The persistent request cache: never pay twice for the same (model, messages, params, seed).

One SQLite file beside the sessions (``sessions/.cache/requests.sqlite3``), safe for the TUI and a
headless run at once. Writes are buffered and committed in batches, so a cached lookup or a write
costs microseconds on the event loop.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson

FILENAME = "requests.sqlite3"


def request_key(model: str, messages: list[dict], params: dict, seed: int | None, schema: dict | None) -> str:
    blob = orjson.dumps([model, messages, params, seed, schema], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(blob).hexdigest()


class RequestCache:
    def __init__(self, directory: str | Path, *, flush_every: int = 256, flush_seconds: float = 1.0):
        self.path = Path(directory) / FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, created REAL)")
        self._pending: list[tuple[str, bytes, float]] = []
        self._flush_every = flush_every
        self._flush_seconds = flush_seconds
        self._last_flush = time.monotonic()

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            for k, v, _ in self._pending:
                if k == key:
                    return orjson.loads(v)
            return None
        return orjson.loads(row[0])

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._pending.append((key, orjson.dumps(value), time.time()))
        if len(self._pending) >= self._flush_every or time.monotonic() - self._last_flush > self._flush_seconds:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR REPLACE INTO cache (key, value, created) VALUES (?, ?, ?)", rows)
        self._db.execute("COMMIT")
        self._last_flush = time.monotonic()

    def __len__(self) -> int:
        self.flush()
        return self._db.execute("SELECT COUNT(*) FROM cache").fetchone()[0]

    def clear(self) -> int:
        """Forget every cached response; returns how many there were."""
        self._pending.clear()
        n = len(self)
        self._db.execute("DELETE FROM cache")
        self._db.execute("VACUUM")
        return n

    def close(self) -> None:
        self.flush()
        self._db.close()


def clear_cache(directory: str | Path) -> int:
    path = Path(directory) / FILENAME
    if not path.exists():
        return 0
    cache = RequestCache(directory)
    try:
        return cache.clear()
    finally:
        cache.close()
