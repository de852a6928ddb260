"""The folder the studio works in: templates/ and sessions/ (the current folder or $STUDIO_HOME)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from studio.core.errors import StudioError

TEMPLATE_SUFFIX = ".prompt"


def shipped_templates_dir() -> Path:
    """The template library that travels with the package (a wheel) or the source tree (editable)."""
    package = Path(__file__).resolve().parent.parent          # studio/ (this file is studio/core/workspace.py)
    for candidate in (package / "_shipped" / "templates", package.parent / "templates"):
        if candidate.is_dir() and any(candidate.glob(f"*{TEMPLATE_SUFFIX}")):
            return candidate
    raise StudioError("the shipped template library is missing from the installation",
                      hint="reinstall with: pip install -e .")


@dataclass(frozen=True)
class Workspace:
    """The folder the studio works in (`root`): `templates/`, `sessions/` and the request cache beside them;
    `from_env()` finds it, `ensure()` creates it with the shipped library."""

    root: Path

    @classmethod
    def from_env(cls, root: str | Path | None = None) -> "Workspace":
        """The workspace at `root`, else $STUDIO_HOME, else the current folder (absolute; not created)."""
        from studio.core.settings import settings

        return cls(Path(root or settings().home or Path.cwd()).expanduser().resolve())

    @property
    def templates_dir(self) -> Path:
        """`templates/`: one `.prompt` file per template."""
        return self.root / "templates"

    @property
    def sessions_dir(self) -> Path:
        """`sessions/`: one TinyDB session file (and its journal, index and lock) per session."""
        return self.root / "sessions"

    @property
    def cache_dir(self) -> Path:
        """`sessions/.cache/`: the engine's request cache and remembered routes."""
        return self.sessions_dir / ".cache"

    @property
    def crash_dir(self) -> Path:
        """Where unexpected errors leave their reports (studio.core.crash; the newest 20 are kept)."""
        return self.sessions_dir / ".crash"

    def ensure(self) -> "Workspace":
        """Create the folders; a new workspace starts with the shipped templates."""
        try:
            self.sessions_dir.mkdir(parents=True, exist_ok=True)
            if not self.templates_dir.exists() or not any(self.templates_dir.glob(f"*{TEMPLATE_SUFFIX}")):
                src = shipped_templates_dir()
                if src.resolve() != self.templates_dir.resolve():
                    shutil.copytree(src, self.templates_dir, dirs_exist_ok=True)
        except OSError as exc:                      # no permission, a read-only disk, a file in the way
            raise StudioError(f"cannot create the workspace folders: {exc.strerror}", path=exc.filename or self.root,
                              hint="run from a folder you can write to, or set STUDIO_HOME") from None
        return self

    def template_paths(self) -> list[Path]:
        """Every `.prompt` file in templates/, sorted by name."""
        return sorted(self.templates_dir.glob(f"*{TEMPLATE_SUFFIX}"))

    def find_template(self, name_or_path: str | Path) -> Path:
        """A template by file path, or by name in templates/ (with or without the suffix)."""
        p = Path(name_or_path)
        if p.suffix == TEMPLATE_SUFFIX and p.exists():
            return p
        for candidate in (self.templates_dir / p.name, self.templates_dir / f"{p.name}{TEMPLATE_SUFFIX}"):
            if candidate.is_file():
                return candidate
        if p.exists() and p.is_file():
            return p
        from studio.core.template import load_template  # local: only needed to match on declared names
        for path in self.template_paths():
            try:
                if load_template(path).name == str(name_or_path):
                    return path
            except Exception:  # one bad file never stops the lookup of the others (lint says what is wrong)
                continue
        names = ", ".join(x.stem for x in self.template_paths()) or "(none)"
        raise StudioError(f"no template named {str(name_or_path)!r}", path=self.templates_dir,
                          hint=f"templates here: {names}")
