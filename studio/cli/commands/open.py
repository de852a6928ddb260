"""`studio`, `studio open NAME`, `studio new NAME --template T`: start the TUI on a session."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `studio` with no arguments never builds a parser: keep argparse off the TUI's start-up
    import argparse


def open_studio(name: str | None, *, template: str | None = None, create: bool = True, new: bool = False) -> int:
    """Run the studio on a session (None: the most recent, or a new demo session); returns the exit code."""
    from studio.tui.app import StudioApp
    from studio.core.workspace import Workspace

    workspace = Workspace.from_env()
    if template or new:  # mistakes in the command line are reported here, before the screen opens
        from studio.tui.loader import check_new

        check_new(workspace, name, template=template, new=new)
    app = StudioApp(workspace, name, template=template, create=create, new=new)
    result = app.run()
    if app.crash_report is not None:
        print(f"studio: unexpected error — a crash report (no keys, no sample text) is in {app.crash_report}",
              file=sys.stderr)
    return int(result or 0) if app.return_code is None else int(app.return_code)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("open", help="open the studio on a session (created if it does not exist)")
    p.add_argument("name", help="session name")
    p.add_argument("--template", help="template to edit (name or path)")
    p.set_defaults(handler=lambda a: open_studio(a.name, template=a.template))
    p = subparsers.add_parser("new", help="create a session and open the studio on it")
    p.add_argument("name", help="session name")
    p.add_argument("--template", "-t", required=True, help="template to start from (name or path)")
    p.set_defaults(handler=lambda a: open_studio(a.name, template=a.template, new=True))
