"""Session names and the files that make up a session."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from studio.store.errors import StoreError

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SUFFIX = ".json"
SEGMENTS = ".samples"         # NAME.samples/: the segment files


def check_name(name: str) -> str:
    """A session name becomes a file name, so only letters, digits, - _ . (not leading) are allowed."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name.endswith(SUFFIX):
        shown = name if isinstance(name, str) else repr(name)
        raise StoreError(f"invalid session name {shown!r}",
                         hint="use letters, digits, '-', '_' and '.', starting with a letter or digit "
                              "(at most 100 characters, not ending in .json)")
    return name


@dataclass(frozen=True)
class SessionFiles:
    """NAME.json (TinyDB file of the small tables), NAME.samples/ (TinyDB segment files), NAME.journal (write-ahead log, plus NAME.journal.1 while a fold runs),
    NAME.index (rebuildable cache), NAME.lock."""

    folder: Path
    name: str

    @property
    def json(self) -> Path:
        """NAME.json: the TinyDB snapshot."""
        return self.folder / f"{self.name}{SUFFIX}"

    @property
    def journal(self) -> Path:
        """NAME.journal: changes since the snapshot."""
        return self.folder / f"{self.name}.journal"

    @property
    def journal_old(self) -> Path:
        """The journal a background fold is writing into NAME.json (deleted when it is done)."""
        return self.folder / f"{self.name}.journal.1"

    @property
    def index(self) -> Path:
        """NAME.index: the saved in-memory index (rebuilt when missing or stale)."""
        return self.folder / f"{self.name}.index"

    @property
    def lock(self) -> Path:
        """NAME.lock: held by the process writing the session."""
        return self.folder / f"{self.name}.lock"

    @property
    def segments(self) -> Path:
        """NAME.samples/: the samples, in TinyDB files of SEGMENT_SAMPLES ids each (studio.store.snapshot)."""
        return self.folder / f"{self.name}{SEGMENTS}"

    def segment(self, k: int) -> Path:
        """NAME.samples/0000K.json: segment `k` (sample ids k*SEGMENT_SAMPLES+1 ...)."""
        return self.segments / f"{k:05d}{SUFFIX}"

    def all(self) -> list[Path]:
        """Every file of the session: NAME.journal.1, journal, index, lock, and the snapshot last."""
        return [self.journal_old, self.journal, self.index, self.lock, self.json]
