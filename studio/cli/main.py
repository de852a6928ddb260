"""`studio` entry point: discovers the subcommands and turns user errors into clear messages."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import TYPE_CHECKING

from studio.core.errors import StudioError

if TYPE_CHECKING:
    import argparse


# `studio`, `studio open`, `studio new` start the TUI: only the module defining them is imported then, so
# the other commands' imports (rich tables, yaml, export formats...) stay off the first frame's path.
STUDIO_COMMANDS = {"open": "open", "new": "open"}


def build_parser(only: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser with every discovered command module, or just the modules named in `only`."""
    import argparse

    from studio import __version__
    from studio.cli import commands

    parser = argparse.ArgumentParser(
        prog="studio",
        description="Template Studio: make LLM training data at the template level.",
        epilog="With no command, opens the studio on the most recent session.",
    )
    parser.add_argument("--version", action="version", version=f"studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = only if only is not None else [m.name for m in pkgutil.iter_modules(commands.__path__)]
    for name in sorted(names):
        if name.startswith("_"):
            continue
        module = importlib.import_module(f"studio.cli.commands.{name}")
        module.register(sub)
    return parser


def _parser_for(argv: list[str]) -> argparse.ArgumentParser:
    """Only the named command's module where it defines that command (a headless `studio run` starts without
    importing every other command's dependencies: export formats, rich tables...); every module otherwise."""
    module = STUDIO_COMMANDS.get(argv[0])
    if module is not None and not {"-h", "--help"} & set(argv):
        return build_parser(only=[module])
    if argv[0].isidentifier() and not argv[0].startswith("_"):
        from importlib.util import find_spec

        if find_spec(f"studio.cli.commands.{argv[0]}") is not None:
            parser = build_parser(only=[argv[0]])
            if argv[0] in _commands(parser):
                return parser
    return build_parser()


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    import argparse

    return {name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] not in STUDIO_COMMANDS:           # a command's output may go into `| head`
        from studio.cli.pipes import guard_stdout

        guard_stdout()
    args = handler = None  # bare `studio` opens the TUI without building a parser (argparse is off that path)
    if argv:
        args = _parser_for(argv).parse_args(argv)
        handler = getattr(args, "handler", None)
    try:
        if handler is None:
            from studio.cli.commands.open import open_studio

            return open_studio(None)
        _ensure_workspace()
        return int(handler(args) or 0)
    except StudioError as exc:
        from studio.cli.console import error_console

        error_console().print(str(exc), markup=False, highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not a user mistake: leave a report, say where, exit 1
        return report_crash(exc, where=f"studio {argv[0] if argv else 'open'}")


def _ensure_workspace() -> None:
    """Every command sees a set-up workspace: a new one starts with the shipped template library (README), so
    `studio lint templates/` or `studio render NAME` work before anything else was run. A folder that cannot be
    written is left alone here; a command that needs to write says so itself."""
    from studio.core.workspace import Workspace

    try:
        Workspace.from_env().ensure()
    except StudioError as exc:
        if "cannot create the workspace folders" not in str(exc):
            raise


def report_crash(exc: BaseException, *, where: str) -> int:
    """Write a crash report (no keys, no sample text) into the workspace and tell the person where; exit 1."""
    from studio.core.crash import write_crash_report
    from studio.core.workspace import Workspace

    try:
        folder = Workspace.from_env().crash_dir
    except Exception:  # noqa: BLE001 - no usable workspace: the report goes to the temporary folder
        folder = None
    path = write_crash_report(folder, exc, where=where)
    print(f"studio: unexpected error ({type(exc).__name__}) — this is a bug, not something you did.\n"
          f"A crash report (traceback and versions; no keys, no sample text) is in {path}\n"
          "Please attach it to a bug report.", file=sys.stderr)
    return 1
