"""The sessions folder: create, open, list, rename, copy and delete sessions."""

from __future__ import annotations

import builtins
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.record import FLAGS
from studio.store.errors import SessionLocked, StoreError
from studio.store.lock import is_locked
from studio.store.names import SUFFIX, SessionFiles, check_name
from studio.store import snapshot
from studio.store.session import Session


@dataclass
class SessionInfo:
    """One line of `Store.list()` (`studio sessions`): name, path, sample and status counts, flags, the time of
    the last change (epoch s), the pid holding it, or `error` when it could not be read."""

    name: str
    path: Path
    samples: int = 0
    counts: dict[str, int] = field(default_factory=dict)     # status -> n
    flagged: dict[str, int] = field(default_factory=dict)    # flag -> n (the flags that occur; also in counts)
    modified: float = 0.0                                     # epoch seconds (file or journal)
    locked_by: int | None = None                              # pid of the process writing it now
    error: str = ""                                           # why it could not be read


class Store:


    """The sessions folder `sessions_dir`: create, open (`open(name, create=, read_only=)` -> Session), list,
    rename, copy and delete sessions. Raises StoreError for a bad name or a missing / existing session."""

    def __init__(self, sessions_dir: str | Path):
        self.dir = Path(sessions_dir)

    def files(self, name: str) -> SessionFiles:
        """The file names of session `name` (.json .journal .index .lock). Raises StoreError for a bad name."""
        return SessionFiles(self.dir, check_name(name))

    def names(self) -> list[str]:
        """Names of the sessions in the folder, sorted ([] when the folder does not exist yet)."""
        if not self.dir.is_dir():
            return []
        return sorted(p.name[: -len(SUFFIX)] for p in self.dir.glob(f"*{SUFFIX}")
                      if not p.name.startswith(".") and p.is_file())

    def exists(self, name: str) -> bool:
        """True when session `name` has a file here. Raises StoreError for a bad name."""
        return self.files(name).json.is_file()

    def list(self) -> list[SessionInfo]:
        """Every session with its counts; a file that cannot be read is listed with `error` set."""
        out = []
        for name in self.names():
            files = SessionFiles(self.dir, name)
            info = SessionInfo(name=name, path=files.json, modified=_modified(files),
                               locked_by=is_locked(files.lock))
            try:
                check_name(name)
                with Session(files, read_only=True) as s:
                    info.samples = len(s)
                    info.counts = s.counts()["status"]
                    info.flagged = {f: n for f in FLAGS if (n := s.count(flag=f))}
            except StoreError as exc:
                info.error = exc.problem.message
            out.append(info)
        return out

    def _mkdir(self) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the sessions folder: {exc.strerror}", path=self.dir,
                             hint="run from a folder you can write to, or set STUDIO_HOME") from None

    def create(self, name: str, *, model: str | None = None, labels: builtins.list[str] | None = None,
               segment_samples: int | None = None) -> Session:
        """Create and open session `name` (meta: `model`, failure-tag `labels`; DEFAULT_LABELS when None;
        `segment_samples`: sample ids per segment file, default snapshot.SEGMENT_SAMPLES).
        Raises StoreError when it exists or the folder cannot be written."""
        files = self.files(name)
        self._mkdir()
        return Session(files, create_meta={"model": model, "labels": list(labels) if labels else None,
                                           "segment_samples": segment_samples})

    def open(self, name: str, *, create: bool = False, read_only: bool = False) -> Session:
        """Open a session; if another process writes it, a read-only view with `.locked_by` set."""
        files = self.files(name)
        if not files.json.exists():
            if create and not read_only:
                return self.create(name)
            names = self.names()
            known = ", ".join(names[:10]) + (f" … and {len(names) - 10} more (studio sessions lists them)"
                                              if len(names) > 10 else "") or "(none)"
            raise StoreError(f"no session named {name!r}", path=files.json,
                             hint=f"sessions here: {known}" if self.dir.is_dir() else
                             f"the sessions folder {self.dir} does not exist yet; a run creates it")
        return Session(files, read_only=read_only)

    def most_recent(self) -> str | None:
        """The name of the most recently modified session, or None when there is none."""
        names = self.names()
        if not names:
            return None
        return max(names, key=lambda n: _modified(SessionFiles(self.dir, n)))

    def _not_in_use(self, files: SessionFiles, doing: str) -> None:
        pid = is_locked(files.lock)
        if pid is not None:
            raise SessionLocked(f"cannot {doing} session {files.name!r}: a studio process (pid {pid}) has it open",
                                path=files.json, locked_by=pid, hint="close that studio first")

    def _must_exist(self, files: SessionFiles) -> None:
        if not files.json.is_file():
            raise StoreError(f"no session named {files.name!r}", path=files.json,
                             hint="`studio sessions` lists the sessions")

    def _must_not_exist(self, files: SessionFiles) -> None:
        if files.json.exists():
            raise StoreError(f"session {files.name!r} already exists", path=files.json,
                             hint="choose another name, or delete it first")

    def rename(self, old: str, new: str) -> None:
        """Rename session `old` to `new` (all its files). Raises StoreError when `old` is missing or `new` exists,
        SessionLocked when a studio process has it open."""
        src, dst = self.files(old), self.files(new)
        self._must_exist(src)
        self._must_not_exist(dst)
        self._not_in_use(src, "rename")
        with Session(src) as s:            # takes the lock and folds the journal into the file
            if s.read_only:
                raise StoreError(f"cannot rename session {old!r}: {s.read_only_reason}", path=src.json)
            s.set_meta(name=dst.name)
            s.compact()
            shutil.rmtree(dst.segments, ignore_errors=True)       # a deleted session's leftovers
            try:
                if src.segments.exists():
                    os.rename(src.segments, dst.segments)
                os.link(src.json, dst.json)        # fails if dst appeared meanwhile: never overwrites
            except FileExistsError:
                if dst.segments.exists() and not src.segments.exists():
                    os.rename(dst.segments, src.segments)
                self._must_not_exist(dst)
            except OSError as exc:
                raise StoreError(f"cannot rename the session: {exc.strerror}", path=src.json) from None
            dst.journal.unlink(missing_ok=True)
            try:                                   # the same files (inodes): the index cache still fits them
                os.replace(src.index, dst.index)
            except OSError:
                dst.index.unlink(missing_ok=True)
            src.json.unlink()
            for p in (src.journal, src.index):
                p.unlink(missing_ok=True)
        src.lock.unlink(missing_ok=True)

    def copy(self, src_name: str, dst_name: str) -> None:
        """Copy session `src_name` (read even while another studio has it open) to a new session `dst_name`.
        Raises StoreError when `src_name` is missing or `dst_name` exists."""
        src, dst = self.files(src_name), self.files(dst_name)
        self._must_exist(src)
        self._must_not_exist(dst)
        with Session(src, read_only=True) as s, Session(dst, create_meta={}) as d, s._mu, d._mu:
            tables = {t: {str(k): v for k, v in docs.items()} for t, docs in s._tables.items()}
            tables["meta"] = {"1": {**s.meta, "name": dst.name, "copied_from": src.name}}
            tables["meta"]["1"]["segment_samples"] = s._per         # the copy splits its samples as the source does
            frozen = s._index.freeze(copy=False)
            try:
                placed = snapshot.write_session(dst, tables, frozen, s._pread, None, s._per)
            finally:
                s._index.thaw()
            opened = snapshot.Files({code: snapshot.open_fd(snapshot.file_of(dst, code)) for code in placed.written})
            try:
                snapshot.write_index(dst.index, placed.head_len, s._index.dump(frozen.n, placed.off, placed.size),
                                     opened)
            finally:
                opened.close()

    def delete(self, name: str) -> None:
        """Delete session `name` and its files. Raises StoreError when missing, SessionLocked when open elsewhere."""
        files = self.files(name)
        self._must_exist(files)
        self._not_in_use(files, "delete")
        shutil.rmtree(files.segments, ignore_errors=True)
        for p in files.all():
            p.unlink(missing_ok=True)


def _modified(files: SessionFiles) -> float:
    times = []
    for p in (files.json, files.journal):
        try:
            times.append(p.stat().st_mtime)
        except OSError:
            pass
    return max(times, default=0.0)
