"""`studio` entry point: discovers the subcommands and turns user errors into clear messages."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from studio.core.errors import StudioError


def build_parser() -> argparse.ArgumentParser:
    from studio import __version__
    from studio.cli import commands

    parser = argparse.ArgumentParser(
        prog="studio",
        description="Template Studio: make LLM training data at the template level.",
        epilog="With no command, opens the studio on the most recent session.",
    )
    parser.add_argument("--version", action="version", version=f"studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"studio.cli.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    try:
        if handler is None:
            from studio.cli.commands.open import open_studio

            return open_studio(None)
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
