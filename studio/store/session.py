"""One curation session: TinyDB files (NAME.json, NAME.samples/ segments) plus a write-ahead journal, indexed in memory.

Every change is appended to NAME.journal and fsynced before the call returns (durable against
SIGKILL); the journal is folded into the files when it grows and on close: each segment that
changed and NAME.json by atomic replace (studio.store.snapshot).
Review actions (accept, reject, status, tag, note, bulk) are undoable; undo is itself journaled.
All methods are thread-safe (one lock), so a generation worker and the review keys can share it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from studio.core.bulk import gc_relaxed, held_json
from studio.core.files import fsync_dir
from studio.store import interrupted, journal, snapshot
from studio.store.errors import SessionLocked, SessionRecovered, StoreError
from studio.store.index import SampleIndex
from studio.store.lock import SessionLock
from studio.store.textindex import SEARCHED, TextIndex, ascii_sources, fold, search_texts
from studio.store.names import SessionFiles
from studio.core.cost import Cost
from studio.core.record import SAMPLE_FIELDS, STATUSES, index_fields, new_sample, repair_sample, sample_ok
from studio.core.record import scrub_params as scrub
from studio.store.schema import DEFAULT_LABELS, SCHEMA_VERSION, TABLES, describe_foreign, migrate, schema_of

TEXT_INDEX_BUDGET = 256 << 20  # searched text a text index may hold (it takes ~twice that): past it, filters scan
JOURNAL_LIMIT = 64 << 20      # fold the journal into the TinyDB file beyond this many bytes ...
OVERLAY_LIMIT = 64 << 20      # ... or when this much sample JSON is held in memory
UNDO_DEPTH = 1000
BULK_CHUNK = 1000             # samples per journal write in bulk actions (bounds memory)
READ_BATCH = 2048             # samples per lock hold when streaming
READ_GAP = 16 << 10           # bytes between stored samples read through rather than a second pread
READ_SPAN = 8 << 20           # at most this many bytes per pread
_HEAD_END = b',"messages":'
HEAD_FIELDS = frozenset(SAMPLE_FIELDS[:SAMPLE_FIELDS.index("messages")])   # template ... persona
INDEXED_FIELDS = {"status": "st", "template": "tp", "template_version": "v", "cost": "co", "created": "c",
                  "reviewed": "r", "latency": "la", "tags": None}        # field -> index column
_MISSING = object()           # "the field was absent" in an undo step


def _can_create_files(folder: Path) -> bool:
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".probe-", suffix=".tmp")
    except OSError:
        return False
    os.close(fd)
    os.unlink(tmp)
    return True


def _trim_memory() -> None:
    """Hand the memory a fold freed back to the OS (glibc keeps it otherwise); best effort."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _fold_failed(path: Path, exc: OSError) -> StoreError:
    return StoreError(f"cannot rewrite the session file: {exc.strerror or exc}", path=path,
                      hint="free disk space or fix permissions; nothing is lost, "
                           "the journal beside it keeps every change")


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _parse(sid: int, blob: tuple) -> dict:
    buf, a, b = blob
    doc = orjson.loads(memoryview(buf)[a:b] if a or b != len(buf) else buf)     # a view: no copy of the slice
    doc["id"] = sid
    return doc


def _parse_head(sid: int, blob: tuple, wanted: set[str]) -> dict:
    """The fields stored before the messages, parsed without the rest of the JSON text.

    Records keep the key order of `new_sample`. The cut at `,"messages":` is trusted only when
    the head then parses with one closing brace (so it was at the top level, not inside a nested
    value) and holds every wanted field; otherwise the whole sample is parsed.
    """
    buf, a, b = blob
    i = buf.find(_HEAD_END, a, b)
    if i > 0:
        try:
            doc = orjson.loads(buf[a:i] + b"}")
        except orjson.JSONDecodeError:
            doc = None
        if type(doc) is dict and wanted <= doc.keys():
            doc["id"] = sid
            return doc
    return _parse(sid, blob)


