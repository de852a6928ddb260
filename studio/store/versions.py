"""Version names a person can say: v1, v2, ... per template, the same in every session of a workspace.

A template version is a 12-hex content hash; the name is its place in the order the workspace first saw
it, kept in `sessions/.versions.json` ({template: {hash: n}}) under an flock, so two sessions (and two
processes) give one hash one name. Each session also stores the name beside the version it saved, so a
session copied to another workspace (or merged into another) keeps the names it was reviewed under.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

REGISTRY = ".versions.json"
DATA_REGISTRY = ".version_data.json"   # {template: {text hash: digest of the slot files it first ran with}}


def display(label: str | None, version: str | None, width: int = 6) -> str:
    """`v3 3fa2c8`: the name and the hash beside it (just the hash when there is no name)."""
    short = (version or "")[:width] or "-" * width
    return f"{label} {short}" if label else short


class _Registry:
    """A small JSON file of the workspace's sessions folder, {template: {...}}, changed under an flock."""

    FILE = ""

    def __init__(self, sessions_dir: Path):
        self.path = Path(sessions_dir) / self.FILE

    def _locked(self) -> int:
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def read(self) -> dict:
        """{template: {...}} as saved ({} when the file is missing or unreadable)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict) -> None:
        """Replace the file with `data` (atomic; the caller holds the lock)."""
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


class VersionNames(_Registry):
    """The workspace's registry of version names (sessions/.versions.json): {template: {version hash: n}}."""

    FILE = REGISTRY

    def name(self, template: str, version: str, *, prefer: str | None = None,
             known: dict[str, str] | None = None) -> str:
        """The version's name, given one the first time it is seen. `prefer`: a name it already carries,
        kept when that number is free for this template; `known`: {version: name} the saving session already
        holds (e.g. a session brought from another workspace), registered first so no name is given twice."""
        found = self.read().get(template, {}).get(version)
        if found:
            return f"v{found}"
        try:
            fd = self._locked()
        except OSError:
            return ""  # a read-only workspace: versions show as hashes
        try:
            data = self.read()
            names = data.setdefault(template, {})
            for v, label in (known or {}).items():
                n = _number(label)
                if v not in names and n and n not in names.values():
                    names[v] = n
            if version not in names:
                taken = set(names.values())
                wanted = _number(prefer)
                names[version] = wanted if wanted and wanted not in taken else max(taken, default=0) + 1
                self._write(data)
            return f"v{names[version]}"
        except OSError:
            return ""
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def pin_data_version(session, template) -> None:
    """Make an edit of the template's slot files a new version, as a text edit is: the text's first data is
    its base (its version is the text's hash, so versions made before this rule keep their hashes and
    names); other data gives `template.data_digest`, so `template.version` hashes the text and the data.
    The base is kept per workspace (sessions/.version_data.json), so one name means one text and data."""
    from studio.core.slots import data_digest

    digest = data_digest(template)
    if digest is None:
        template.data_digest = None
        return
    folder = getattr(getattr(session, "files", None), "folder", None)
    base = digest if folder is None else \
        DataBases(Path(folder)).base(template.name, template.text_version, digest,
                                     record=not getattr(session, "read_only", False))
    template.data_digest = None if base == digest else digest


class DataBases(_Registry):
    """The workspace's record of the data each template text first ran with (sessions/.version_data.json):
    {template: {text hash: data digest}}."""

    FILE = DATA_REGISTRY

    def base(self, template: str, text_version: str, digest: str, *, record: bool = True) -> str:
        """The data digest this text first ran with; `digest` is recorded as it when there is none yet."""
        found = (self.read().get(template) or {}).get(text_version)
        if found or not record:
            return str(found or digest)
        try:
            fd = self._locked()
        except OSError:
            return digest   # a read-only workspace: the data is taken as the text's own
        try:
            data = self.read()
            mine = data.setdefault(template, {})
            if not mine.get(text_version):
                mine[text_version] = digest
                self._write(data)
            return str(mine[text_version])
        except OSError:
            return digest
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _number(label: str | None) -> int | None:
    if label and label[:1] == "v" and label[1:].isdigit():
        return int(label[1:])
    return None
