"""Open (or create) the session the studio shows, and pick the template to edit.

Shared by `studio`, `studio open NAME` and `studio new NAME --template T`; runs in a worker thread so the
first frame never waits for the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.core.files import read_user_text
from studio.core.workspace import Workspace

DEMO_SESSION = "demo"
DEMO_TEMPLATE = "support-madlib"


@dataclass
class Loaded:
    store: Any
    session: Any
    template_name: str
    template_path: Path | None
    template_text: str
    ids: list[int] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    created: bool = False
    version_labels: dict[str, str] = field(default_factory=dict)  # version hash -> "v3"


def resolve_name(store: Any, name: str | None) -> str:
    return name or store.most_recent() or DEMO_SESSION


def check_new(workspace: Workspace, name: str | None, *, template: str | None, new: bool) -> None:
    """Raise StudioError for `studio new NAME` when NAME exists, or when template T is not found."""
    workspace.ensure()
    if template:
        workspace.find_template(template)
    if new and name:
        from studio.store import Store

        if name in {info.name for info in Store(workspace.sessions_dir).list()}:
            raise StudioError(f"a session named {name!r} already exists", path=workspace.sessions_dir,
                              hint=f"open it with: studio open {name}, or pick another name")


def open_session(workspace: Workspace, name: str | None = None, *, template: str | None = None,
                 create: bool = True, new: bool = False) -> Loaded:
    """The named (or most recent, or demo) session, with its current template's file text."""
    from studio.store import Store

    workspace.ensure()
    store = Store(workspace.sessions_dir)
    name = resolve_name(store, name)
    existing = {info.name for info in store.list()}
    if new and name in existing:
        raise StudioError(f"a session named {name!r} already exists", path=workspace.sessions_dir,
                          hint=f"open it with: studio open {name}")
    created = name not in existing
    if created and not create:
        raise StudioError(f"no session named {name!r}", path=workspace.sessions_dir,
                          hint="list sessions with: studio sessions, or create one with: studio new NAME")
    session = store.create(name) if created else store.open(name)
    path = _template_path(workspace, session, template)
    text = read_user_text(path, what="template file") if path else ""
    tname = path.stem if path else ""
    if path is not None:
        from studio.core.template import parse_template

        try:
            tname = parse_template(text, path).name
        except StudioError:
            pass  # the editor shows the problem; keep the file name
    if created and not session.read_only:
        from studio.core.render import render_problem
        from studio.core.template import parse_template

        for p in ([path] if template else workspace.template_paths()):
            try:
                t = parse_template(read_user_text(p), p)
                if render_problem(t) is None:  # a version that cannot render is never made
                    session.save_template_version(p.stem if p != path else tname, t.text)
            except (OSError, StudioError):
                continue
    if path is not None and not session.read_only:
        try:
            session.set_meta(template=str(path.name))
        except Exception:  # noqa: BLE001 - remembering the template is a convenience only
            pass
    labels = {v: label for (_t, v), label in session.version_labels().items() if label}
    return Loaded(store, session, tname, path, text, created=created, version_labels=labels)


def _template_path(workspace: Workspace, session: Any, template: str | None) -> Path | None:
    wanted = template or (session.meta or {}).get("template")
    if wanted:
        try:
            return workspace.find_template(wanted)
        except StudioError:
            if template:
                raise
    for version in reversed(session.template_versions() or []):
        try:
            return workspace.find_template(version["name"])
        except StudioError:
            continue
    paths = workspace.template_paths()
    for p in paths:
        if p.stem == DEMO_TEMPLATE:
            return p
    return paths[0] if paths else None