class Session:
    """Open through `Store.open` / `Store.create`; close (or use `with`) to release the lock."""

    def __init__(self, files: SessionFiles, *, read_only: bool = False, create_meta: dict | None = None):
        self.files = files
        self.name = files.name
        self.path = files.json
        self.locked_by: int | None = None
        self.read_only_reason = ""
        self.migrated_from: int | None = None
        self.fold_error: StoreError | None = None     # the last failed automatic fold (nothing lost)
        self._mu = threading.RLock()
        self._deferred: list[bytes] | None = None   # journal records held back by fold_inbox
        self._tables: dict[str, dict[int, dict]] = {t: {} for t in TABLES}
        self._files = snapshot.Files()              # read descriptors: NAME.json and each segment
        self._dirty: set[int] = set()               # segments to rewrite at the next fold (edited by hand, damaged)
        self._per = snapshot.SEGMENT_SAMPLES
        self._damaged_path = files.json
        self.hand_edits: list[str] = []             # what this open found wrong in files edited by hand (and fixed)
        self._edited: dict[Path, None] = {}         # the files those were in (kept beside when the open writes)
        self._index = SampleIndex(self._pread)
        self._text: TextIndex | None = None             # the studio's text search (build_text_index); None: scan
        self._text_building: TextIndex | None = None
        self._text_skipped = False                      # past TEXT_INDEX_BUDGET: text filters scan the files
        self._journal: journal.JournalWriter | None = None
        self._undo: list[dict[int, dict]] = []              # steps: {id: previous values of changed fields}
        self._run_ids: dict[str, int] = {}
        self._fold_thread: threading.Thread | None = None
        self._closed = False
        self.interrupted_runs: list[str] = []          # runs this open found dead and marked interrupted
        self._lock = SessionLock(files.lock)
        if read_only:
            self.read_only_reason = "opened read-only"
        elif not self._lock.acquire():
            if self._lock.unwritable:
                self.read_only_reason = f"the folder {files.folder} cannot be written"
            else:
                self.locked_by = self._lock.holder
                self.read_only_reason = f"another studio process (pid {self.locked_by}) has it open"
        elif not _can_create_files(files.folder):     # folding needs new files beside the session
            self._lock.release()
            self.read_only_reason = f"the folder {files.folder} cannot be written"
        self.read_only = not self._lock.held
        try:
            if create_meta is not None:
                self._create(create_meta)
            self._load()
            if not self.read_only:
                self.interrupted_runs += interrupted.mark_interrupted(self)   # runs a crash left `running`
        except BaseException:
            self._release()
            raise

    # ---------------------------------------------------------------- opening

    def _create(self, meta: dict) -> None:
        if self.read_only:
            if self.locked_by:
                raise SessionLocked(f"session {self.name!r} is open in another studio process (pid {self.locked_by})",
                                    path=self.path, locked_by=self.locked_by, hint="choose another name")
            raise StoreError(f"cannot create session {self.name!r}: {self.read_only_reason}", path=self.path,
                             hint="run from a folder you can write to, or set STUDIO_HOME")
        if self.path.exists():
            raise StoreError(f"session {self.name!r} already exists", path=self.path,
                             hint="open it, or choose another name")
        for stale in (self.files.journal_old, self.files.journal, self.files.index):
            stale.unlink(missing_ok=True)
        doc = {"name": self.name, "created": time.time(), "model": None, "labels": list(DEFAULT_LABELS),
               "schema_version": SCHEMA_VERSION}
        doc["segment_samples"] = snapshot.SEGMENT_SAMPLES
        doc.update({k: v for k, v in meta.items() if v is not None})
        shutil.rmtree(self.files.segments, ignore_errors=True)     # a deleted session's leftovers
        head_len, offs, lens = snapshot.write(self.path, {"meta": {"1": doc}}, [])
        opened = snapshot.Files({0: snapshot.open_fd(self.path)})
        try:
            snapshot.write_index(self.files.index, head_len, SampleIndex().dump(0, offs, lens), opened)
        finally:
            opened.close()

    def _load(self) -> None:
        for _attempt in range(3):
            before = self._stat()
            problem = self._load_once()
            if self.read_only and self._stat() != before:
                continue                      # the writer folded its journal meanwhile: read again
            break
        damaged_file, salvage_bad, jr = problem
        if not self.read_only:
            for name in (self.path.name, self.files.index.name):       # a fold that was killed
                for leftover in self.files.folder.glob(f".{name}.*.tmp"):
                    leftover.unlink(missing_ok=True)
            for leftover in self.files.segments.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)
            self._journal = journal.JournalWriter(self.files.journal, truncate_to=jr.good_bytes)
        if damaged_file is not None or jr.damaged:
            self._recovered(damaged_file, salvage_bad, jr)
        edited = self._keep_edited() if self.hand_edits and not self.read_only else None
        if not self.read_only and (self.migrated_from is not None or self._needs_fold):
            if self.migrated_from is not None:
                backup = self.path.with_name(f"{self.path.name}.v{self.migrated_from}-backup")
                if not backup.exists():
                    try:
                        os.link(self.path, backup)     # the old file itself: the fold replaces NAME.json, never edits it
                    except OSError:
                        shutil.copy2(self.path, backup)
            self.compact(full=self.migrated_from is not None)
        if edited is not None:
            self._fixed_hand_edits(edited)
        if not self.read_only:
            self.fold_inbox()  # what guests added while another process held the session

    def _stat(self) -> tuple:
        try:
            st = os.stat(self.path)
            return (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            return ()

    def _load_once(self):
        self._tables = {t: {} for t in TABLES}
        self._index = SampleIndex(self._pread)
        self._text = self._text_building = None         # (a read-only view reloading) built again on demand
        self._needs_fold = self._needs_index = False
        self._dirty = set()
        self.migrated_from = None
        self.hand_edits, self._edited = [], {}
        self._files.close()
        damaged: str | None = None
        salvage_bad = 0
        segments = len(snapshot.segment_files(self.files))
        if segments > 200:
            snapshot.room_for(segments)
        loaded = snapshot.read_fast(self.files, self._index)
        if loaded is not None and schema_of(loaded.tables) != SCHEMA_VERSION:
            loaded.files.close()                  # an index written for a file of an older schema
            loaded = None
            self._index = SampleIndex(self._pread)
        if loaded is None:
            loaded, damaged, salvage_bad = self._read_files()
        self._files = loaded.files
        self._files.where = self.files
        for table in TABLES:
            self._tables[table] = {int(k): v for k, v in (loaded.tables.get(table) or {}).items()}
        meta = self._tables["meta"].get(1) or {}
        self._per = int(meta.get("segment_samples") or snapshot.SEGMENT_SAMPLES)
        ix = self._index
        if self._needs_index and not ix.overlay and self.migrated_from is None:     # the files are fine, only the cache was missing or old:
            # written by a read-only view too (a cache, valid only for the files' identities it names)
            snapshot.write_index(self.files.index, loaded.head_len, ix.dump(len(ix), ix.off, ix.size), self._files)
        old = journal.read(self.files.journal_old)        # a fold that did not finish
        jr = journal.read(self.files.journal)
        if old.ops or old.damaged or self.files.journal_old.exists():
            self._needs_fold = True
        if old.damaged:
            jr.bad_lines, jr.damaged_path = old.bad_lines, self.files.journal_old
        for header, raw in old.ops + jr.ops:
            self._apply(header["t"], int(header["id"]), raw, header.get("ix"))
        self._run_ids = {r.get("run_id"): i for i, r in self._tables["runs"].items()}
        return damaged, salvage_bad, jr

    def _read_files(self) -> tuple[snapshot.Loaded, str | None, int]:
        """Read NAME.json and the segments without NAME.index: our own layout line by line (samples stay in the
        files), else whole (written by plain TinyDB, schema 1), else salvaged (damaged) -> (loaded, what was
        damaged, unreadable lines). Samples read whole are held in memory and their segments marked to rewrite."""
        self._damaged_path = self.path
        put = self._index.put
        opened = snapshot.Files()
        damaged: str | None = None
        salvage_bad = 0
        got: snapshot.Loaded | None = None
        fields, checked, said = self._checked(put, lambda: None)
        try:
            got = snapshot.read_lines(self.path, fields, checked)
            for what in said:
                self._hand_edit(self.path, what)
        except FileNotFoundError:
            raise StoreError(f"no session named {self.name!r}", path=self.path,
                             hint="`studio sessions` lists the sessions") from None
        except PermissionError as exc:
            raise StoreError(f"cannot read the session file: {exc.strerror}", path=self.path,
                             hint="check the file's permissions") from None
        except ValueError:
            got = None                         # damaged: the whole read below says how, then salvages
        version = None if got is None else schema_of(got.tables)
        if got is not None and version not in (2, SCHEMA_VERSION):
            os.close(got.fd)
            got = None
        if got is not None:                    # schema 2 has its samples in NAME.json: read where they are
            opened.put(0, got.fd)
            tables, head_len = got.tables, got.head_len
            if version != SCHEMA_VERSION:
                self.migrated_from = version
                meta = tables["meta"]["1"]
                meta.update(schema_version=SCHEMA_VERSION, segment_samples=snapshot.SEGMENT_SAMPLES)
            if len(self._index):               # samples in NAME.json: moved into segments by the next fold
                self._needs_fold = True
            self._needs_index = True
        else:
            self._index = SampleIndex(self._pread)
            put = self._index.put
            head_len = 0
            data: Any
            try:
                data = snapshot.read_whole(self.path)
            except PermissionError as exc:
                raise StoreError(f"cannot read the session file: {exc.strerror}", path=self.path,
                                 hint="check the file's permissions") from None
            except (ValueError, orjson.JSONDecodeError) as exc:
                damaged = str(exc).split("\n")[0] or "not valid JSON"
                tables_, samples_, salvage_bad = snapshot.salvage(self.path)
                data = {**tables_, "samples": {str(k): v for k, v in samples_.items()}}
                if schema_of(data) is None:   # the head did not survive: start the meta again
                    data["meta"] = {"1": {"name": self.name, "created": time.time(), "model": None,
                                          "labels": list(DEFAULT_LABELS), "schema_version": SCHEMA_VERSION,
                                          "segment_samples": snapshot.SEGMENT_SAMPLES}}
            version = schema_of(data)
            if version is None:
                raise StoreError(f"not a Template Studio session: {describe_foreign(data)}", path=self.path,
                                 hint="move the file out of the sessions folder, or use another session name")
            if version > SCHEMA_VERSION:
                raise StoreError(f"the session was written by a newer studio (schema {version}, "
                                 f"this one reads up to {SCHEMA_VERSION})", path=self.path,
                                 hint="upgrade template-studio to open it")
            if version < SCHEMA_VERSION:
                data = migrate(data, version)
                data["meta"]["1"]["segment_samples"] = snapshot.SEGMENT_SAMPLES
                self.migrated_from = version
            assert isinstance(data, dict)
            samples = data.pop("samples", None) or {}
            data.pop("_default", None)
            tables = data
            self._hold(samples, put, self.path)
            self._needs_fold = True
        per = int((tables.get("meta") or {}).get("1", {}).get("segment_samples") or snapshot.SEGMENT_SAMPLES)
        self._dirty.update({(sid - 1) // per for sid in self._index.sid})   # samples in NAME.json go to segments
        if self.migrated_from is None:         # schema 3: the samples are in the segments (in an older file they
            strays: list[tuple] = []           # are all in NAME.json; segment files beside it are a killed migration's)
            if len(self._index):               # samples put in NAME.json by hand: placed after the segments' own
                strays += self._take_all(opened if got is not None else None)
            for k, path in snapshot.segment_files(self.files).items():
                damaged_seg = self._read_segment(k, path, opened, per, strays)
                if damaged_seg is not None and damaged is None:
                    damaged, salvage_bad = damaged_seg
                    self._damaged_path = path
            self._place_strays(strays, opened, per)
        return snapshot.Loaded(tables=tables, head_len=head_len, files=opened), damaged, salvage_bad

    def _hold(self, samples: dict, put, path: Path) -> None:
        """Samples read whole (a plain TinyDB file, a salvage): held in memory until the next fold. A file read
        whole was written by hand (or an older studio): each sample is checked against the record
        (core.record.repair_sample) and what was wrong is said on open (`hand_edits`), never taken in garbled."""
        got = []
        for key, doc in samples.items():
            if not str(key).isdigit():
                self._hand_edit(path, f"key {str(key)[:40]!r} in the samples table is not a sample id — left out "
                                      "(use TinyDB's insert, which numbers samples)")
            elif not isinstance(doc, dict):
                self._hand_edit(path, f"sample {key}: not a JSON object — left out")
            else:
                doc.pop("id", None)
                for problem in repair_sample(doc):
                    self._hand_edit(path, f"sample {key}: {problem}")
                got.append((int(key), doc))
        got.sort(key=lambda s: s[0])
        for sid, doc in got:
            put(sid, index_fields(doc), held_json(doc))

    def _checked(self, put: Callable, fixed_one: Callable[[], Any]) -> tuple[Callable, Callable, list[str]]:
        """read_lines callbacks that check each sample against the record (a file in the studio's layout edited
        with a text editor or sed): a sample repair_sample had to fix is held in memory, fixed (`fixed_one` marks
        its file to rewrite) -> (index fields, put, what was fixed: said by the caller once the read succeeded)."""
        fixed: list[tuple[dict, list[str]]] = []
        said: list[str] = []

        def fields(doc: dict) -> dict:
            if not sample_ok(doc):
                problems = repair_sample(doc)
                if problems:
                    fixed.append((doc, problems))
            return index_fields(doc)

        def checked(sid: int, ix: dict, raw: bytes | None, off: int = 0, size: int = 0) -> None:
            if fixed:
                doc, problems = fixed.pop()
                said.extend(f"sample {sid}: {p}" for p in problems)
                fixed_one()
                self._needs_fold = True
                put(sid, ix, held_json(doc))
                return
            put(sid, ix, raw, off, size)
        return fields, checked, said

    def _hand_edit(self, path: Path, what: str) -> None:
        self.hand_edits.append(f"{self._rel(path)}: {what}")
        self._edited[path] = None

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.files.folder)) if path.is_relative_to(self.files.folder) else str(path)

    def _take_all(self, opened: snapshot.Files | None) -> list[tuple]:
        """Every sample read so far (from NAME.json), taken out of the index as strays (code 0)."""
        ix, out = self._index, []
        for p, sid in enumerate(ix.sid):
            raw = ix.overlay.get(sid)
            if raw is None and opened is not None:
                raw = opened.read(ix.off[p], ix.size[p])
            if raw is not None:
                out.append((self.path, sid, raw))
        self._index = SampleIndex(self._pread)
        return out

    def _place_strays(self, strays: list[tuple], opened: snapshot.Files, per: int) -> None:
        """Samples found in a file their id does not belong to (TinyDB numbers inserts per file: a sample inserted
        into segment 0 of a full session gets an id segment 1 holds): each goes to the segment of its id, or,
        when that id is taken, to a new id after the last, and the open says so. Never dropped."""
        next_id = max([self._index.max_id] + [s[1] for s in strays]) + 1
        for path, sid, raw in strays:
            if isinstance(raw, tuple):                     # (place, size) in a file read line by line
                raw = opened.read(*raw)
            ix = index_fields(orjson.loads(raw))
            self._dirty.add((sid - 1) // per)
            if sid in self._index:
                new, next_id = next_id, next_id + 1
                self._hand_edit(path, f"sample {sid}: its id belongs to segment {(sid - 1) // per:05d}.json and is "
                                      f"taken there (TinyDB numbers inserts per file) — kept as sample {new}")
                sid = new
                self._dirty.add((sid - 1) // per)
            self._index.put(sid, ix, raw)
            self._needs_fold = True

    def _read_segment(self, k: int, path: Path, opened: snapshot.Files, per: int,
                      strays: list[tuple]) -> tuple[str, int] | None:
        """Read segment `k` into the index -> (what is damaged, unreadable lines) when it is damaged. Samples whose
        id belongs to another segment are added to `strays` (placed after every segment is read)."""
        index_put, dirty, lo, hi = self._index.put, self._dirty, k * per + 1, (k + 1) * per

        def put(sid: int, ix: dict, raw: bytes | None, off: int = 0, size: int = 0) -> None:
            if not lo <= sid <= hi:             # put there by hand: the fold moves it to the segment of its id
                dirty.add(k)
                strays.append((path, sid, raw if raw is not None else (off, size)))
                return
            index_put(sid, ix, raw, off, size)
        n_strays = len(strays)
        fields, checked, said = self._checked(put, lambda: dirty.add(k))
        try:
            got = snapshot.read_lines(path, fields, checked, code=k + 1)
        except PermissionError as exc:
            raise StoreError(f"cannot read the session file: {exc.strerror}", path=path,
                             hint="check the file's permissions") from None
        except ValueError:
            got = None
        if got is not None:
            opened.put(k + 1, got.fd)
            for what in said:
                self._hand_edit(path, what)
            return None
        del strays[n_strays:]                  # read again below, held
        self._dirty.add(k)                     # edited by hand or damaged: held in memory, rewritten at the fold
        self._needs_fold = True
        try:
            data = snapshot.read_whole(path)
            if not isinstance(data, dict) or not isinstance(data.get("samples", {}), dict):
                raise ValueError("not a TinyDB file with a samples table")
            self._hold(data.get("samples") or {}, put, path)
            return None
        except (ValueError, orjson.JSONDecodeError) as exc:
            _tables, samples, bad = snapshot.salvage(path)
            self._hold(samples, put, path)
            return str(exc).split("\n")[0] or "not valid JSON", bad

    def _keep_edited(self) -> list[str]:
        """Keep each file a hand edit left wrong beside it as it was (`FILE.edited-TIMESTAMP`, a hard link: the
        fold replaces the file, never edits it) -> their names."""
        stamp = _stamp()
        kept = []
        for path in self._edited:
            beside = path.with_name(f"{path.name}.edited-{stamp}")
            try:
                os.link(path, beside)
            except FileExistsError:
                pass
            except OSError:
                shutil.copy2(path, beside)
            kept.append(self._rel(beside))
        return kept

    def _fixed_hand_edits(self, kept: list[str]) -> None:
        """Say what a hand edit left wrong and how it was made safe, once (the session is written in the
        studio's layout by then): SessionRecovered lists every problem with its file and sample id and names
        the files kept as edited; opening again continues."""
        self._release()
        lines = self.hand_edits
        shown = lines[:20] + ([f"… and {len(lines) - 20} more"] if len(lines) > 20 else [])
        raise SessionRecovered(f"{len(lines)} problem{'s' if len(lines) != 1 else ''} in files edited by hand, "
                               "made safe (README: Sessions, hand edits):\n  " + "\n  ".join(shown)
                               + f"\nthe files as edited are kept as {', '.join(kept)}",
                               path=self.path, damaged_path=kept[0] if kept else "",
                               recovered={"samples": len(self._index), "runs": len(self._tables["runs"]),
                                          "templates": len(self._tables["templates"]),
                                          "hand_edits": list(lines)},
                               hint="open the session again to continue")

    def _recovered(self, damaged_file: str | None, salvage_bad: int, jr: journal.JournalRead) -> None:
        n = len(self._index)
        what = (f"{n} samples, {len(self._tables['runs'])} runs, "
                f"{len(self._tables['templates'])} template versions")
        if damaged_file is not None:
            problem = f"the session file is damaged ({damaged_file}; {salvage_bad} unreadable lines)"
            damaged_path = self._damaged_path
        else:
            damaged_path = getattr(jr, "damaged_path", self.files.journal)
            problem = f"the journal is damaged (lines {', '.join(map(str, jr.bad_lines[:5]))} unreadable)"
        if self.read_only:
            raise StoreError(f"{problem}; {what} can be recovered", path=damaged_path,
                             hint="open the session where it can be written to recover it (the damaged file is kept)")
        kept = damaged_path.with_name(f"{damaged_path.name}.damaged-{_stamp()}")
        if damaged_file is not None:
            os.replace(damaged_path, kept)       # keep it beside; the recovered session takes its name
        else:
            shutil.copy2(damaged_path, kept)
        self.compact()
        self._release()
        also = "".join(f"\n  {line}" for line in self.hand_edits[:20])
        raise SessionRecovered(f"{problem}; recovered {what}; the damaged file is kept as {kept.name}{also}",
                               path=damaged_path, damaged_path=str(kept),
                               recovered={"samples": n, "runs": len(self._tables["runs"]),
                                          "templates": len(self._tables["templates"])},
                               hint="open the session again to continue with what was recovered")

    # ---------------------------------------------------------------- writing

    def _apply(self, table: str, sid: int, raw: bytes | None, ix: dict | None, doc: dict | None = None,
               text: bool = True) -> None:
        if table == "samples":
            if ix is None or "fu" not in ix:          # "fu" missing: a journal written before index format 3
                ix = index_fields(orjson.loads(raw))
            self._index.put(sid, ix, raw)
            if not text:                              # searched fields unchanged: the text index holds them
                return
            if self._text is not None:
                self._text.put(sid, doc if doc is not None else orjson.loads(raw))
                if self._text.text_bytes > TEXT_INDEX_BUDGET:   # grown past its budget: filters scan again
                    self._text, self._text_skipped = None, True
            elif self._text_building is not None:
                self._text_building.dirty.add(sid)
        elif table in self._tables:
            self._tables[table][sid] = doc if doc is not None else orjson.loads(raw)

    def _writable(self) -> None:
        if self._closed:
            raise StoreError(f"session {self.name!r} is closed", path=self.path, hint="open it again")
        if self.read_only:
            if self.locked_by:
                raise SessionLocked(f"session {self.name!r} is read-only here: {self.read_only_reason}",
                                    path=self.path, locked_by=self.locked_by,
                                    hint="close the other studio (or review in it), then reopen")
            raise StoreError(f"session {self.name!r} is read-only here: {self.read_only_reason}", path=self.path,
                             hint="reopen it without read_only from a folder you can write to")

    def _commit(self, ops: list[tuple[str, int, Any]], same_text: set[int] | None = None) -> list[int]:
        """Journal the puts (durable on return), then apply them in memory. `same_text`: samples whose searched
        fields did not change (a verdict, a tag), which the text index keeps as they are."""
        self._writable()
        encoded = []
        for table, sid, doc in ops:
            try:
                raw = held_json(doc)
            except TypeError as exc:
                raise StoreError(f"cannot save to {table} of session {self.name!r}: {exc}", path=self.path,
                                 hint="values must be JSON: str, int, float, bool, None, list, dict") from None
            ix = None
            if table == "samples":
                ix = index_fields(doc)                # raw is a tight copy already (held_json)
            header = {"t": table, "id": sid, "ix": ix} if ix is not None else {"t": table, "id": sid}
            encoded.append((table, sid, doc, raw, ix, journal.encode(header, raw)))
        if self._deferred is not None:  # fold_inbox: one journal write for a guest's lines and the progress
            self._deferred.extend(e[5] for e in encoded)
            for table, sid, doc, raw, ix, _ in encoded:
                self._apply(table, sid, raw, ix, doc)
            return [e[1] for e in encoded]
        try:
            self._journal.append(b"".join(e[5] for e in encoded))
        except OSError as exc:
            raise StoreError(f"cannot write the session journal: {exc.strerror}", path=self.files.journal,
                             hint="free disk space or fix permissions; the last action was not saved") from None
        for table, sid, doc, raw, ix, _ in encoded:
            self._apply(table, sid, raw, ix, doc, text=same_text is None or sid not in same_text)
        return [e[1] for e in encoded]

    def _maybe_fold(self) -> None:
        """Fold in the background when the journal is big; a failure loses nothing (the journal has it)."""
        if self._fold_thread is not None:
            return
        if self._journal.size > JOURNAL_LIMIT or self._index.overlay_bytes > OVERLAY_LIMIT:
            try:
                self._start_fold()
            except (OSError, StoreError) as exc:
                self.fold_error = exc if isinstance(exc, StoreError) else _fold_failed(self.path, exc)

    def _start_fold(self) -> None:
        """Rotate the journal to NAME.journal.1, copy the index, write NAME.json in a thread.

        Reviewing goes on meanwhile: new actions go to a fresh NAME.journal; samples changed
        during the fold stay in memory and are folded next time.
        """
        if self.files.journal_old.exists():       # an earlier fold failed: fold everything now
            self.compact()
            return
        self._journal.close()
        try:
            os.replace(self.files.journal, self.files.journal_old)
            fsync_dir(self.files.folder)
        finally:
            self._journal = journal.JournalWriter(self.files.journal)
        frozen = self._index.freeze(copy=False)
        tables = {t: {str(k): v for k, v in docs.items()} for t, docs in self._tables.items()}
        src = self._files.dup()
        dirty, self._dirty = self._dirty, set()
        self._fold_thread = threading.Thread(target=self._fold_in_background, args=(frozen, tables, src, dirty),
                                             name=f"fold {self.name}", daemon=True)
        self._fold_thread.start()

    def _fold_in_background(self, frozen, tables: dict, src: snapshot.Files, dirty: set[int]) -> None:
        try:
            placed = self._write_files(frozen, tables, src.read, dirty)
            with self._mu:
                self._switch_files(frozen, placed)
                self.files.journal_old.unlink(missing_ok=True)
                fsync_dir(self.files.folder)
            del frozen, tables, placed
            _trim_memory()
        except (OSError, StoreError) as exc:
            self.fold_error = exc if isinstance(exc, StoreError) else _fold_failed(self.path, exc)
            with self._mu:
                self._index.thaw()
                self._dirty |= dirty
        finally:
            src.close()
            self._fold_thread = None

    def _write_files(self, frozen, tables: dict, read_raw, dirty: set[int] | None) -> snapshot.Placed:
        self._files.check()      # a file edited in place meanwhile: fold nothing from it (the journal keeps all)
        try:
            return snapshot.write_session(self.files, tables, frozen, read_raw, dirty, self._per)
        except OSError as exc:
            raise _fold_failed(self.path, exc) from None

    def _switch_files(self, frozen, placed: snapshot.Placed) -> None:
        """Read the new files from now on; NAME.index describes them (written here, under the lock: the columns
        are not copied for it, only their bytes streamed)."""
        for code in placed.written:
            self._files.put(code, snapshot.open_fd(snapshot.file_of(self.files, code)))
        for code in placed.removed:
            self._files.put(code, None)
        ix = self._index
        ix.relocate(frozen, placed.off, placed.size, self._pread)
        if ix.inserts == frozen.inserts:
            snapshot.write_index(self.files.index, placed.head_len, ix.dump(frozen.n, placed.off, placed.size),
                                 self._files)
        else:                                  # rows moved meanwhile (ids added out of order): rebuilt on open
            self.files.index.unlink(missing_ok=True)

    def wait_for_fold(self) -> None:
        """Wait for a background fold to finish (close() does this)."""
        t = self._fold_thread
        if t is not None and t is not threading.current_thread():
            t.join()

    @contextmanager
    def _quiet(self):
        """Hold the lock with no background fold running (only one writer of NAME.json at a time).

        Never entered by a thread that already holds the lock while a fold runs (it would wait forever
        on a fold that needs the lock to finish); internal callers only fold when none is running.
        """
        while True:
            self.wait_for_fold()
            self._mu.acquire()
            if self._fold_thread is None or self._fold_thread is threading.current_thread():
                break
            self._mu.release()
        try:
            yield
        finally:
            self._mu.release()

    def compact(self, full: bool = False) -> None:
        """Fold everything into the files now (each changed segment, then NAME.json, by atomic replace), then
        empty the journal. `full`: rewrite every segment and remove segment files no sample belongs to."""
        with self._quiet():
            self._writable()
            frozen = self._index.freeze(copy=False)
            tables = {t: {str(k): v for k, v in docs.items()} for t, docs in self._tables.items()}
            try:
                placed = self._write_files(frozen, tables, self._pread, None if full else self._dirty)
            finally:
                self._index.thaw()
            self._switch_files(frozen, placed)
            self._dirty = set()
            self._journal.reset()
            self.files.journal_old.unlink(missing_ok=True)
            self._needs_fold = False
        _trim_memory()

    # ---------------------------------------------------------------- reading

    def _pread(self, off: int, size: int) -> bytes:
        return self._files.read(off, size)

    def _raw(self, sid: int) -> bytes:
        if sid not in self._index:
            raise StoreError(f"session {self.name!r} has no sample {sid}", path=self.path,
                             hint=f"sample ids run from 1 to {self._index.max_id}")
        return self._index.raw_of(sid)

    def get(self, sample_id: int) -> dict:
        """The whole sample `sample_id` as stored, plus its `"id"` (int). Raises StoreError when there is none."""
        with self._mu:
            doc = orjson.loads(self._raw(int(sample_id)))
        doc["id"] = int(sample_id)
        return doc

    def reload(self) -> None:
        """Read-only view: read the session again to see what its writer saved since."""
        with self._mu:
            if not self.read_only or self._closed:
                return
            self._load()

    # ---------------------------------------------------------------- meta, templates, runs

    @property
    def meta(self) -> dict:
        """A copy of the session's meta: {name, created (epoch s), model, labels, schema_version, ...}."""
        with self._mu:
            return dict(self._tables["meta"].get(1, {}))

    def set_meta(self, **fields: Any) -> None:
        """Merge `fields` into the meta (durable when it returns). Raises StoreError/SessionLocked when read-only."""
        with self._mu:
            doc = {**self._tables["meta"].get(1, {}), **fields, "schema_version": SCHEMA_VERSION}
            self._commit([("meta", 1, doc)])

    @property
    def labels(self) -> list[str]:
        """The failure-tag labels offered on keys 1-9 (the session's own, else DEFAULT_LABELS)."""
        return list(self.meta.get("labels") or DEFAULT_LABELS)

    def save_template_version(self, name: str, text: str, *, label: str | None = None,
                              data: str | None = None) -> str:
        """Keep this text as a version of template `name` (idempotent by content hash) -> the 12-hex version.
        It gets the workspace's name for it (v1, v2, ...: studio.store.versions; `label` is a name it already
        carries, e.g. from another session, kept when free). A literal secret in its front matter (a file the
        parser would refuse) is stored as `[redacted]`; the version is the hash of the text as written, and
        of `data` (Template.data_digest: its slot files were edited since the text first ran) when given."""
        from studio.core.template import version_hash

        version = version_hash(text, data)
        with self._mu:
            docs = self._tables["templates"]
            if any(d.get("name") == name and d.get("version") == version for d in docs.values()):
                return version
        known = {d["version"]: d["label"] for d in self.template_versions(name) if d.get("label")}
        label = self._names().name(name, version, prefer=label, known=known) if not self.read_only else ""
        with self._mu:
            docs = self._tables["templates"]
            if any(d.get("name") == name and d.get("version") == version for d in docs.values()):
                return version
            from studio.core.secrets import redact_template_text

            self._commit([("templates", max(docs, default=0) + 1,
                           {"name": name, "version": version, "text": redact_template_text(text), "saved": time.time(),
                            "label": label or None, **({"data": data} if data else {})})])
        return version

    def _add_template_doc(self, doc: dict, label: str | None) -> None:
        """Keep another session's saved version as it is (its hash, text and name; a merge), once."""
        name, version = doc.get("name"), doc.get("version")
        with self._mu:
            docs = self._tables["templates"]
            if any(d.get("name") == name and d.get("version") == version for d in docs.values()):
                return
        label = self._names().name(name, version, prefer=label) or label
        with self._mu:
            docs = self._tables["templates"]
            self._commit([("templates", max(docs, default=0) + 1, {**doc, "label": label or None})])

    def _names(self):
        from studio.store.versions import VersionNames

        return VersionNames(self.files.folder)

    def version_label(self, name: str, version: str | None) -> str:
        """The name a person says for this version ("v3"), "" when it has none: the one this session saved it
        under, else the workspace's, else its place among this session's saved versions of the template."""
        if not version:
            return ""
        docs = self.template_versions(name)
        for d in docs:
            if d.get("version") == version and d.get("label"):
                return str(d["label"])
        found = self._names().read().get(name, {}).get(version)
        if found:
            return f"v{found}"
        saved = [d.get("version") for d in docs]
        return f"v{saved.index(version) + 1}" if version in saved else ""

    def version_labels(self) -> dict[tuple[str, str], str]:
        """{(template, version): "v3"} for every saved version (one pass, for tables and lists)."""
        registry = self._names().read()
        out: dict[tuple[str, str], str] = {}
        counts: dict[str, int] = {}
        for d in self.template_versions():
            t, v = d.get("name"), d.get("version")
            counts[t] = counts.get(t, 0) + 1
            n = registry.get(t, {}).get(v)
            out[(t, v)] = str(d.get("label") or (f"v{n}" if n else f"v{counts[t]}"))
        return out

    def version_display(self, name: str, version: str | None, width: int = 6) -> str:
        """`v3 3fa2c8`: how versions are shown everywhere (CLI tables, the TUI)."""
        from studio.store.versions import display

        return display(self.version_label(name, version), version, width)

    def template_versions(self, name: str | None = None) -> list[dict]:
        """Saved template versions, oldest first: [{name, version (12 hex), text, saved (epoch s), ...}];
        `name` keeps only that template's."""
        with self._mu:
            docs = [dict(d) for _, d in sorted(self._tables["templates"].items())]
        return [d for d in docs if name is None or d.get("name") == name]

    def template_text(self, name: str, version: str) -> str:
        """The text of version `version` of template `name`. Raises StoreError when the session has not saved it."""
        for d in self.template_versions(name):
            if d.get("version") == version:
                return d.get("text", "")
        raise StoreError(f"session {self.name!r} has no version {version} of template {name!r}", path=self.path,
                         hint="template_versions(name) lists the saved versions")

    def add_run(self, run: dict) -> str:
        """Record a run ({model, template, params, status, ...}; secret-named params dropped) and return its id
        (the run's own `id`/`run_id`, else a new timestamped one). Raises StoreError if that id exists."""
        with self._mu:
            doc = scrub(dict(run))
            run_id = str(doc.pop("id", None) or doc.get("run_id") or f"{_stamp()}-{uuid.uuid4().hex[:6]}")
            doc["run_id"] = run_id
            doc.setdefault("started", time.time())
            if doc.get("status") == "running" and "pid" not in doc:
                doc.update(interrupted.process_stamp())    # so a later open can tell a dead run from a live one
            if run_id in self._run_ids:
                raise StoreError(f"run {run_id!r} already exists in session {self.name!r}", path=self.path)
            sid = max(self._tables["runs"], default=0) + 1
            self._commit([("runs", sid, doc)])
            self._run_ids[run_id] = sid
            return run_id

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Merge `fields` into run `run_id` (e.g. status, totals). Raises StoreError when there is no such run."""
        with self._mu:
            sid = self._run_ids.get(run_id)
            if sid is None:
                raise StoreError(f"session {self.name!r} has no run {run_id!r}", path=self.path)
            self._commit([("runs", sid, {**self._tables["runs"][sid], **scrub(fields), "run_id": run_id})])

    def runs(self) -> list[dict]:
        """Every run record, oldest first (dicts; copies)."""
        with self._mu:
            return [dict(d) for _, d in sorted(self._tables["runs"].items())]

    # ---------------------------------------------------------------- samples

    def _keep_pace(self) -> None:
        """Wait for a running fold when the samples held in memory pass 1.25 x OVERLAY_LIMIT: a fold of a
        large file takes seconds and a run adds faster, so memory would grow with the session's size."""
        t = self._fold_thread
        held = self._mu._is_owned()  # type: ignore[attr-defined]  # CPython's RLock: does this thread hold it
        if t is not None and t is not threading.current_thread() and not held \
                and self._index.overlay_bytes > OVERLAY_LIMIT * 5 // 4:
            t.join()

    def add_samples(self, samples: Iterable[dict]) -> list[int]:
        """Store new samples, each made a record by `core.record.new_sample` (missing fields get defaults,
        key-shaped text redacted: the one place a run's samples are normalised); durable when it returns.
        Each dict given is completed in place to what was stored (without its id, which is returned)."""
        self._keep_pace()
        given = samples if isinstance(samples, list) else list(samples)
        with self._mu:
            self._writable()
            now = time.time()
            first = self._index.max_id + 1
            ops = [("samples", first + i, new_sample(s, now)) for i, s in enumerate(given)]
            ids = self._commit(ops) if ops else []
            self._maybe_fold()
        for s, (_, _, doc) in zip(given, ops):
            s.update(doc)
        return ids

    def update_sample(self, sample_id: int, **fields: Any) -> None:
        """Change fields other than review decisions (e.g. follow-up results); not undoable."""
        fields.pop("id", None)
        if "params" in fields:
            fields["params"] = scrub(fields["params"])
        if "status" in fields:
            self._check_status(fields["status"])
        self._change([sample_id], lambda d, _: d.update(fields), undoable=False)

    def _check_status(self, status: str) -> None:
        if status not in STATUSES:
            raise StoreError(f"unknown sample status {status!r}", hint=f"use one of: {', '.join(STATUSES)}")

    def _change(self, ids: Iterable[int], fn: Callable[[dict, int], Any], *, undoable: bool = True) -> list[int]:
        """Apply fn to each sample's document, journaled in chunks (bounded memory for bulk actions).

        The undo step keeps only the previous values of the fields that changed.
        """
        with self._mu:
            self._writable()
            ids = [int(i) for i in ids]
            for sid in ids:
                if sid not in self._index:
                    self._raw(sid)                    # unknown id: the error, before any change
            changed: list[int] = []
            step: dict[int, dict] = {}   # grown a sample at a time: undo never copies 100,000 entries at once
            # thousands of samples: the cyclic GC's young collections (each promoting to the next, until a full
            # pass over the heap of 100+ ms holds the GIL a key's frame needs) wait until it is done
            with gc_relaxed() if len(ids) > BULK_CHUNK else nullcontext():
                for start in range(0, len(ids), BULK_CHUNK):
                    ops = []
                    same_text: set[int] = set()
                    for sid in ids[start: start + BULK_CHUNK]:
                        doc = orjson.loads(self._index.raw_of(sid))
                        old = dict(doc)
                        if fn(doc, sid) is False:
                            continue
                        diff = {k: old.get(k, _MISSING) for k in doc.keys() | old.keys()
                                if doc.get(k, _MISSING) != old.get(k, _MISSING)}
                        if not diff:
                            continue
                        ops.append(("samples", sid, doc))
                        step[sid] = diff
                        if SEARCHED.isdisjoint(diff):
                            same_text.add(sid)
                    if ops:
                        changed += self._commit(ops, same_text)
                        self._maybe_fold()
            if undoable and step:
                self._undo.append(step)
                del self._undo[:-UNDO_DEPTH]
            return changed

    @staticmethod
    def _status_setter(status: str):
        def fn(doc: dict, _sid: int):
            if doc.get("status") == status:
                return False
            doc["status"] = status
            doc["reviewed"] = None if status == "pending" else time.time()
        return fn

    def set_status(self, sample_id: int, status: str) -> None:
        """Set one sample's status (one of STATUSES; `reviewed` set to now, None for pending). One undo step unless nothing changes.
        Raises StoreError for an unknown status or sample, SessionLocked/StoreError when read-only."""
        self._check_status(status)
        self._change([sample_id], self._status_setter(status))

    def accept(self, sample_id: int) -> None:
        """`set_status(sample_id, "accepted")`."""
        self.set_status(sample_id, "accepted")

    def reject(self, sample_id: int) -> None:
        """`set_status(sample_id, "rejected")`."""
        self.set_status(sample_id, "rejected")

    def bulk_set_status(self, ids: Iterable[int], status: str) -> int:
        """One undo step for the lot; returns how many samples changed."""
        self._check_status(status)
        return len(self._change(list(ids), self._status_setter(status)))

    def bulk_tag(self, ids: Iterable[int], tag: str) -> int:
        """Add `tag` to every one of these samples that lacks it: one undo step; returns how many changed."""
        def fn(doc: dict, _sid: int):
            tags = list(doc.get("tags") or [])
            if tag in tags:
                return False
            doc["tags"] = tags + [tag]
            doc["reviewed"] = time.time()
        return len(self._change(list(ids), fn))

    def toggle_tag(self, sample_id: int, tag: str) -> bool:
        """Add the tag, or remove it if present; returns whether the sample now has it."""
        state = {}

        def fn(doc: dict, _sid: int):
            tags = list(doc.get("tags") or [])
            state["on"] = tag not in tags
            doc["tags"] = tags + [tag] if state["on"] else [t for t in tags if t != tag]
            doc["reviewed"] = time.time()
        self._change([sample_id], fn)
        return state["on"]

    def set_note(self, sample_id: int, text: str) -> None:
        """Replace the sample's free-text note (one undo step unless unchanged). Raises StoreError as set_status."""
        def fn(doc: dict, _sid: int):
            if doc.get("note", "") == text:
                return False
            doc["note"] = text
        self._change([sample_id], fn)

    def undo(self) -> int | None:
        """Revert the last review action (durably); returns the sample id it touched, None if nothing to undo."""
        ids = self.undo_step()
        return ids[0] if ids else None

    def undo_step(self) -> list[int]:
        """Revert the last review action (durably); returns every sample id it touched (a bulk action: all of
        them, so a screen can repaint each), [] if nothing to undo."""
        with self._mu:
            self._writable()
            if not self._undo:
                return []
            step = self._undo.pop()

            def put_back(doc: dict, sid: int):
                for k, v in step[sid].items():
                    if v is _MISSING:
                        doc.pop(k, None)
                    else:
                        doc[k] = v
            ids = list(step)
            self._change(ids, put_back, undoable=False)
            return ids

    @property
    def can_undo(self) -> bool:
        """True when `undo()` has a step to take back (the stack lives in this process)."""
        return bool(self._undo)

    # ---------------------------------------------------------------- queries

    def ids(self, *, status=None, tag=None, template=None, version=None, slot=None, followup=None, flag=None,
            text=None, persona=None, order: str = "id", desc: bool = False) -> list[int]:
        """Sample ids matching every given filter, in `order` (id, created, reviewed, status, template, version,
        cost, latency; None values last), descending with `desc`.

        Filters: `status`/`tag`/`flag` take a value or a list (any of); `template`, `version` (the 12-hex
        content hash), `slot=(name, value)`, `persona=(attr, value)`, `followup` (a follow-up template name);
        `text`: a caseless substring (textindex.fold: any case, Straße = STRASSE, ﬁ = fi, é = e + U+0301) of
        output, prompt, note, error, slot values and persona text (a
        scan of the file, ~0.5 s per 100,000 samples, run without holding the session's lock; milliseconds
        once `build_text_index` has run)."""
        with self._mu:
            ix = self._index
            cand = ix.candidates(status=status, tag=tag, template=template, version=version, slot=slot,
                                 followup=followup, flag=flag, persona=persona)
            if not text:
                return ix.ordered(cand, order, desc)
            if self._text is not None:
                hits = self._text.search(text, cand)
                if hits is not None:
                    if order != "id":
                        return ix.ordered(hits, order, desc)
                    return hits[::-1] if desc else hits
            rows = ix.freeze()
            files = self._files.dup()
        try:                                  # the scan runs without the lock: review keys never wait for it
            found = self._search(None if cand is None else set(cand), text, rows, files)
        finally:
            files.close()
        with self._mu:
            return self._index.ordered(found, order, desc)

    @property
    def text_index_ready(self) -> bool:
        """True once `build_text_index` has finished: a text filter is then answered from memory."""
        return self._text is not None

    def at_once(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` with the session's lock held, if no other thread holds it now; else None (nothing run).
        For a screen that can show an answer in this frame when the store is free, and asks later otherwise."""
        if not self._mu.acquire(blocking=False):
            return None
        try:
            return fn(*args)
        finally:
            self._mu.release()

    def build_text_index(self, pause: Callable[[], None] | None = None) -> None:
        """Keep an in-memory word index for text filters (studio.store.textindex): `ids(text=...)` then takes
        milliseconds instead of a file scan. For the studio (a worker calls it once); it costs about the
        searched text's size in memory, so headless commands never build it, and it is given up past
        TEXT_INDEX_BUDGET of searched text (about 350,000 samples of ~750 B), where filters scan. The file is read without the
        lock; samples changed meanwhile are indexed again at the end. `pause` is called every 32 samples (about 2 ms of work: a key waits at most that for the GIL)."""
        with self._mu:
            if self._text is not None or self._text_building is not None or self._text_skipped:
                return
            building = self._text_building = TextIndex()
            rows = self._index.freeze()
            files = self._files.dup()
        try:
            put = building.put_raw
            for k, (sid, raw) in enumerate(rows.entries(files.read)):
                put(sid, raw)
                if self._text_building is not building:   # reloaded or closed meanwhile
                    return
                if building.text_bytes > TEXT_INDEX_BUDGET:   # a session this large: filters scan (memory bound)
                    with self._mu:
                        if self._text_building is building:
                            self._text_building, self._text_skipped = None, True
                    return
                if pause is not None and not k & 31:
                    pause()                           # the caller's moment to let more urgent work run
        except BaseException:
            with self._mu:
                if self._text_building is building:
                    self._text_building = None
            raise
        finally:
            files.close()
        with self._mu:
            if self._text_building is not building:
                return
            for sid in building.dirty:
                if sid in self._index:
                    building.put_raw(sid, self._index.raw_of(sid))
            building.dirty.clear()
            self._text, self._text_building = building, None

    def query(self, *, offset: int = 0, limit: int = 100, **filters) -> list[dict]:
        """One page of whole samples (dicts with "id") matching `filters` (as `ids`): `limit` from `offset`."""
        page = self.ids(**filters)[offset: offset + limit]
        return [self.get(i) for i in page]

    def count(self, **filters) -> int:
        """How many samples match `filters` (as `ids`); counted from the index unless `text` is given."""
        with self._mu:
            if filters.get("text"):
                return len(self.ids(**filters))
            filters.pop("order", None), filters.pop("desc", None)
            cand = self._index.candidates(**filters)
            return len(self._index) if cand is None else len(cand)

    def counts(self) -> dict:
        """{"status": {status: n}, "tags": {tag: n}, "versions": {(template, version): n}, "flags": {flag: n}}
        from the index (flags: cut-off, filtered, refusal, preview; only those some sample has)."""
        with self._mu:
            return self._index.counts()

    def status_counts(self, ids: Iterable[int]) -> dict[str, int]:
        """How many of these samples have each status (from the index: nothing parsed)."""
        with self._mu:
            return self._index.count_status(ids)

    def cost(self, **filters) -> Cost:
        """The summed cost of the matching samples (filters as for `ids`), from the index: a `core.cost.Cost`
        (known USD, priced, unknown and cached counts; each sample's cost by `core.cost.sample_cost`, so a
        cached sample is $0 and an unpriced one is counted apart, never as $0). `.text()` shows it."""
        with self._mu:
            ix = self._index
            ids = self.ids(**filters) if filters else None
            if ids is None:       # the whole session (the status bar's figure, counted again after keys)
                known, rows = ix.known_values("co")
            else:
                values = ix.values("co", [ix.place(i) for i in ids])
                known, rows = [v for v in values if v is not None], len(values)
            cached_ids = ix.multi["ca"].get("cached")
            if cached_ids is None:
                cached = 0
            elif ids is None:
                cached = len(cached_ids)
            else:
                wanted = set(cached_ids)
                cached = sum(1 for i in ids if i in wanted)
        return Cost(float(sum(known)), len(known), rows - len(known), cached)

    def facets(self, **filters):
        """What the failure analysis counts, from the in-memory index (no sample parsed): see index.Facets.

        Filters as for ids() (no text); the inverted indexes are copies over the whole session.
        """
        with self._mu:
            ids = self.ids(**filters) if filters else None
            return self._index.facets(ids)

    def __len__(self) -> int:
        return len(self._index)

    def iter_samples(self, *, fields: Iterable[str] | None = None, batch: int = READ_BATCH,
                     **filters) -> Iterator[dict]:
        """Stream samples (ids fixed when iteration starts), read in batches.

        One lock and one file read per run of neighbouring samples, not per sample. `fields`: a
        projection for scans such as the analysis. When every asked field is one of HEAD_FIELDS
        (stored before the messages) or INDEXED_FIELDS (kept in the in-memory index), only the head
        of each sample is parsed and the rest comes from the index (`tags` then lists each tag once);
        the dicts hold `id` and the asked fields. Otherwise whole samples are parsed.
        """
        ids = self.ids(**filters)
        wanted = None if fields is None else set(fields)
        if wanted is not None and not wanted <= HEAD_FIELDS | INDEXED_FIELDS.keys():
            wanted = None
        if wanted is None:
            yield from self.samples(ids, batch=batch)
            return
        for start in range(0, len(ids), batch):
            with self._mu:
                chunk = [sid for sid in ids[start: start + batch] if sid in self._index]
                parsed = wanted & HEAD_FIELDS                 # parsed fields win over index copies
                blobs = self._read_many(chunk) if parsed else None
                indexed = self._index_columns(chunk, (wanted - parsed) & INDEXED_FIELDS.keys())
            columns = list(indexed.items())
            for k, sid in enumerate(chunk):         # one at a time: a held batch of dicts costs GC passes
                doc = {"id": sid} if blobs is None else _parse_head(sid, blobs[k], parsed)
                for name, values in columns:
                    doc[name] = values[k]
                yield doc

    def samples(self, ids: list[int], *, batch: int = READ_BATCH) -> Iterator[dict]:
        """Whole samples of these ids, in this order, read in batches (ids deleted meanwhile are skipped)."""
        for start in range(0, len(ids), batch):
            with self._mu:
                chunk = [sid for sid in ids[start: start + batch] if sid in self._index]
                blobs = self._read_many(chunk)
            yield from map(_parse, chunk, blobs)

    def _index_columns(self, ids: list[int], names: set[str]) -> dict[str, list]:
        """The asked index-kept fields of each sample, as columns (no parsing)."""
        ix = self._index
        out: dict[str, list] = {}
        places = None
        for name in names:
            if name == "tags":
                out[name] = ix.tags_of(ids)
            else:
                if places is None:
                    places = [ix.place(sid) for sid in ids]
                out[name] = ix.values(INDEXED_FIELDS[name], places)
        return out

    def _read_many(self, ids: list[int]) -> list:
        """The stored JSON of each sample (held under the lock): (buffer, start, end) triples.

        Samples in the file are read with one os.pread per run of neighbours (gaps up to
        READ_GAP bytes are read through), not one per sample.
        """
        ix = self._index
        overlay, off, size, place = ix.overlay, ix.off, ix.size, ix.place
        out: list = [None] * len(ids)
        in_file = []
        for k, sid in enumerate(ids):
            r = overlay.get(sid)
            if r is not None:
                out[k] = (r, 0, len(r))
            else:
                p = place(sid)
                in_file.append((off[p], size[p], k))
        in_file.sort()
        i, n = 0, len(in_file)
        while i < n:
            first = in_file[i][0]
            end = first + in_file[i][1]
            j = i + 1
            while j < n and in_file[j][0] - end <= READ_GAP and in_file[j][0] + in_file[j][1] - first <= READ_SPAN:
                end = max(end, in_file[j][0] + in_file[j][1])
                j += 1
            buf = self._files.read(first, end - first)
            for o, length, k in in_file[i:j]:
                out[k] = (buf, o - first, o - first + length)
            i = j
        return out

    @staticmethod
    def _search(ids: set[int] | None, text: str, rows, files: snapshot.Files) -> set[int]:
        """Caseless (textindex.fold: STRASSE finds Straße) substring in output, prompt, note, error, slot values
        and persona.

        Works on a snapshot of where each sample's JSON lies (`rows`, dup'd descriptors `files`), so it
        needs no lock. For an ASCII needle (after folding), large sets are prefiltered by a block scan of the
        files (`Frozen.grep`) for the needle, or for a non-ASCII character that folds into part of it (ß for
        "strasse": `ascii_sources`; such characters are rare, and an ASCII block is not searched for them);
        every candidate is confirmed on its parsed, folded document, so field names and other fields never
        match.
        """
        read = files.read
        needle = fold(text)
        quick = orjson.dumps(needle)[1:-1] if needle.isascii() else None
        also = ascii_sources(needle) if quick else None
        if quick and (ids is None or len(ids) > 2000):
            pre = rows.grep(quick, read, also)
            ids, quick = (pre if ids is None else pre & ids), None
        elif ids is None:
            ids = rows.sid
        found = set()
        for sid in ids:
            p = rows.place(sid)
            if p is None:
                continue
            raw = rows.raw(p, read)
            if quick is not None and quick not in raw.lower() and not also.present(raw):
                continue
            if any(needle in fold(str(h)) for h in search_texts(orjson.loads(raw))):
                found.add(sid)
        return found

    # ---------------------------------------------------------------- other processes' additions

    def fold_inbox(self) -> list[int]:
        """Apply what guest processes wrote for this session (studio.store.inbox) -> ids of the samples added.
        Each guest file's complete lines are applied in order and its read position is saved in the same
        journal write, so a crash never loses or repeats a line. Cheap when there is nothing (one listdir).
        A guest's run whose process is gone (SIGKILL, a crash) is then marked `interrupted` with what it
        saved, as a dead run of the holder is when a session opens (interrupted.py), so a studio holding the
        session for hours never shows it `running`; the run's id is added to `interrupted_runs`."""
        from studio.store.inbox import pending_files, read_lines

        if self.read_only or self._closed:
            return []
        files = pending_files(self.files.folder, self.name)
        if not files:
            return []
        added: list[int] = []
        with self._mu:
            for path in files:
                progress = dict(self.meta.get("inbox") or {})
                state = progress.get(path.name) or {"offset": 0, "refs": {}}
                entries, offset, ended = read_lines(path, int(state.get("offset") or 0))
                if not entries and not ended:
                    continue
                refs = {int(k): v for k, v in (state.get("refs") or {}).items()}
                self._deferred = []
                try:
                    for entry in entries:
                        added += self._apply_guest(entry, refs)
                    if ended:
                        progress.pop(path.name, None)
                    else:
                        progress[path.name] = {"offset": offset, "refs": {str(k): v for k, v in refs.items()}}
                    self.set_meta(inbox=progress)
                    records, self._deferred = self._deferred, None
                    self._journal.append(b"".join(records))
                except OSError as exc:
                    raise StoreError(f"cannot write the session journal: {exc.strerror}", path=self.files.journal,
                                     hint="free disk space or fix permissions") from None
                finally:
                    self._deferred = None
                if ended:
                    path.unlink(missing_ok=True)
            # a guest that was killed never writes "end": its run stays `running` unless marked here
            if interrupted.stale_runs(self.runs()):
                self.interrupted_runs = list(self.interrupted_runs) + interrupted.mark_interrupted(self)
        return added

    def _apply_guest(self, entry: dict, refs: dict[int, int]) -> list[int]:
        """One line of a guest's inbox; a line that cannot apply (e.g. a run this session lacks) is skipped."""
        op, args, kw = entry.get("op"), list(entry.get("args") or []), dict(entry.get("kwargs") or {})
        try:
            if op in ("add_samples", "add_feedback"):
                ids = self.add_samples(args[0]) if op == "add_samples" else self.add_feedback(args[0])
                refs.update(zip((int(r) for r in kw.get("refs") or []), ids))
                return ids if op == "add_samples" else []
            if op in ("update_sample", "update_feedback"):
                target = int(args[0])
                getattr(self, op)(refs.get(target, target), **kw)
            elif op == "add_run":
                if str(args[0].get("run_id")) not in self._run_ids:
                    self.add_run(args[0])
            elif op == "update_run":
                self.update_run(args[0], **kw)
            elif op == "save_template_version":
                self.save_template_version(*args[:2], data=kw.get("data"))
            elif op == "set_meta":
                kw.pop("inbox", None)
                self.set_meta(**kw)
        except (StoreError, IndexError, KeyError, TypeError, ValueError):
            pass
        return []

    # ---------------------------------------------------------------- pair judgements

    def judge_pair(self, chosen: int, rejected: int) -> int:
        """Record "answer `chosen` is better than answer `rejected`" (two samples of one prompt) -> judgement id.
        A status cannot hold A > B and B > C; a judgement can. Judging the same two again (either way round)
        replaces the earlier judgement. Raises StoreError for an unknown sample, two different prompts or a
        render preview."""
        chosen, rejected = int(chosen), int(rejected)
        if chosen == rejected:
            raise StoreError("a sample cannot be preferred over itself", path=self.path,
                             hint="pick two answers to the same prompt")
        a, b = self.get(chosen), self.get(rejected)
        preview = next((x for x in (a, b) if x.get("flag") == "preview"), None)
        if preview is not None:
            raise StoreError(f"sample {preview['id']} is a render preview (the prompt, no answer): nothing to prefer",
                             path=self.path, hint="compare two answers of a model to the same prompt")
        if a.get("prompt_hash") != b.get("prompt_hash"):
            raise StoreError(f"samples {chosen} and {rejected} answer different prompts", path=self.path,
                             hint="compare answers to the same filled prompt (same prompt_hash)")
        with self._mu:
            docs = self._tables["judgements"]
            jid = next((i for i, d in docs.items() if {d.get("chosen"), d.get("rejected")} == {chosen, rejected}),
                       max(docs, default=0) + 1)
            self._commit([("judgements", jid, {"chosen": chosen, "rejected": rejected,
                                                "prompt_hash": a.get("prompt_hash"), "created": time.time(),
                                                "withdrawn": False})])
            return jid

    def withdraw_judgement(self, judgement_id: int) -> None:
        """Take a pair judgement back (kept in the file, marked withdrawn; exports skip it)."""
        with self._mu:
            doc = self._tables["judgements"].get(int(judgement_id))
            if doc is None:
                raise StoreError(f"session {self.name!r} has no judgement {judgement_id}", path=self.path)
            self._commit([("judgements", int(judgement_id), {**doc, "withdrawn": True})])

    def judgements(self) -> list[dict]:
        """The standing pair judgements: [{id, chosen, rejected, prompt_hash, created}], oldest first."""
        with self._mu:
            return [{**d, "id": i} for i, d in sorted(self._tables["judgements"].items()) if not d.get("withdrawn")]

    def answers(self, prompt_hash: str) -> list[int]:
        """Ids of every sample answering this filled prompt (a scan of the samples' heads); a render preview of
        it (the prompt, no answer) is none."""
        previews = set(self.ids(flag="preview"))
        return [s["id"] for s in self.iter_samples(fields=("prompt_hash",))
                if s.get("prompt_hash") == prompt_hash and s["id"] not in previews]

    # ---------------------------------------------------------------- feedback

    def add_feedback(self, records: Iterable[dict]) -> list[int]:
        """Store feedback records ({prompt, response, comment, rating, source, line, status, ...}); returns their
        ids (ints, ascending). Durable when it returns; raises StoreError/SessionLocked when read-only."""
        with self._mu:
            first = max(self._tables["feedback"], default=0) + 1
            now = time.time()
            ops = [("feedback", first + i, {"created": now, **{k: v for k, v in r.items() if k != "id"}})
                   for i, r in enumerate(records)]
            return self._commit(ops) if ops else []

    def feedback(self) -> list[dict]:
        """Every feedback record with its "id", oldest first (copies)."""
        with self._mu:
            return [{**d, "id": i} for i, d in sorted(self._tables["feedback"].items())]

    def update_feedback(self, feedback_id: int, **fields: Any) -> None:
        """Merge `fields` into feedback record `feedback_id`. Raises StoreError when there is no such record."""
        with self._mu:
            doc = self._tables["feedback"].get(int(feedback_id))
            if doc is None:
                raise StoreError(f"session {self.name!r} has no feedback record {feedback_id}", path=self.path)
            fields.pop("id", None)
            self._commit([("feedback", int(feedback_id), {**doc, **fields})])

    # ---------------------------------------------------------------- closing

    def _release(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self._files.close()
        self._lock.release()

    def close(self) -> None:
        """Fold the journal into the TinyDB files (if this process writes them) and release the lock."""
        with self._quiet():
            if self._closed:
                return
            try:
                if not self.read_only and self._journal is not None:
                    try:
                        self.fold_inbox()  # what guests added meanwhile goes into the file being written now
                    except StoreError:
                        pass
                if not self.read_only and self._journal is not None and (
                        self._journal.size or self.files.journal_old.exists()):
                    self.compact()
            finally:
                self._closed = True
                self._text = self._text_building = None
                self._release()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = " read-only" if self.read_only else ""
        return f"<Session {self.name!r}{mode} {len(self)} samples>"
