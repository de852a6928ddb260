"""The persistent request cache: never pay twice for the same question to the same server.

One SQLite file beside the sessions (``sessions/.cache/requests.sqlite3``), safe for the TUI and a
headless run at once. The key is a hash of everything that changes an answer: model, endpoint (the
resolved api_base: two vLLM boxes serving one model name answer differently), messages, parameters,
sample seed and schema. Each answer is committed as it arrives — `put` at once, or (the engine's way)
`await store(...)`, which hands it to a writer thread that commits whatever is waiting in one
transaction and resolves the awaits after the commit — so an answer is never handed on before it is on
disk, the event loop never waits for the disk, and a run killed at any moment has paid only for what
was in flight.

Entries written before the endpoint was part of the key (cache format 1, `PRAGMA user_version` 0)
are kept and marked `legacy`: the first request that matches one by the old key takes it over
under its new key, so nobody pays again for an answer they have.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

FILENAME = "requests.sqlite3"
FORMAT = 2                       # PRAGMA user_version of a cache whose keys include the endpoint
GATHER_SECONDS = 0.01            # the writer lets answers gather this long before one commit of them all
GATHER_MAX = 512                 # ... unless this many are already waiting
CHECKPOINT_PAGES = 8192          # WAL pages (32 MB) before the writer copies them into the file (SQLite: 1,000)
_SECRET_QUERY = re.compile(r"(key|token|secret|password|sig|signature|auth|code)", re.I)


class CacheWriteError(Exception):
    """An answer could not be stored: `reason` says why (unencodable text, disk full, locked)."""

    def __init__(self, reason: str, *, unencodable: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.unencodable = unencodable


@lru_cache(maxsize=256)
def clean_endpoint(url: str | None) -> str | None:
    """The endpoint as recorded and keyed: no user:password, no secret-looking query values, no
    trailing slash, scheme and host in lower case. Never carries a key."""
    if not url:
        return None
    text = str(url).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return text.rstrip("/") or None
    if not parts.scheme or not parts.netloc:
        return text.rstrip("/") or None
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _SECRET_QUERY.search(k)])
    return urlunsplit((parts.scheme.lower(), host.lower(), parts.path.rstrip("/"), query, "")) or None


def request_key(model: str, messages: list[dict], params: dict, seed: int | None, schema: dict | None,
                endpoint: str | None = None, extra: dict | None = None) -> str:
    """The cache key (format 2): everything that changes the answer, endpoint included. `extra`: other
    settings sent with the request that may change it (a template's plain extra_headers, e.g. a routing
    header), never a secret; left out of the hash when empty."""
    parts = ["v2", model, clean_endpoint(endpoint), messages, params, seed, schema]
    if extra:
        parts.append(extra)
    blob = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(blob).hexdigest()


def legacy_key(model: str, messages: list[dict], params: dict, seed: int | None, schema: dict | None) -> str:
    """The key format 1 used (no endpoint): how a legacy entry is found."""
    blob = orjson.dumps([model, messages, params, seed, schema], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(blob).hexdigest()


class RequestCache:
    """get / put by key; `put` is durable against a crash of this process when it returns."""

    busy_timeout = 10.0      # seconds a write waits for another process's transaction (TUI + headless run)

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")   # WAL: a commit survives a killed process at once
        self._db.execute("CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, created REAL)")
        self._migrate()
        self._legacy = self._db.execute("SELECT COUNT(*) FROM cache WHERE legacy = 1").fetchone()[0]
        self.errors = 0          # answers that could not be stored (the session still holds them)
        # answers handed to the writer thread and not yet committed: key -> (blob, created, waiters)
        self._waiting: dict[str, tuple[bytes, float, list]] = {}
        self._cv = threading.Condition()
        self._writer: threading.Thread | None = None
        self._idle = False       # the writer waits for an answer (store wakes it; else it is gathering)
        self._closing = False

    def _migrate(self) -> None:
        """Format 1 -> 2: mark the old entries legacy (their keys have no endpoint); adopted on first use."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version >= FORMAT:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]   # another process may have done it
            if version < FORMAT:
                cols = {row[1] for row in self._db.execute("PRAGMA table_info(cache)")}
                if "legacy" not in cols:
                    self._db.execute("ALTER TABLE cache ADD COLUMN legacy INTEGER NOT NULL DEFAULT 0")
                self._db.execute("UPDATE cache SET legacy = 1")
                self._db.execute("CREATE INDEX IF NOT EXISTS cache_legacy ON cache (legacy) WHERE legacy = 1")
                self._db.execute(f"PRAGMA user_version = {FORMAT}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The cached answers of `keys` (committed or waiting for the writer), by key; one query for them all
        (a run looks up a window of requests at once: a query per request was a fifth of its cache cost).
        Legacy entries are not looked at: `get` takes one over."""
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            marks = ",".join("?" * len(part))
            for key, value in self._db.execute(f"SELECT key, value FROM cache WHERE key IN ({marks})", part):
                found[key] = orjson.loads(value)
        if self._waiting:
            for key in keys:
                if key not in found:
                    waiting = self._waiting.get(key)
                    if waiting is not None:
                        found[key] = orjson.loads(waiting[0])
        return found

    def get(self, key: str, legacy: str | None = None) -> dict[str, Any] | None:
        """The cached answer for `key`; else, given the request's `legacy` key, a legacy entry taken over
        under `key` (it then belongs to this endpoint)."""
        row = self._db.execute("SELECT value FROM cache WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return orjson.loads(row[0])
        waiting = self._waiting.get(key)
        if waiting is not None:
            return orjson.loads(waiting[0])
        if legacy is None or self._legacy <= 0:
            return None
        row = self._db.execute("SELECT value, created FROM cache WHERE key = ? AND legacy = 1", (legacy,)).fetchone()
        if row is None:
            return None
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR IGNORE INTO cache (key, value, created, legacy) VALUES (?, ?, ?, 0)",
                             (key, row[0], row[1]))
            self._db.execute("DELETE FROM cache WHERE key = ? AND legacy = 1", (legacy,))
            self._db.execute("COMMIT")
            self._legacy -= 1
        except sqlite3.Error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        return orjson.loads(row[0])

    @staticmethod
    def _encode(value: dict[str, Any]) -> bytes:
        try:
            return orjson.dumps(value)
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise CacheWriteError(f"the reply cannot be stored: {exc}", unencodable=True) from None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store one answer, committed before this returns; raises CacheWriteError (never anything else)."""
        try:
            blob = self._encode(value)
            self._db.execute("INSERT OR REPLACE INTO cache (key, value, created, legacy) VALUES (?, ?, ?, 0)",
                             (key, blob, time.time()))
        except sqlite3.Error as exc:
            self.errors += 1
            raise CacheWriteError(f"the request cache cannot be written: {exc}") from None
        except CacheWriteError:
            self.errors += 1
            raise

    async def store(self, key: str, value: dict[str, Any]) -> str | None:
        """Store one answer and return once it is committed (by the writer thread, with whatever else is
        waiting, in one transaction): None, or why the file could not be written (counted in `errors`).
        Raises CacheWriteError at once for a value that cannot be stored as JSON text. Cancelling the
        await does not cancel the write."""
        try:
            blob = self._encode(value)
        except CacheWriteError:
            self.errors += 1
            raise
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        with self._cv:
            waiting = self._waiting.get(key)
            if waiting is None:
                self._waiting[key] = (blob, time.time(), [(loop, fut)])
            else:
                waiting[2].append((loop, fut))
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="studio-cache-writer", daemon=True)
                self._writer.start()
            if self._idle:       # a busy writer takes this answer with its next batch: no wake-up to pay
                self._cv.notify()
        return await fut

    def _write_loop(self) -> None:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=NORMAL")
        # each answer dirties a page of the key index at random: at SQLite's 1,000 pages a run checkpointed (and
        # fsynced) every few hundred answers; SQLite folds the WAL into the file when the last connection closes
        db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
        try:
            while True:
                with self._cv:
                    while not self._waiting and not self._closing:
                        self._idle = True
                        self._cv.wait()
                        self._idle = False
                    if not self._waiting and self._closing:
                        return
                    gather = not self._closing and len(self._waiting) < GATHER_MAX
                if gather:
                    # answers arriving together share one transaction: a commit per answer cost more than
                    # the answer's whole trip through the engine (each waits GATHER_SECONDS at most)
                    time.sleep(GATHER_SECONDS)
                with self._cv:
                    batch = list(self._waiting.items())
                reason = None
                try:
                    db.execute("BEGIN IMMEDIATE")
                    db.executemany("INSERT OR REPLACE INTO cache (key, value, created, legacy) VALUES (?, ?, ?, 0)",
                                   [(k, blob, created) for k, (blob, created, _) in batch])
                    db.execute("COMMIT")
                except sqlite3.Error as exc:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    reason = f"the request cache cannot be written: {exc}"
                with self._cv:
                    for k, entry in batch:
                        if self._waiting.get(k) is entry:
                            del self._waiting[k]
                    if reason is not None:
                        self.errors += len(batch)
                    self._cv.notify_all()       # flush() waits for this
                by_loop: dict[Any, list] = {}
                for _, (_, _, waiters) in batch:
                    for loop, fut in waiters:
                        by_loop.setdefault(loop, []).append(fut)
                for loop, futs in by_loop.items():
                    try:
                        loop.call_soon_threadsafe(_resolve, futs, reason)
                    except RuntimeError:
                        pass                    # that loop is closed: nobody waits any more
        finally:
            db.close()

    def flush(self) -> None:
        """Wait until every answer handed to `store` is committed."""
        with self._cv:
            while self._waiting and self._writer is not None and self._writer.is_alive():
                self._cv.wait(1.0)

    @property
    def legacy(self) -> int:
        """Entries from before the endpoint was keyed that no request has taken over yet."""
        return self._legacy

    def __len__(self) -> int:
        self.flush()
        return self._db.execute("SELECT COUNT(*) FROM cache").fetchone()[0]

    def clear(self) -> int:
        """Forget every cached response; returns how many there were."""
        n = len(self)
        self._db.execute("DELETE FROM cache")
        self._db.execute("VACUUM")
        self._legacy = 0
        return n

    def close(self) -> None:
        """Close the database once every stored answer is committed."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        if self._writer is not None:
            self._writer.join(30)
        self._db.close()


def _resolve(futs: list, reason: str | None) -> None:
    for fut in futs:
        if not fut.done():
            fut.set_result(reason)


def clear_cache(directory: str | Path) -> int:
    """Delete every cached answer under `directory` (the workspace's sessions/.cache); returns how many (0
    when there is no cache)."""
    path = Path(directory) / FILENAME
    if not path.exists():
        return 0
    cache = RequestCache(directory)
    try:
        return cache.clear()
    finally:
        cache.close()
