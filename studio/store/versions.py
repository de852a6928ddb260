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


def display(label: str | None, version: str | None, width: int = 6) -> str:
    """`v3 3fa2c8`: the name and the hash beside it (just the hash when there is no name)."""
    short = (version or "")[:width] or "-" * width
    return f"{label} {short}" if label else short


class VersionNames:
    """The workspace's registry of version names (sessions/.versions.json)."""

    def __init__(self, sessions_dir: Path):
        self.path = Path(sessions_dir) / REGISTRY

    def _locked(self):
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def read(self) -> dict[str, dict[str, int]]:
        """{template: {version hash: n}} as saved ({} when the registry is missing or unreadable)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

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
                tmp = self.path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
                os.replace(tmp, self.path)
            return f"v{names[version]}"
        except OSError:
            return ""
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _number(label: str | None) -> int | None:
    if label and label[:1] == "v" and label[1:].isdigit():
        return int(label[1:])
    return None
